// Residual action mode (ours): water-filling prior golden values and invariants, load estimates, the partitioner's mode choice.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WaterFill, residualShares } from '../../src/partitioners/learned/prior.js';
import { LearnedRouter } from '../../src/partitioners/learned/learned-router.js';
import { createSasPartitioner, sasPartitionerParams } from '../../src/partitioners/saspartitioner.js';
import { maskFromFrequencies, zipfTopProbabilities, type Mask } from '../../src/rl-agent/mask.js';
import { murmurWorker } from '../../src/partitioners/shared/hashing.js';
import { ConfigError } from '../../src/common/errors.js';
import type { SlideReport } from '../../src/common/metrics.js';
import type { LearnedPolicy } from '../../src/partitioners/learned/policy.js';
import { rankToKeyIds, ZipfWorkload } from '../../src/tasks/workloads/zipf.js';

function totals(mask: Mask, P: number, base: number[], loads: number[], shares: Float64Array): number[] {
  return base.map((b, w) => b + mask.reduce((s, _, k) => s + loads[k] * shares[k * P + w], 0));
}

describe('water-filling prior', () => {
  it('golden: two keys sharing a boundary worker level three workers exactly', () => {
    // P = 3, key 0 on [0, 2), key 1 on [1, 3); cold base (1, 0, 2), loads 4 and 3 → level 10/3 everywhere.
    const mask = [{ start: 0, end: 2 }, { start: 1, end: 3 }];
    const out = new Float64Array(6);
    const level = new WaterFill(mask, 3).solve([1, 0, 2], [4, 3], out);
    expect(level).toBeCloseTo(10 / 3, 5);
    // Forced by hand: w0 only takes key 0 → 10/3 − 1 = 7/3 of it; w2 only takes key 1 → 10/3 − 2 = 4/3 of it;
    // w1 gets the rest of both (5/3 + 5/3).
    for (const t of totals(mask, 3, [1, 0, 2], [4, 3], out)) expect(t).toBeCloseTo(10 / 3, 5);
    expect(out[0] * 4).toBeCloseTo(7 / 3, 5);
    expect(out[3 + 2] * 3).toBeCloseTo(4 / 3, 5);
  });

  it('a worker whose cold load is above the level gets no hot share', () => {
    const mask = [{ start: 0, end: 3 }];
    const out = new Float64Array(3);
    const level = new WaterFill(mask, 3).solve([10, 0, 0], [6], out);
    expect(level).toBeCloseTo(10, 5);
    expect(out[0]).toBeCloseTo(0, 6);
    expect(out[1] + out[2]).toBeCloseTo(1, 9);
  });

  it('invariants: shares ≥ 0, only inside the range, sum to 1; level ≥ any lower bound; no worker above the level', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 24 }),
        fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.double({ min: 0, max: 50, noNaN: true }), { minLength: 24, maxLength: 24 }),
        (P, raw, minWidth, rawBase) => {
          const freqs = [...raw].sort((a, b) => b - a);
          const mask = maskFromFrequencies(freqs, P, { minWidth });
          const loads = freqs.map((f) => f * 1000);
          const base = rawBase.slice(0, P);
          const out = new Float64Array(mask.length * P);
          const level = new WaterFill(mask, P).solve(base, loads, out);
          mask.forEach((r, k) => {
            let s = 0;
            for (let w = 0; w < P; w++) {
              const v = out[k * P + w];
              expect(v).toBeGreaterThanOrEqual(0);
              if (w < r.start || w >= r.end) expect(v).toBe(0);
              s += v;
            }
            expect(s).toBeCloseTo(1, 9);
          });
          const tot = totals(mask, P, base, loads, out);
          const mean = tot.reduce((a, b) => a + b, 0) / P;
          expect(level).toBeGreaterThanOrEqual(mean - 1e-6 * mean);
          expect(level).toBeGreaterThanOrEqual(Math.max(...base) - 1e-9);
          for (const t of tot) expect(t).toBeLessThanOrEqual(level * (1 + 1e-4) + 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spreads a key over its whole range when the balance allows (EDF alone would pack it)', () => {
    // Two identical keys on the same 4 workers with no cold load: every pair gets 1/4.
    const mask = [{ start: 0, end: 4 }, { start: 0, end: 4 }];
    const out = new Float64Array(8);
    new WaterFill(mask, 4).solve([0, 0, 0, 0], [100, 100], out);
    for (const v of out) expect(v).toBeCloseTo(0.25, 6);
    const packed = new Float64Array(8);
    new WaterFill(mask, 4, 0).solve([0, 0, 0, 0], [100, 100], packed);
    expect(Array.from(packed.subarray(0, 4)).filter((v) => v > 1e-9).length).toBe(2);
  });
});

describe('residual shares', () => {
  const mask = [{ start: 0, end: 2 }, { start: 1, end: 4 }];
  const P = 4;
  const prior = Float64Array.from([0.75, 0.25, 0, 0, 0, 0.2, 0.3, 0.5]);
  it('an action of 0.5 everywhere (or none) is the prior', () => {
    const out = new Float64Array(8);
    residualShares(mask, P, prior, new Float32Array(5).fill(0.5), 0.5, out);
    expect(Array.from(out)).toEqual(Array.from(prior));
    residualShares(mask, P, prior, undefined, 0.5, out);
    expect(Array.from(out)).toEqual(Array.from(prior));
  });
  it('golden: scale 0.5, key 0 action (1, 0) → prior ± 0.25, renormalised', () => {
    const out = new Float64Array(8);
    residualShares(mask, P, prior, [1, 0, 0.5, 0.5, 0.5], 0.5, out);
    // (0.75 + 0.25, 0.25 − 0.25) = (1, 0)
    expect(out[0]).toBeCloseTo(1, 12);
    expect(out[1]).toBeCloseTo(0, 12);
    expect(Array.from(out.subarray(4))).toEqual(Array.from(prior.subarray(4)));
  });
});

/** A report for the partitioner (it only reads routed, busy and records). */
function report(P: number, routed: number[]): SlideReport {
  return {
    slideIndex: 0,
    slideStartMs: 0,
    slideMs: 1000,
    workers: Array.from({ length: P }, (_, w) => ({ worker: w, recordsIn: routed[w], busyMs: 500, backpressuredMs: 0, idleMs: 500, queueLength: 0, latencyP50Ms: 0, latencyP99Ms: 0, latencyMaxMs: 0 })),
    partitioner: { records: routed.reduce((a, b) => a + b, 0), routeNs: 0, routed, hotKeys: 0, maxSplit: 0, tableVersion: 0 },
    job: { throughput: 0, targetRate: 0, achievedRate: 0, sourceBackpressuredMs: 0, imbalanceBusy: 0, nmadBusy: 0, imbalanceCount: 0, nmadCount: 0, replication: 0, latencyP50Ms: 0, latencyP99Ms: 0 },
  };
}

describe('load estimates', () => {
  it('count cold records per worker exactly and move keys that enter or leave the slots', () => {
    const P = 4;
    const r = new LearnedRouter({ numWorkers: P, numKeys: 100, numHotKeys: 1, mask: [{ start: 0, end: 4 }], sketchCapacity: 0 });
    r.swap([7], 1, [1], null);
    const cold = [3, 11, 12, 50];
    for (let i = 0; i < 40; i++) r.route(7);
    const expected = new Array<number>(P).fill(0);
    for (const k of cold) for (let i = 0; i < 5; i++) expected[r.route(k)]++;
    const base = new Float64Array(P);
    const hot = new Float64Array(1);
    // Key 7 stays hot: its exact count (40); the cold records stay where they were counted.
    r.estimateLoads([7], 1, [999], 1, base, hot);
    expect(hot[0]).toBe(40);
    expect(Array.from(base)).toEqual(expected);
    // Key 7 leaves, key 3 (5 records, cold until now) enters: 7's 40 records join its hash worker, 3's leave its own.
    const base2 = new Float64Array(P);
    r.estimateLoads([3], 1, [5], 1, base2, hot);
    const e2 = [...expected];
    e2[murmurWorker(7, 38324, P)] += 40;
    e2[murmurWorker(3, 38324, P)] -= 5;
    expect(hot[0]).toBe(5);
    expect(Array.from(base2)).toEqual(e2);
  });
});

describe('saspartitioner action modes', () => {
  const P = 16;
  const ctx = { numWorkers: P, seed: 1, numKeys: 5000, slideMs: 1000, clock: { nowMs: 0 } };
  const params = (extra: Record<string, unknown>) => sasPartitionerParams.parse({ checkpoint: 'none', numHotKeys: 4, numTrueHotKeys: 4, ...extra });
  const params8 = (extra: Record<string, unknown>) => params({ numHotKeys: 8, numTrueHotKeys: 8, maskMinWidth: 2, ...extra });

  it('residual mode without a policy levels a skewed stream far better than the uniform table over the mask', () => {
    const keys = new Int32Array(40_000);
    new ZipfWorkload({ numKeys: 5000, exponent: 1.5, seed: 3 }).fill(keys, new Int32Array(keys.length), 0, keys.length, 0);
    const run = (mode: 'direct' | 'residual'): number => {
      const p = createSasPartitioner(ctx, params8({ actionMode: mode }));
      let last = 0;
      for (let slide = 0; slide < 4; slide++) {
        const routed = new Array<number>(P).fill(0);
        for (const k of keys.subarray(slide * 10_000, (slide + 1) * 10_000)) routed[p.route(k)]++;
        p.onSlide!(report(P, routed));
        last = Math.max(...routed) / (10_000 / P) - 1;
      }
      return last;
    };
    const residual = run('residual');
    const direct = run('direct');
    expect(residual).toBeLessThan(0.5 * direct);
    expect(residual).toBeLessThan(0.15);
  });

  it('takes the mode from the policy and refuses a contradicting parameter', () => {
    const mask = maskFromFrequencies(zipfTopProbabilities(1.5, 4), P);
    const pol: LearnedPolicy = { mask, actionDim: mask.reduce((a, r) => a + r.end - r.start, 0), describe: 'test', actionMode: 'residual', step: () => undefined };
    expect(createSasPartitioner(ctx, params({}), pol).actionMode).toBe('residual');
    expect(() => createSasPartitioner(ctx, params({ actionMode: 'direct' }), pol)).toThrow(ConfigError);
    expect(createSasPartitioner(ctx, params({})).actionMode).toBe('direct');
  });

  it('cold keys are never split in residual mode either', () => {
    const p = createSasPartitioner(ctx, params({ actionMode: 'residual' }));
    const ranks = rankToKeyIds(5000, 1, true);
    const cold = Array.from(ranks.subarray(100, 140));
    const seen = new Map<number, number>();
    for (let slide = 0; slide < 3; slide++) {
      const routed = new Array<number>(P).fill(0);
      for (let i = 0; i < 200; i++) for (const k of [ranks[0], ranks[1], ranks[0], ranks[2], ranks[3]]) routed[p.route(k)]++;
      for (const k of cold) {
        const w = p.route(k);
        routed[w]++;
        if (seen.has(k)) expect(w).toBe(seen.get(k));
        seen.set(k, w);
      }
      p.onSlide!(report(P, routed));
    }
  });
});
