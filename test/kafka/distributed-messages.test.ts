// Distributed mode's wire formats without a broker: control records, output messages, the worker spec, partition ownership.
import fc from 'fast-check';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ConfigError, ProtocolError } from '../../src/common/errors.js';
import {
  decodeControl,
  decodeOutput,
  encodeControl,
  encodeOutput,
  parseCommitMetadata,
  parseSpec,
  partitionsOf,
  type DistributedSpec,
  type OutputMessage,
} from '../../src/connectors/distributed/index.js';

const spec: DistributedSpec = {
  version: 1,
  runId: 'run-1',
  brokers: ['127.0.0.1:19092'],
  topics: { input: 'sas.run-1.in', output: 'sas.run-1.out' },
  partitions: 8,
  reducers: 2,
  window: { sizeMs: 400, slideMs: 200 },
  slideMs: 200,
  task: { name: 'wordcount', params: {} },
  workload: { name: 'zipf', params: { numKeys: 500 } },
  numKeys: 500,
  groupPrefix: 'sas.run-1',
  sessionTimeoutMs: 10000,
};

describe('distributed wire formats', () => {
  it('control records round-trip; anything else decodes to null', () => {
    const w = decodeControl(encodeControl({ kind: 'window', lastPane: 8500000001, split: Int32Array.from([3, 7, 11]) }));
    expect(w).toEqual({ kind: 'window', lastPane: 8500000001, split: Int32Array.from([3, 7, 11]) });
    expect(decodeControl(encodeControl({ kind: 'window', lastPane: 5, split: 'all' }))).toEqual({ kind: 'window', lastPane: 5, split: 'all' });
    expect(decodeControl(encodeControl({ kind: 'end' }))).toEqual({ kind: 'end' });
    expect(decodeControl(Buffer.from('not a control record'))).toBeNull();
    expect(decodeControl(null)).toBeNull();
    expect(decodeControl(serialize({ v: 2, kind: 'end' }))).toBeNull(); // another version
    expect(decodeControl(serialize({ v: 1, kind: 'window', lastPane: 1.5, split: 'all' }))).toBeNull();
  });

  it('output messages round-trip with typed-array partials; invalid ones are ProtocolErrors', () => {
    const msgs: OutputMessage[] = [
      { kind: 'results', partition: 3, lastPane: 10, forwarded: [[1, [[4, 2]]]], partials: [[2, 1, { words: Int32Array.from([4]), counts: Int32Array.from([9]) }]] },
      { kind: 'closed', partition: 3, lastPane: 10, records: 120, forwarded: 1, partials: 1, skipped: [[17, 'value_length']] },
      { kind: 'state', partition: 0, entries: [[5, 12]] },
      { kind: 'end', partition: 0, records: 4, fromOffset: 0, stateEntries: 1, skipped: [] },
      { kind: 'metrics', partition: 1, slide: 42, recordsIn: 10, busyMs: 1.5, queueLength: 0, latency: [3, 10], latencyMax: 3 },
    ];
    for (const m of msgs) expect(decodeOutput(encodeOutput(m))).toEqual(m);
    expect(() => decodeOutput(Buffer.from([1, 2, 3]))).toThrow(ProtocolError);
    expect(() => decodeOutput(serialize({ v: 1, kind: 'closed', partition: -1, lastPane: 1, records: 0, forwarded: 0, partials: 0, skipped: [] }))).toThrow(ProtocolError);
    try {
      decodeOutput(serialize({ v: 1, kind: 'nope' }));
      expect.unreachable();
    } catch (e) {
      expect((e as ProtocolError).code).toBe('PROTOCOL_INVALID');
    }
  });

  it('the worker spec is validated with errors that name the field', () => {
    expect(parseSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    for (const [patch, field] of [
      [{ partitions: 0 }, 'job.partitions'],
      [{ topics: { input: '', output: 'x' } }, 'job.topics.input'],
      [{ brokers: ['nohost'] }, 'job.brokers.0'],
      [{ version: 2 }, 'job.version'],
    ] as const) {
      try {
        parseSpec({ ...spec, ...patch });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).context.field).toBe(field);
      }
    }
  });

  it('commit metadata: last closed window and end flag; foreign metadata means nothing closed', () => {
    expect(parseCommitMetadata(JSON.stringify({ closed: 8500000003, ended: false }))).toEqual({ closed: 8500000003, ended: false });
    expect(parseCommitMetadata(JSON.stringify({ closed: null, ended: true }))).toEqual({ closed: null, ended: true });
    expect(parseCommitMetadata('')).toEqual({ closed: null, ended: false });
    expect(parseCommitMetadata('{oops')).toEqual({ closed: null, ended: false });
    expect(parseCommitMetadata(JSON.stringify({ closed: 'x' }))).toEqual({ closed: null, ended: false });
  });

  it('every partition is owned by exactly one of W worker processes (p mod W = i)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 10 }), (P, W) => {
        const owners = new Array<number>(P).fill(0);
        for (let i = 0; i < W; i++) for (const p of partitionsOf(P, i, W)) {
          expect(p % W).toBe(i);
          owners[p]++;
        }
        expect(owners.every((n) => n === 1)).toBe(true);
      }),
    );
  });
});
