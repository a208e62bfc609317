// KeyedStateStore: per-bin export/import round trips, merging imports, snapshots and the byte estimate.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/common/errors.js';
import { KeyedStateStore, createBinning, entriesBytes, entryCount, entryPairs, estimateBytes, filterEntries, isPacked } from '../../src/engine/migration/index.js';
import { keyedCount, keyedSum, keyedSumObjects } from './keyed-count.js';

const binning = createBinning({ binBits: 4 });
const newStore = () => new KeyedStateStore(keyedCount, binning.binOf);

describe('KeyedStateStore', () => {
  it('add/get/keys/snapshot give exact per-key counts', () => {
    const s = newStore();
    for (const [k, p] of [
      [3, 1],
      [5, 2],
      [3, 10],
    ])
      s.add(k, p);
    expect(s.get(3)).toEqual({ n: 2, sum: 11 });
    expect(s.get(4)).toBeUndefined();
    expect(s.keys()).toEqual([3, 5]);
    expect(s.size).toBe(2);
    expect([...s.snapshot()]).toEqual([
      [3, { n: 2, sum: 11 }],
      [5, { n: 1, sum: 2 }],
    ]);
  });

  it('moving every bin to an empty store through structuredClone reproduces the snapshot; the source ends empty', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 500 }), fc.nat({ max: 100 })), { maxLength: 300 }), (recs) => {
        const a = newStore();
        for (const [k, p] of recs) a.add(k, p);
        const before = a.snapshot();
        const b = newStore();
        for (const bin of a.bins()) {
          const ex = structuredClone(a.exportBin(bin));
          expect(entryPairs(ex.entries).every(([k]) => binning.binOf(k) === bin)).toBe(true);
          b.importBin(ex);
        }
        expect(a.size).toBe(0);
        expect(a.bins()).toEqual([]);
        expect(b.snapshot()).toEqual(before);
      }),
    );
  });

  it('importKey and importBin merge into existing state', () => {
    const a = newStore();
    const b = newStore();
    a.add(7, 1);
    a.add(7, 2);
    b.add(7, 5);
    b.importKey(7, a.exportKey(7));
    expect(b.get(7)).toEqual({ n: 3, sum: 8 });
    expect(a.get(7)).toBeUndefined();
    expect(a.exportKey(7)).toBeUndefined();
    a.add(7, 1);
    b.importBin(a.exportBin(binning.binOf(7)));
    expect(b.get(7)).toEqual({ n: 4, sum: 9 });
    expect(b.size).toBe(1);
  });

  it('exporting an empty bin gives no entries', () => {
    expect(newStore().exportBin(3)).toEqual({ bin: 3, entries: [], bytes: 8 });
  });

  it('rejects an imported key that does not belong to the bin', () => {
    const k = 11;
    const wrongBin = (binning.binOf(k) + 1) % binning.numBins;
    expect(() => newStore().importBin({ bin: wrongBin, entries: [[k, [1, 1]]] })).toThrow(InvariantError);
  });

  it('a numeric operator (stores hold numbers) gives the same states, exports and bytes as its object form, through any mix of operations', () => {
    type Op = ['add', number, number] | ['exportBin', number] | ['exportKey', number] | ['importKey', number, number];
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant('add' as const), fc.nat({ max: 200 }), fc.nat({ max: 50 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('exportBin' as const), fc.nat({ max: binning.numBins - 1 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('exportKey' as const), fc.nat({ max: 200 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('importKey' as const), fc.nat({ max: 200 }), fc.nat({ max: 1000 })) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        // two sides per form: bins and keys exported from `a` are imported (merged) into `b`
        const num = [new KeyedStateStore(keyedSum, binning.binOf), new KeyedStateStore(keyedSum, binning.binOf)];
        const obj = [new KeyedStateStore(keyedSumObjects, binning.binOf), new KeyedStateStore(keyedSumObjects, binning.binOf)];
        for (const o of ops) {
          if (o[0] === 'add') {
            num[0].add(o[1], o[2]);
            obj[0].add(o[1], o[2]);
            num[1].add(o[1] ^ 1, o[2]);
            obj[1].add(o[1] ^ 1, o[2]);
          } else if (o[0] === 'exportBin') {
            const en = num[0].exportBin(o[1]);
            const eo = obj[0].exportBin(o[1]);
            // the numeric form exports packed typed arrays: the same keys, numbers and bytes
            if (entryCount(eo.entries) > 0) expect(isPacked(en.entries)).toBe(true);
            expect({ ...en, entries: entryPairs(en.entries) }).toEqual(eo);
            num[1].importBin(structuredClone(en));
            obj[1].importBin(structuredClone(eo));
          } else if (o[0] === 'exportKey') {
            const dn = num[0].exportKey(o[1]);
            expect(dn).toEqual(obj[0].exportKey(o[1]));
            if (dn !== undefined) {
              num[1].importKey(o[1], dn);
              obj[1].importKey(o[1], dn);
            }
          } else {
            num[0].importKey(o[1], o[2]);
            obj[0].importKey(o[1], o[2]);
          }
        }
        for (let i = 0; i < 2; i++) {
          expect(num[i].size).toBe(obj[i].size);
          expect(num[i].bins()).toEqual(obj[i].bins());
          expect(num[i].snapshot()).toEqual(obj[i].snapshot());
          for (const k of obj[i].keys()) {
            expect(num[i].get(k)).toEqual(obj[i].get(k));
            expect(num[i].encoded(k)).toBe(obj[i].encoded(k));
          }
          for (const b of obj[i].bins()) expect(entryPairs(num[i].peekBin(b))).toEqual(obj[i].peekBin(b));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('packed entries: golden bytes, filtering and count; imported by either form; a wrong bin or length is rejected before anything merges', () => {
    const s = new KeyedStateStore(keyedSum, binning.binOf);
    // three keys of one bin
    const bin = binning.binOf(1);
    const ks = [1];
    for (let k = 2; ks.length < 3; k++) if (binning.binOf(k) === bin) ks.push(k);
    s.add(ks[0], 3); // sums: 4, 3, 1 (keyedSum adds payload + 1)
    s.add(ks[1], 2);
    s.add(ks[2], 0);
    const ex = s.exportBin(bin);
    expect(isPacked(ex.entries)).toBe(true);
    expect(entryPairs(ex.entries)).toEqual([[ks[0], 4], [ks[1], 3], [ks[2], 1]]);
    expect(ex.bytes).toBe(8 + 3 * 24);
    expect(entriesBytes(ex.entries)).toBe(estimateBytes(entryPairs(ex.entries)));
    expect(entryCount(ex.entries)).toBe(3);
    const odd = filterEntries(ex.entries, (k) => k !== ks[1]);
    expect(isPacked(odd)).toBe(true);
    expect(entryPairs(odd)).toEqual([[ks[0], 4], [ks[2], 1]]);
    expect(filterEntries([[5, 1], [6, 2]], (k) => k === 6)).toEqual([[6, 2]]);
    // into a numeric store holding one of the keys (merged) and into an object-form store
    const n = new KeyedStateStore(keyedSum, binning.binOf);
    n.add(ks[2], 9);
    n.importBin(structuredClone(ex));
    expect([n.encoded(ks[0]), n.encoded(ks[1]), n.encoded(ks[2])]).toEqual([4, 3, 11]);
    expect(n.size).toBe(3);
    const o = new KeyedStateStore(keyedSumObjects, binning.binOf);
    o.importBin(ex);
    expect(o.exportBin(bin)).toEqual({ bin, entries: entryPairs(ex.entries), bytes: ex.bytes });
    // a key of another bin, or keys and values of different lengths: nothing merges
    let other = 1;
    while (binning.binOf(other) === bin) other++;
    const before = n.snapshot();
    const wrongBin = { keys: Float64Array.of(ks[0], other), values: Float64Array.of(1, 1) };
    expect(() => n.importBin({ bin, entries: wrongBin })).toThrow(/not in bin/);
    const short = { keys: Float64Array.of(ks[0], ks[1]), values: Float64Array.of(1) };
    expect(() => n.importBin({ bin, entries: short })).toThrow(/2 keys and 1 values/);
    expect(n.snapshot()).toEqual(before);
  });

  it('a numeric store holds plain numbers and rejects a state that is not a number', () => {
    const s = new KeyedStateStore(keyedSum, binning.binOf);
    s.add(9, 4);
    s.add(9, 0);
    expect(s.encoded(9)).toBe(6);
    expect(s.get(9)).toEqual({ v: 6 });
    expect(s.encoded(10)).toBeUndefined();
    const bin = binning.binOf(9);
    const bad = () => s.importBin({ bin, entries: [[9, [6, 1]]] });
    expect(bad).toThrow(InvariantError);
    expect(bad).toThrow(/key 9: expected a number/);
    expect(s.encoded(9)).toBe(6); // nothing merged
  });

  it('estimateBytes golden values', () => {
    expect(estimateBytes(1)).toBe(8);
    expect(estimateBytes('ab')).toBe(12);
    expect(estimateBytes(new Float64Array(2))).toBe(16);
    expect(estimateBytes([1, 'ab', new Float64Array(2)])).toBe(8 + 8 + 12 + 16);
    expect(estimateBytes({ a: 1 })).toBe(8 + 8 + 2 + 8);
    expect(estimateBytes(new Map([[1, true]]))).toBe(8 + 8 + 4);
    expect(estimateBytes(null)).toBe(0);
  });
});
