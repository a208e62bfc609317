// Task operators: golden word counts, t-digest accuracy and determinism, merge and encoding properties.
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../../src/common/errors.js';
import { Rng } from '../../src/common/rng.js';
import {
  buildPayloads,
  createTask,
  EmptyStore,
  GeneratedValuesStore,
  outputsMatch,
  TextStore,
  type PayloadStore,
  type TaskOperator,
} from '../../src/tasks/index.js';

const TEXT = new TextStore(
  'The cat saw the other cat; the END.\n\nA mad tea-party, a very mad one!\n\nSo she went on, and on, and on and on\n\nthe cat',
  10,
);
const VALUES = new GeneratedValuesStore({ valuesPerRecord: 20, seed: 3 });

function build(op: TaskOperator, payloads: number[]): unknown {
  const p = op.create();
  for (const x of payloads) op.add(p, 7, x);
  return p;
}

/** Builds one partial per group, then merges them left to right in `order`. */
function mergedOutput(op: TaskOperator, groups: number[][], order: number[]): unknown {
  const parts = groups.map((g) => build(op, g));
  const acc = parts[order[0]];
  for (const i of order.slice(1)) op.merge(acc, parts[i]);
  return op.output(acc);
}

describe('wordcount', () => {
  it('golden: counts a hand-written sentence exactly (ids in first-seen order)', () => {
    const wc = createTask({ name: 'wordcount' }, TEXT);
    const p = wc.create();
    wc.add(p, 1, 0); // "the cat saw the other cat the end"
    // the=0 cat=1 saw=2 other=3 end=4
    expect(wc.output(p)).toEqual([[0, 3], [1, 2], [2, 1], [3, 1], [4, 1]]);
    expect(wc.cost(0)).toBe(8);
    wc.add(p, 1, 3); // "the cat"
    expect(wc.output(p)).toEqual([[0, 4], [1, 3], [2, 1], [3, 1], [4, 1]]);
  });
  it('multiplier repeats the work but keeps counts exact; cost = words × multiplier', () => {
    const one = createTask({ name: 'wordcount' }, TEXT);
    const five = createTask({ name: 'wordcount', params: { multiplier: 5 } }, TEXT);
    expect(five.cost(2)).toBe(5 * one.cost(2));
    const a = one.create();
    const b = five.create();
    for (const id of [0, 1, 2, 2, 3]) {
      one.add(a, 0, id);
      five.add(b, 0, id);
    }
    expect(five.output(b)).toEqual(one.output(a));
    // "so she went on and on and on and on": on ×4, and ×3
    const on = TEXT.vocabulary.lookup('on');
    expect((five.output(b) as number[][]).find(([w]) => w === on)?.[1]).toBe(8);
  });
  it('needs text payloads', () => {
    expect(() => createTask({ name: 'wordcount' }, new EmptyStore())).toThrow(ConfigError);
  });
});

describe('tdigest', () => {
  it('counts values exactly and estimates quantiles of uniform values', () => {
    const td = createTask({ name: 'tdigest' }, buildPayloads({ name: 'tdigest' }, { name: 'zipf' }));
    const p = td.create();
    const all: number[] = [];
    const store = buildPayloads({ name: 'tdigest' }, { name: 'zipf' });
    for (let id = 0; id < 200; id++) {
      td.add(p, 0, id);
      all.push(...store.values!(id));
    }
    all.sort((a, b) => a - b);
    const out = td.output(p) as { count: number; p50: number; p99: number };
    expect(out.count).toBe(20_000);
    expect(Math.abs(out.p50 - all[10_000])).toBeLessThan(0.01);
    expect(Math.abs(out.p99 - all[19_800])).toBeLessThan(0.005);
    expect(td.cost(5)).toBe(100);
  });
  it('generated values are a pure function of (seed, id)', () => {
    const a = new GeneratedValuesStore({ valuesPerRecord: 5, seed: 9 });
    const b = new GeneratedValuesStore({ valuesPerRecord: 5, seed: 9 });
    expect([...a.values(42)]).toEqual([...b.values(42)]);
    expect([...a.values(42)]).not.toEqual([...a.values(43)]);
    expect([...a.values(42)]).not.toEqual([...new GeneratedValuesStore({ valuesPerRecord: 5, seed: 10 }).values(42)]);
    for (const v of a.values(1)) expect(v >= 0 && v < 1).toBe(true);
  });
  it('is deterministic: the same records give byte-identical output (no Math.random)', () => {
    const run = (): string => {
      const td = createTask({ name: 'tdigest', params: { compression: 10 } }, VALUES);
      // compression 10 → recompression beyond 250 centroids; 3000 values force several.
      const p = td.create();
      for (let id = 0; id < 150; id++) td.add(p, 0, id);
      const q = td.create();
      for (let id = 150; id < 300; id++) td.add(q, 0, id);
      td.merge(p, q);
      return JSON.stringify(td.output(p));
    };
    const random = vi.spyOn(Math, 'random');
    try {
      expect(run()).toBe(run());
      expect(random).not.toHaveBeenCalled();
    } finally {
      random.mockRestore();
    }
  });
  it('recompresses monotone input with a seeded shuffle: bounded size, exact count, reproducible', () => {
    // Ascending values are the worst case of this t-digest (every value is a new max centroid).
    const ascending: PayloadStore = { size: Infinity, values: (id) => Float64Array.from({ length: 20 }, (_, i) => id * 20 + i) };
    const random = vi.spyOn(Math, 'random');
    try {
      const run = (): { size: number; out: string } => {
        const td = createTask({ name: 'tdigest', params: { compression: 10 } }, ascending);
        const p = td.create() as { size(): number };
        for (let id = 0; id < 100; id++) td.add(p, 0, id);
        return { size: p.size(), out: JSON.stringify(td.output(p)) };
      };
      const a = run();
      expect(a.size).toBeLessThanOrEqual(250); // 25 × compression
      expect(JSON.parse(a.out).count).toBe(2000);
      expect(Math.abs(JSON.parse(a.out).p50 - 1000)).toBeLessThan(100);
      expect(run()).toEqual(a);
      expect(random).not.toHaveBeenCalled();
    } finally {
      random.mockRestore();
    }
  });
  it('multiplier does not change the digest', () => {
    const a = createTask({ name: 'tdigest' }, VALUES);
    const b = createTask({ name: 'tdigest', params: { multiplier: 3 } }, VALUES);
    expect(b.cost(0)).toBe(60);
    expect(JSON.stringify(b.output(build(b, [1, 2, 3])))).toBe(JSON.stringify(a.output(build(a, [1, 2, 3]))));
  });
  it('needs values payloads', () => {
    expect(() => createTask({ name: 'tdigest' }, TEXT)).toThrow(ConfigError);
  });
});

describe('keyedcount', () => {
  it('is global, counts records, merges by addition; cost = multiplier', () => {
    const kc = createTask({ name: 'keyedcount', params: { multiplier: 4 } }, new EmptyStore());
    expect(kc.kind).toBe('global');
    expect(kc.cost(0)).toBe(4);
    const a = build(kc, [0, 0, 0]);
    const b = build(kc, [0, 0]);
    kc.merge(a, b);
    expect(kc.output(a)).toBe(5);
  });

  it('its numeric form matches the object form: zero = encode(create()), add and merge agree, decode inverts', () => {
    for (const multiplier of [1, 3]) {
      const kc = createTask({ name: 'keyedcount', params: { multiplier } }, new EmptyStore());
      const num = kc.numeric!;
      expect(num.zero).toBe(kc.encode(kc.create()));
      fc.assert(
        fc.property(fc.array(fc.nat({ max: 1000 }), { maxLength: 50 }), fc.array(fc.nat({ max: 1000 }), { maxLength: 50 }), (ka, kb) => {
          const a = build(kc, ka);
          const b = build(kc, kb);
          const na = ka.reduce((n, k) => num.add(n, k, 0), num.zero);
          const nb = kb.reduce((n, k) => num.add(n, k, 0), num.zero);
          expect(na).toBe(kc.encode(a));
          expect(kc.encode(kc.decode(na))).toBe(na);
          kc.merge(a, b);
          expect(num.merge(na, nb)).toBe(kc.encode(a));
          expect(num.merge(na, nb)).toBe(ka.length + kb.length);
        }),
      );
    }
  });
});

const CASES: { name: string; store: PayloadStore; ids: fc.Arbitrary<number> }[] = [
  { name: 'wordcount', store: TEXT, ids: fc.integer({ min: 0, max: TEXT.size - 1 }) },
  { name: 'tdigest', store: VALUES, ids: fc.integer({ min: 0, max: 10_000 }) },
  { name: 'keyedcount', store: new EmptyStore(), ids: fc.constant(0) },
];

describe.each(CASES)('$name merge and encoding', ({ name, store, ids }) => {
  const op = createTask({ name }, store);
  const single = (groups: number[][]): unknown => op.output(build(op, groups.flat()));
  const groupsArb = fc.array(fc.array(ids, { maxLength: 12 }), { minLength: 1, maxLength: 5 });

  it('merging in any order equals one partial over all records (commutative, associative)', () => {
    fc.assert(
      fc.property(groupsArb, fc.integer(), (groups, seed) => {
        const order = groups.map((_, i) => i);
        const rng = new Rng(seed >>> 0);
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [order[i], order[j]] = [order[j], order[i]];
        }
        const expected = single(groups);
        const got = mergedOutput(op, groups, order);
        expect(outputsMatch(name, expected, got)).toBe(true);
        // associativity: (a·b)·c vs a·(b·c) over three groups
        if (groups.length >= 3) {
          const [a, b, c] = groups.slice(0, 3).map((g) => build(op, g));
          op.merge(b, c);
          op.merge(a, b);
          const [x, y, z] = groups.slice(0, 3).map((g) => build(op, g));
          op.merge(x, y);
          op.merge(x, z);
          expect(outputsMatch(name, op.output(x), op.output(a))).toBe(true);
        }
      }),
      { numRuns: name === 'tdigest' ? 40 : 100 },
    );
  });

  it('decode(structuredClone(encode(p))) gives the same output and merges like p', () => {
    fc.assert(
      fc.property(fc.array(ids, { maxLength: 15 }), fc.array(ids, { maxLength: 15 }), (xs, ys) => {
        const p = build(op, xs);
        const back = op.decode(structuredClone(op.encode(p)));
        expect(JSON.stringify(op.output(back))).toBe(JSON.stringify(op.output(p)));
        op.merge(back, build(op, ys));
        expect(outputsMatch(name, single([xs, ys]), op.output(back))).toBe(true);
      }),
      { numRuns: name === 'tdigest' ? 40 : 100 },
    );
  });
});
