// KeyedStateStore: per-bin export/import round trips, merging imports, snapshots and the byte estimate.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/common/errors.js';
import { KeyedStateStore, createBinning, estimateBytes } from '../../src/engine/migration/index.js';
import { keyedCount } from './keyed-count.js';

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
          expect(ex.entries.every(([k]) => binning.binOf(k) === bin)).toBe(true);
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
