// NumericTable: an open-addressing key → number table in typed arrays, checked against a Map on random operations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumericTable } from '../../src/engine/migration/numeric-table.js';

type Op = ['set', number, number] | ['delete', number] | ['add', number, number];

const run = (keyArb: fc.Arbitrary<number>) =>
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.tuple(fc.constant('set' as const), keyArb, fc.double({ noNaN: true })),
          fc.tuple(fc.constant('add' as const), keyArb, fc.integer({ min: -5, max: 5 })),
          fc.tuple(fc.constant('delete' as const), keyArb),
        ),
        { maxLength: 600 },
      ),
      fc.integer({ min: 1, max: 64 }),
      (ops: Op[], cap) => {
        const t = new NumericTable(cap);
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o[0] === 'set') {
            t.set(o[1], o[2]);
            ref.set(o[1], o[2]);
          } else if (o[0] === 'add') {
            const i = t.slotFor(o[1], 0);
            t.setAt(i, t.valueAt(i) + o[2]);
            ref.set(o[1], (ref.get(o[1]) ?? 0) + o[2]);
          } else expect(t.delete(o[1])).toBe(ref.get(o[1]));
          if (o[0] === 'delete') ref.delete(o[1]);
          expect(t.size).toBe(ref.size);
          // a removal must leave every other key findable (backward shift keeps clusters intact)
          if (o[0] === 'delete') for (const [k, v] of ref) expect(t.get(k)).toBe(v);
        }
        for (const [k, v] of ref) {
          expect(t.has(k)).toBe(true);
          expect(t.get(k)).toBe(v);
        }
        expect([...t.keyArray()].sort((a, b) => a - b)).toEqual([...ref.keys()].sort((a, b) => a - b));
        expect(t.capacity * 3).toBeGreaterThanOrEqual(t.size * 4);
      },
    ),
    { numRuns: 300 },
  );

describe('NumericTable', () => {
  it('behaves as a Map on random set/add/delete over a few dense keys (long probe clusters)', () => run(fc.nat({ max: 40 })));

  it('behaves as a Map over wide keys: negative, beyond 2^32, up to 2^50', () => run(fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -(2 ** 50), max: 2 ** 50 }))));

  it('golden: grows from 8 slots at the 7th key, keeps values, and deletes from the middle of a cluster', () => {
    const t = new NumericTable();
    expect(t.capacity).toBe(8);
    for (let k = 0; k < 6; k++) t.set(k, k * 10);
    expect(t.capacity).toBe(8); // 6 keys: load 3/4
    t.set(6, 60);
    expect(t.capacity).toBe(16);
    for (let k = 0; k < 7; k++) expect(t.get(k)).toBe(k * 10);
    expect(t.delete(3)).toBe(30);
    expect(t.delete(3)).toBeUndefined();
    expect(t.get(3)).toBeUndefined();
    expect(t.size).toBe(6);
    for (const k of [0, 1, 2, 4, 5, 6]) expect(t.get(k)).toBe(k * 10);
  });
});

describe('NumericTable.obtain / release', () => {
  it('a released table comes back empty, at its capacity, and behaves like a new one', () => {
    const t = NumericTable.obtain(100);
    expect(t.capacity).toBe(128);
    for (let k = 0; k < 90; k++) t.set(k * 7, k);
    t.release();
    const u = NumericTable.obtain(97); // rounds up to the same size class
    expect(u).toBe(t);
    expect(u.size).toBe(0);
    expect(u.capacity).toBe(128);
    expect(u.keyArray()).toEqual(new Float64Array(0));
    for (let k = 0; k < 90; k++) expect(u.has(k * 7)).toBe(false);
    u.set(14, 5);
    expect(u.get(14)).toBe(5);
    expect(u.size).toBe(1);
    expect(NumericTable.obtain(100)).not.toBe(u); // the pool gave it out once
  });
});
