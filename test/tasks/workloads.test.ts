// Generated workloads: Zipf shares, permutations, distribution shifts, drifting-key bands, determinism.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/common/rng.js';
import {
  AliasTable,
  KeySampler,
  rankToKeyIds,
  buildPayloads,
  createWorkload,
  DriftingKeyWorkload,
  EmptyStore,
  ZipfSequenceWorkload,
  ZipfWorkload,
  zipfProbabilities,
  type Workload,
} from '../../src/tasks/index.js';

const NONE = new EmptyStore();

function sample(w: Workload, n: number, timeMs = 0): { keys: Int32Array; payloads: Int32Array } {
  const keys = new Int32Array(n);
  const payloads = new Int32Array(n);
  expect(w.fill(keys, payloads, 0, n, timeMs)).toBe(n);
  return { keys, payloads };
}

function counts(keys: Int32Array, numKeys: number): Int32Array {
  const c = new Int32Array(numKeys);
  for (const k of keys) c[k]++;
  return c;
}

function topShares(keys: Int32Array, numKeys: number, k: number): number[] {
  const c = [...counts(keys, numKeys)].sort((a, b) => b - a);
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < k; i++) out.push((acc += c[i]) / keys.length);
  return out;
}

function hottest(keys: Int32Array, numKeys: number): number {
  const c = counts(keys, numKeys);
  let best = 0;
  for (let i = 1; i < numKeys; i++) if (c[i] > c[best]) best = i;
  return best;
}

describe('KeySampler', () => {
  it('draws exactly rankToKey[aliasTable.sample(rng)] with the same random numbers', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.integer(), (ws, seed) => {
        const weights = ws.some((w) => w > 0) ? ws : ws.map(() => 1);
        const table = new AliasTable(weights);
        const ids = rankToKeyIds(weights.length, seed);
        const sampler = new KeySampler(table, ids);
        const a = new Rng(seed >>> 0);
        const b = new Rng(seed >>> 0);
        for (let i = 0; i < 200; i++) expect(sampler.sample(a)).toBe(ids[table.sample(b)]);
      }),
    );
  });
});

describe('zipf', () => {
  // Hand values: top-1 = 1/Σ r^-α. α=1: 1/H(1e5) = 1/(ln 1e5 + 0.5772) = 0.0827; α=1.5: 1/(ζ(1.5) − 2/√1e5)
  // = 1/(2.6124 − 0.0063) = 0.3837; α=2: 1/(π²/6 − 1e-5) = 0.6079. (SaS notes: 8.3%, 38%, 61%.)
  it.each([
    [1.0, 0.0827, 0.2423],
    [1.5, 0.3837, 0.7657],
    [2.0, 0.6079, 0.9422],
  ])('α = %f over 100k keys: top-1 ≈ %f and top-10 ≈ %f of sampled records', (exponent, top1, top10) => {
    const w = createWorkload({ name: 'zipf', params: { exponent } }, NONE);
    expect(w.numKeys).toBe(100_000);
    const { keys } = sample(w, 200_000);
    const s = topShares(keys, w.numKeys, 10);
    expect(Math.abs(s[0] - top1)).toBeLessThan(0.004);
    expect(Math.abs(s[9] - top10)).toBeLessThan(0.005);
    expect(zipfProbabilities(100_000, exponent)[0]).toBeCloseTo(top1, 4);
  });
  it('defaults: 100000 keys, α = 1.5', () => {
    const w = createWorkload({ name: 'zipf' }, NONE) as ZipfWorkload;
    expect(w.numKeys).toBe(100_000);
    expect(w.probabilities[0]).toBeCloseTo(zipfProbabilities(100_000, 1.5)[0], 12);
  });
  it('permutes key ids: the hottest key is rank 0 mapped through a non-identity permutation', () => {
    const w = createWorkload({ name: 'zipf', params: { numKeys: 1000 } }, NONE) as ZipfWorkload;
    let fixed = 0;
    for (let r = 0; r < 1000; r++) if (w.rankToKey[r] === r) fixed++;
    expect(fixed).toBeLessThan(10);
    const { keys } = sample(w, 20_000);
    expect(hottest(keys, 1000)).toBe(w.rankToKey[0]);
    expect(w.rankToKey[0]).not.toBe(0);
    const ranks = createWorkload({ name: 'zipf', params: { numKeys: 1000, shuffleKeys: false } }, NONE);
    expect(hottest(sample(ranks, 20_000).keys, 1000)).toBe(0);
  });
  it('is deterministic per seed and draws payload ids over the store', () => {
    const ts = { name: 'wordcount' };
    const ws = { name: 'zipf', params: { numKeys: 500, seed: 4 } };
    const store = buildPayloads(ts, ws);
    const a = sample(createWorkload(ws, store), 5000);
    const b = sample(createWorkload(ws, store), 5000);
    expect([...a.keys]).toEqual([...b.keys]);
    expect([...a.payloads]).toEqual([...b.payloads]);
    const c = sample(createWorkload({ name: 'zipf', params: { numKeys: 500, seed: 5 } }, store), 5000);
    expect([...c.keys]).not.toEqual([...a.keys]);
    for (const p of a.payloads) expect(p >= 0 && p < store.size).toBe(true);
    expect(new Set(a.payloads).size).toBeGreaterThan(store.size / 2);
    for (const p of sample(createWorkload(ws, NONE), 100).payloads) expect(p).toBe(0);
  });
  it('preload: every key id once, ascending, across fill calls at any offset, then the same Zipf stream as without', () => {
    const plain = createWorkload({ name: 'zipf', params: { numKeys: 50, seed: 3 } }, NONE);
    const pre = createWorkload({ name: 'zipf', params: { numKeys: 50, seed: 3, preload: true } }, NONE);
    const keys = new Int32Array(130);
    const payloads = new Int32Array(130);
    // uneven chunks written at offsets, as the engine's router fills its buffers
    let at = 0;
    for (const n of [7, 30, 1, 40, 52]) {
      expect(pre.fill(keys, payloads, at, n, 0)).toBe(n);
      at += n;
    }
    expect([...keys.subarray(0, 50)]).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...keys.subarray(50)]).toEqual([...sample(plain, 80).keys]);
    expect(() => createWorkload({ name: 'zipf', params: { preload: 'yes' } }, NONE)).toThrow(/preload/);
  });
});

describe('uniform', () => {
  it('spreads keys evenly over [0, numKeys)', () => {
    const w = createWorkload({ name: 'uniform', params: { numKeys: 10 } }, NONE);
    const c = counts(sample(w, 100_000).keys, 10);
    for (const x of c) expect(Math.abs(x / 100_000 - 0.1)).toBeLessThan(0.006);
  });
});

describe('zipf-sequence', () => {
  it('steps through numKeysSequence × exponentSequence at multiples of the interval', () => {
    const w = createWorkload(
      { name: 'zipf-sequence', params: { numKeysSequence: [100, 200], exponentSequence: [1, 2], shiftIntervalMs: 1000 } },
      NONE,
    ) as ZipfSequenceWorkload;
    expect(w.numKeys).toBe(200);
    expect(w.steps.map((s) => [s.numKeys, s.exponent])).toEqual([[100, 1], [100, 2], [200, 1], [200, 2]]);
    expect([0, 999, 1000, 1999, 2000, 3999, 4000, -1].map((t) => w.stepIndex(t))).toEqual([0, 0, 1, 1, 2, 3, 0, 3]);
    for (const k of sample(w, 2000, 500).keys) expect(k < 100).toBe(true);
  });
  it('changes the identity of the hot key at a shift, and comes back after a cycle', () => {
    const w = createWorkload(
      { name: 'zipf-sequence', params: { numKeysSequence: [1000], exponentSequence: [1.5, 1.5], shiftIntervalMs: 60_000 } },
      NONE,
    ) as ZipfSequenceWorkload;
    const h0 = hottest(sample(w, 20_000, 0).keys, 1000);
    const h1 = hottest(sample(w, 20_000, 60_000).keys, 1000);
    const h2 = hottest(sample(w, 20_000, 120_000).keys, 1000);
    expect(h0).toBe(w.steps[0].rankToKey[0]);
    expect(h1).toBe(w.steps[1].rankToKey[0]);
    expect(h1).not.toBe(h0);
    expect(h2).toBe(h0);
  });
});

describe('drifting-key', () => {
  const params = { numKeys: 1000, shiftIntervalMs: 1000 };
  it('adds key numKeys whose probability alternates between the low and high bands', () => {
    const w = createWorkload({ name: 'drifting-key', params }, NONE) as DriftingKeyWorkload;
    expect(w.numKeys).toBe(1001);
    expect(w.driftKey).toBe(1000);
    for (let k = 0; k < 6; k++) {
      const p = w.driftProbability(k * 1000 + 500);
      expect(w.driftProbability(k * 1000)).toBe(p);
      if (k % 2 === 0) expect(p >= 0.001 && p < 0.0155).toBe(true);
      else expect(p >= 0.0155 && p < 0.03).toBe(true);
    }
    expect(w.driftProbability(0)).not.toBe(w.driftProbability(2000));
  });
  it('emits the drifting key with its band probability', () => {
    const w = createWorkload({ name: 'drifting-key', params }, NONE) as DriftingKeyWorkload;
    for (const t of [0, 1000]) {
      const n = 300_000;
      const c = counts(sample(w, n, t).keys, 1001);
      const p = w.driftProbability(t);
      expect(Math.abs(c[1000] / n - p)).toBeLessThan(5 * Math.sqrt(p / n));
    }
  });
  it('startHigh starts in the high band', () => {
    const w = createWorkload({ name: 'drifting-key', params: { ...params, startHigh: true } }, NONE) as DriftingKeyWorkload;
    expect(w.driftProbability(0)).toBeGreaterThanOrEqual(0.0155);
    expect(w.driftProbability(1000)).toBeLessThan(0.0155);
  });
});
