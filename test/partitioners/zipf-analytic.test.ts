import { describe, expect, it } from 'vitest';
import { imbalance } from '../../src/common/metrics.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import { murmurWorker } from '../../src/partitioners/shared/hashing.js';
import { ZipfWorkload, zipfProbabilities } from '../../src/tasks/workloads/zipf.js';
import { ctxWith } from './helpers.js';

// partitioners.md §9: imbalance over counts λ' = max/mean − 1 at the end of a seeded Zipf stream.
// Lower bounds: KG (hash, cAM without expiry) λ' ≥ n·p1 − 1; PKG λ' ≥ n·p1/2 − 1 when p1 > 2/n;
// W-Choices and D-Choices stay near 0. K = 1e4 keys, 300k records; the lower-bound tolerance is three
// standard deviations of n·p̂1 (binomial sampling of the top key's share).
const K = 10000;
const M = 300_000;

function lambda(name: string, n: number, z: number, params: Record<string, unknown> = {}, seed = 11): number {
  const keys = new Int32Array(M);
  new ZipfWorkload({ numKeys: K, exponent: z, seed }).fill(keys, new Int32Array(M), 0, M, 0);
  const ctx = ctxWith(n, K, seed);
  const p = createPartitioner(name, ctx, params);
  const counts = new Float64Array(n);
  for (let i = 0; i < M; i++) {
    if (i % 1000 === 0) ctx.clock.nowMs = i / 10; // 100k records/s of event time
    counts[p.route(keys[i])]++;
  }
  return imbalance(counts);
}

const CASES: [number, number][] = [
  [2.0, 10],
  [1.4, 50],
  [1.6, 10],
];

describe('imbalance on seeded Zipf streams vs partitioners.md §9', () => {
  for (const [z, n] of CASES) {
    const p1 = zipfProbabilities(K, z)[0];
    it(`z = ${z}, n = ${n}: hash and cAM (no expiry) just above n·p1 − 1; PKG just above n·p1/2 − 1`, () => {
      const kgLb = n * p1 - 1;
      const pkgLb = (n * p1) / 2 - 1;
      const tol = 3 * n * Math.sqrt((p1 * (1 - p1)) / M);
      expect(p1).toBeGreaterThan(2 / n);
      const kg = lambda('hash', n, z);
      expect(kg).toBeGreaterThanOrEqual(kgLb - tol);
      expect(kg).toBeLessThanOrEqual(kgLb + 0.1 * kgLb + 0.5);
      const cam = lambda('cam', n, z, { expireWindow: false });
      expect(cam).toBeGreaterThanOrEqual(kgLb - tol);
      expect(cam).toBeLessThanOrEqual(kgLb + 0.1 * kgLb + 0.5);
      // PKG: if the top key's two choices collide (probability 1/n per key) PKG degrades to KG for it.
      const top = new ZipfWorkload({ numKeys: K, exponent: z, seed: 11 }).rankToKey[0];
      const collide = murmurWorker(top, 13, n) === murmurWorker(top, 17, n);
      const pkg = lambda('pkg', n, z);
      const lb = collide ? kgLb : pkgLb;
      expect(pkg).toBeGreaterThanOrEqual(lb - (collide ? tol : tol / 2));
      expect(pkg).toBeLessThanOrEqual(lb + 0.1 * lb + 0.3);
      // W-Choices and D-Choices: far below PKG (the tables give ≈ 0).
      const wc = lambda('w-choices', n, z);
      const dc = lambda('d-choices', n, z);
      expect(wc).toBeLessThan(0.01);
      expect(dc).toBeLessThan(0.05 * pkgLb);
      expect(dc).toBeLessThan(0.3);
    });
  }

  it('below the PKG feasibility bound (p1 < 2/n) PKG balances: z = 1.0, n = 10 → λ\' ≈ 0', () => {
    expect(zipfProbabilities(K, 1.0)[0]).toBeLessThan(2 / 10);
    expect(lambda('pkg', 10, 1.0)).toBeLessThan(0.02);
  });

  it('cAM with window expiry (the fix) is still KG-like on a stationary stream: a hot key is never absent for a window', () => {
    const z = 2.0;
    const n = 10;
    const p1 = zipfProbabilities(K, z)[0];
    const tol = 3 * n * Math.sqrt((p1 * (1 - p1)) / M);
    expect(lambda('cam', n, z, { windowMs: 1000, slideMs: 100 })).toBeGreaterThanOrEqual(n * p1 - 1 - tol);
  });
});
