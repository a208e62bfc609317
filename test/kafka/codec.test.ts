// Unit tests (no broker): record codec and validation, rate limiter on a virtual clock, static assigner.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignStatic, RateLimiter, decodeRecordInto, encodeRecordKey, encodeRecordValue, MAX_PAYLOADS, payloadLimit, RECORD_VALUE_BYTES } from '../../src/connectors/index.js';
import type { MalformedReason, RecordLimits } from '../../src/connectors/index.js';
import { buildPayloads } from '../../src/tasks/index.js';
import { decodeClaim, encodeClaim } from '../../src/connectors/assigner.js';

/** Keys in [0, numKeys), any non-negative payload id (a task that reads no payload). */
const keysBelow = (numKeys: number): RecordLimits => ({ numKeys, numPayloads: MAX_PAYLOADS });

function cols(n: number) {
  return { keys: new Int32Array(n), payloads: new Int32Array(n), eventTimes: new Float64Array(n) };
}

describe('record codec', () => {
  it('round-trips every valid record exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 2 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0, max: 1e15, noNaN: true }),
        (k, p, t) => {
          const out = cols(1);
          const value = encodeRecordValue(k, p, t);
          expect(value.length).toBe(RECORD_VALUE_BYTES);
          expect(decodeRecordInto(Buffer.from(encodeRecordKey(k)), value, keysBelow(2 ** 31 - 1), out, 0)).toBeNull();
          expect([out.keys[0], out.payloads[0], out.eventTimes[0]]).toEqual([k, p, t]);
        },
      ),
    );
  });

  it('encodes into a shared block at an offset', () => {
    const block = Buffer.alloc(3 * RECORD_VALUE_BYTES);
    const v = encodeRecordValue(7, 8, 9, block, RECORD_VALUE_BYTES);
    expect(v.length).toBe(RECORD_VALUE_BYTES);
    expect(block.readInt32BE(RECORD_VALUE_BYTES)).toBe(7);
    expect(block.readInt32BE(0)).toBe(0);
  });

  it('names the reason of each malformed message and writes nothing', () => {
    const good = encodeRecordValue(5, 1, 10);
    const badTime = encodeRecordValue(5, 1, Number.NaN);
    const negTime = encodeRecordValue(5, 1, -1);
    const cases: [Buffer | null, Buffer | null, MalformedReason][] = [
      [null, null, 'value_missing'],
      [null, Buffer.alloc(0), 'value_missing'],
      [null, Buffer.from('{"key":5}'), 'value_length'],
      [null, encodeRecordValue(100, 1, 10), 'key_range'],
      [null, encodeRecordValue(-3, 1, 10), 'key_range'],
      [null, encodeRecordValue(5, -1, 10), 'payload_range'],
      [null, badTime, 'event_time'],
      [null, negTime, 'event_time'],
      [Buffer.from('6'), good, 'key_mismatch'],
      [Buffer.from('05'), good, 'key_mismatch'],
      [Buffer.from('+5'), good, 'key_mismatch'],
      [Buffer.from('five'), good, 'key_mismatch'],
    ];
    for (const [key, value, reason] of cases) {
      const out = cols(1);
      out.keys[0] = -7;
      expect(decodeRecordInto(key, value, keysBelow(100), out, 0)).toBe(reason);
      expect(out.keys[0]).toBe(-7);
    }
    // A missing or empty message key is allowed: the value carries the key.
    expect(decodeRecordInto(null, good, keysBelow(100), cols(1), 0)).toBeNull();
    expect(decodeRecordInto(Buffer.alloc(0), good, keysBelow(100), cols(1), 0)).toBeNull();
  });

  it('payload_range: a payload id at or past numPayloads (the payload store) is malformed, the last id is valid', () => {
    const limits = { numKeys: 100, numPayloads: 40 };
    const out = cols(1);
    expect(decodeRecordInto(null, encodeRecordValue(5, 39, 10), limits, out, 0)).toBeNull();
    expect(out.payloads[0]).toBe(39);
    out.payloads[0] = -7;
    expect(decodeRecordInto(null, encodeRecordValue(5, 40, 10), limits, out, 0)).toBe('payload_range');
    expect(decodeRecordInto(null, encodeRecordValue(5, 2 ** 31 - 1, 10), limits, out, 0)).toBe('payload_range');
    expect(out.payloads[0]).toBe(-7);
    // The default bound admits every non-negative int32.
    expect(decodeRecordInto(null, encodeRecordValue(5, 2 ** 31 - 1, 10), keysBelow(100), out, 0)).toBeNull();
  });

  it('payloadLimit: the size of a store the task reads, no bound for a task that reads no payload', () => {
    const corpus = buildPayloads({ name: 'wordcount' }, { name: 'zipf' });
    expect(corpus.size).toBeGreaterThan(0);
    expect(payloadLimit(corpus)).toBe(corpus.size);
    expect(payloadLimit(buildPayloads({ name: 'keyedcount' }, { name: 'zipf' }))).toBe(MAX_PAYLOADS);
    expect(payloadLimit(buildPayloads({ name: 'tdigest' }, { name: 'zipf' }))).toBe(MAX_PAYLOADS);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.option(fc.uint8Array({ maxLength: 24 })), fc.option(fc.uint8Array({ maxLength: 24 })), (k, v) => {
        const r = decodeRecordInto(k ? Buffer.from(k) : null, v ? Buffer.from(v) : null, { numKeys: 1000, numPayloads: 50 }, cols(1), 0);
        expect(r === null || typeof r === 'string').toBe(true);
      }),
    );
  });
});

describe('RateLimiter (virtual clock)', () => {
  it('grants the burst at once, then rate × elapsed', () => {
    const rl = new RateLimiter(1000, 100, 0);
    expect(rl.take(500, 0)).toBe(100);
    expect(rl.take(500, 0)).toBe(0);
    expect(rl.waitMs(50, 0)).toBe(50);
    expect(rl.take(500, 20)).toBe(20);
    expect(rl.take(500, 1000)).toBe(100); // capped at burst
  });

  it('never grants more than burst + rate × elapsed over any run', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 400 })), { maxLength: 60 }), (steps) => {
        const rl = new RateLimiter(2000, 50, 0);
        let t = 0;
        let granted = 0;
        for (const [dt, want] of steps) {
          t += dt;
          const g = rl.take(want, t);
          expect(g).toBeGreaterThanOrEqual(0);
          expect(g).toBeLessThanOrEqual(want);
          granted += g;
        }
        expect(granted).toBeLessThanOrEqual(50 + (2000 * t) / 1000);
      }),
    );
  });

  it('waitMs is 0 exactly when the tokens are there', () => {
    const rl = new RateLimiter(10, 5, 0);
    expect(rl.waitMs(5, 0)).toBe(0);
    rl.take(5, 0);
    expect(rl.waitMs(1, 0)).toBe(100);
    expect(rl.waitMs(1, 100)).toBe(0);
  });
});

describe('static assigner', () => {
  const parts = { t: [0, 1, 2, 3, 4, 5] };

  it('gives each member exactly the partitions it claimed', () => {
    const plan = assignStatic(
      [
        { memberId: 'b', claim: { t: [2, 3] } },
        { memberId: 'a', claim: { t: [0, 1] } },
      ],
      parts,
    );
    expect(plan.get('a')).toEqual({ t: [0, 1] });
    expect(plan.get('b')).toEqual({ t: [2, 3] });
  });

  it('spreads unclaimed partitions round robin over members without claims, and a conflict goes to the smaller id', () => {
    const plan = assignStatic(
      [
        { memberId: 'c', claim: { t: [1] } },
        { memberId: 'b', claim: { t: [1, 2] } },
        { memberId: 'x', claim: null },
        { memberId: 'y', claim: null },
      ],
      parts,
    );
    expect(plan.get('b')).toEqual({ t: [1, 2] });
    expect(plan.get('c')).toEqual({});
    expect(plan.get('x')).toEqual({ t: [0, 4] });
    expect(plan.get('y')).toEqual({ t: [3, 5] });
  });

  it('assigns every partition exactly once when some member has no claim', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 4 })), { minLength: 1, maxLength: 5 }), (claims) => {
        const members = claims.map((c, i) => ({ memberId: `m${i}`, claim: c === null ? null : { t: c } }));
        members.push({ memberId: 'free', claim: null });
        const plan = assignStatic(members, { t: [0, 1, 2, 3, 4, 5, 6, 7] });
        const all = [...plan.values()].flatMap((a) => a.t ?? []).sort((x, y) => x - y);
        expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      }),
    );
  });

  it('round-trips claims and reads garbage userData as no claim', () => {
    expect(decodeClaim(encodeClaim({ t: [3, 1] }))).toEqual({ t: [3, 1] });
    expect(decodeClaim(encodeClaim(null))).toBeNull();
    expect(decodeClaim(Buffer.from('not json'))).toBeNull();
    expect(decodeClaim(Buffer.from('[1,2]'))).toBeNull();
  });
});
