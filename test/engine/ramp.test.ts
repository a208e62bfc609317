import { describe, expect, it } from 'vitest';
import { RampController } from '../../src/engine/ramp.js';
import { loadJobConfig } from '../../src/engine/config.js';
import { runMaxThroughput } from '../../src/engine/max-throughput.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import { ZipfWorkload } from '../../src/tasks/index.js';
import type { SlideReport } from '../../src/common/metrics.js';

function slide(i: number, achieved: number, busy: number[]): SlideReport {
  return {
    slideIndex: i,
    slideStartMs: i * 1000,
    slideMs: 1000,
    workers: busy.map((b, w) => ({ worker: w, recordsIn: 0, busyMs: b, backpressuredMs: 0, idleMs: 1000 - b, queueLength: 0, latencyP50Ms: 0, latencyP99Ms: 0, latencyMaxMs: 0 })),
    partitioner: { records: 0, routeNs: 0, routed: [], hotKeys: 0, maxSplit: 0, tableVersion: 0 },
    job: { throughput: achieved, targetRate: 0, achievedRate: achieved, sourceBackpressuredMs: 0, imbalanceBusy: 0, nmadBusy: 0, imbalanceCount: 0, nmadCount: 0, replication: 1, latencyP50Ms: 0, latencyP99Ms: 0 },
  };
}

describe('RampController', () => {
  it('follows the original step rule and stops at the first backpressured interval (hand-computed)', () => {
    const ramp = new RampController({ warmup: [{ rate: 500, durationMs: 1000 }], initialRate: 10_000, rateStep: 1000, maxStep: 10_000, maxRate: 1e9, intervalMs: 2000, tolerance: 0.02, stepDivisor: 10 });
    expect(ramp.rateAt(500)).toBe(500); // warm-up
    expect(ramp.rateAt(1500)).toBe(10_000);
    // Interval 1 (slides 1–2; slide 1 absorbs the change, slide 2 is judged): max busy 300.
    // step = max(1000, min(10000, floor(((10000·900/300 − 10000)/10)/1000)·1000)) = min(10000, 2000) = 2000.
    ramp.onSlide(slide(0, 500, [10, 10]));
    ramp.onSlide(slide(1, 10_000, [300, 100]));
    ramp.onSlide(slide(2, 10_000, [300, 100]));
    expect(ramp.rateAt(3000)).toBe(12_000);
    // Interval 2: max busy 1000 → proposed (12000·0.9 − 12000)/10 < 0 → step = rateStep = 1000.
    ramp.onSlide(slide(3, 12_000, [1000, 100]));
    ramp.onSlide(slide(4, 12_000, [1000, 100]));
    expect(ramp.rateAt(5000)).toBe(13_000);
    expect(ramp.maxSustained).toBe(12_000);
    // Interval 3: achieved 12500 < 13000·0.98 → backpressure; result = last sustained.
    ramp.onSlide(slide(5, 12_500, [1000, 100]));
    ramp.onSlide(slide(6, 12_500, [1000, 100]));
    expect(ramp.done).toBe(true);
    expect(ramp.maxSustained).toBe(12_000);
    expect(ramp.steps.map((s) => s.sustained)).toEqual([true, true, false]);
  });
});

describe('max throughput on the virtual clock (analytic)', () => {
  // Units/s per worker; keyed count costs 1 unit per record. Every rate below scales with C, so the
  // bounds keep their ratios at any C: 5000 simulates a quarter of the records of the 20 000 it once
  // was (~1 s instead of ~5 s alone).
  const C = 5_000;
  const P = 8;
  it('hash saturates at capacity / hottest worker share; uniform keys at about P·capacity', { timeout: 30_000 }, async () => {
    const zipf = new ZipfWorkload({ numKeys: 1000, exponent: 1.2, seed: 1 });
    const hash = createPartitioner('hash', { numWorkers: P, seed: 1, numKeys: 1000, slideMs: 1000, clock: { nowMs: 0 } });
    const share = new Float64Array(P);
    zipf.probabilities.forEach((p, rank) => (share[hash.route(zipf.rankToKey[rank])] += p));
    const bound = C / Math.max(...share);
    const step = C / 40;
    const base = ['task.name=keyedcount', `workers=${P}`, `capacity=${C}`, 'workload.params.numKeys=1000', 'queueCapacity=200', `ramp.initialRate=${step * 4}`, `ramp.rateStep=${step}`, `ramp.maxStep=${C}`, 'ramp.stepDivisor=2', 'ramp.intervalMs=3000'];
    const h = await runMaxThroughput(loadJobConfig(undefined, [...base, 'workload.params.exponent=1.2']));
    expect(h.backpressured).toBe(true);
    // A rate counts as sustained when achieved ≥ rate·(1 − tolerance), so the ramp may pass the bound by that slack.
    expect(h.maxThroughput).toBeLessThanOrEqual(bound / (1 - 0.02) + step);
    expect(h.maxThroughput).toBeGreaterThanOrEqual(bound - 3 * step);
    const u = await runMaxThroughput(loadJobConfig(undefined, [...base, 'workload.name=uniform']));
    expect(u.maxThroughput).toBeGreaterThan(P * C * 0.8);
    expect(u.maxThroughput).toBeLessThanOrEqual((P * C) / (1 - 0.02) + step);
  });
});
