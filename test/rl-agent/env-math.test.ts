// Golden values (computed by hand) for observation scaling, reward, mask heuristic and routing shares.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { perfScore, rewardFromBusy, rewardFromPerf, scaleObservation, stepInfo } from '../../src/rl-agent/env-math.js';
import { actionFromCounts, maskActionDim, maskFromFrequencies, routingShares, zipfTopProbabilities } from '../../src/rl-agent/mask.js';
import { ConfigError, DataError } from '../../src/common/errors.js';
import { MetricWindow } from '../../src/rl-agent/metric-window.js';

describe('scaleObservation', () => {
  it('scales the workload block to (c − mean)/(5·std) + 1', () => {
    // mean 25, population std √125 = 11.18034, 5·std = 55.9017
    const obs = scaleObservation([10, 20, 30, 40], [0, 0, 0, 0]);
    expect(obs.length).toBe(8);
    expect(obs[0]).toBeCloseTo(1 - 15 / 55.9017, 5);
    expect(obs[1]).toBeCloseTo(0.910557, 5);
    expect(obs[2]).toBeCloseTo(1.089443, 5);
    expect(obs[3]).toBeCloseTo(1.268328, 5);
  });

  it('gives 1 when every count is equal (std = 0) and clips at 2', () => {
    expect(Array.from(scaleObservation([7, 7, 7], [0, 0, 0]).subarray(0, 3))).toEqual([1, 1, 1]);
    // 37 workers, one with 1 tuple: z = 6 → 6/5 + 1 = 2.2 → clipped to 2; the others 1 − 1/30.
    const counts = new Array(37).fill(0);
    counts[5] = 1;
    const obs = scaleObservation(counts, new Array(37).fill(0));
    expect(obs[5]).toBe(2);
    expect(obs[0]).toBeCloseTo(1 - 1 / 30, 6);
  });

  it('maps busy to busy/1000 and busy >= 1000 to 2.0 (one scaling for every path)', () => {
    const obs = scaleObservation([1, 1, 1, 1, 1], [0, 500, 999.5, 1000, 1500]);
    expect(Array.from(obs.subarray(5))).toEqual([0, 0.5, Math.fround(0.9995), 2, 2]);
  });

  it('rejects mismatched lengths and non-finite or negative values with DataError', () => {
    expect(() => scaleObservation([1, 2], [1])).toThrow(DataError);
    expect(() => scaleObservation([1, NaN], [1, 1])).toThrow(DataError);
    expect(() => scaleObservation([1, 1], [1, -1])).toThrow(DataError);
  });

  it('always yields 2P values in [0, 2] (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(1_000_000), fc.double({ min: 0, max: 5000, noNaN: true })), { minLength: 1, maxLength: 64 }), (rows) => {
        const obs = scaleObservation(rows.map((r) => r[0]), rows.map((r) => r[1]));
        return obs.length === 2 * rows.length && obs.every((x) => x >= 0 && x <= 2);
      }),
    );
  });
});

describe('reward', () => {
  it('perf = (imbalance + nmad)/2 on busy time', () => {
    // mean 250: imbalance 400/250 − 1 = 0.6, nmad 400/1000 = 0.4
    expect(perfScore([100, 200, 300, 400])).toBeCloseTo(0.5, 12);
    expect(stepInfo([100, 200, 300, 400])).toEqual({ imbalance: expect.closeTo(0.6, 12), nmad: expect.closeTo(0.4, 12), perf: expect.closeTo(0.5, 12) });
  });

  it('r = 2f + sign(f)·f² with f = (base − perf)/base', () => {
    expect(rewardFromPerf(0.5, 0.6)).toBeCloseTo(2 / 6 + 1 / 36, 12); // f = 1/6
    expect(rewardFromPerf(0.5, 0.4)).toBeCloseTo(-0.5625, 12); // f = −1/4
    expect(rewardFromPerf(0.6, 0.6)).toBe(0);
    expect(rewardFromPerf(0, 0.6)).toBe(3); // f = 1: (1+1)² − 1
    expect(rewardFromBusy([100, 200, 300, 400], 0.6)).toBeCloseTo(0.3611111, 6);
  });

  it('rejects a base of zero, a negative or a non-finite base', () => {
    for (const b of [0, -0.1, NaN, Infinity]) {
      expect(() => rewardFromPerf(0.3, b)).toThrow(ConfigError);
    }
  });
});

describe('mask heuristic', () => {
  it('matches the reference ranges for P = 64, Zipf 1.5, 10 hot keys (A = 73)', () => {
    const mask = maskFromFrequencies(zipfTopProbabilities(1.5, 10), 64);
    expect(mask.map((r) => [r.start, r.end])).toEqual([
      [0, 33], [32, 44], [43, 50], [49, 54], [53, 57], [56, 59], [58, 61], [60, 62], [61, 63], [62, 64],
    ]);
    expect(maskActionDim(mask)).toBe(73);
  });

  it('gives spread keys every worker and every key at least one worker', () => {
    const mask = maskFromFrequencies([0.9, 0.05, 0.001, 0.0001], 8, 1);
    expect(mask[0]).toEqual({ start: 0, end: 8 });
    for (const r of mask) expect(r.end - r.start).toBeGreaterThanOrEqual(1);
  });

  it('turns actions into per-key shares; all-zero weights give undefined (cold route)', () => {
    const mask = [{ start: 0, end: 3 }, { start: 2, end: 4 }];
    const shares = routingShares(mask, [1, 1, 2, 0, 0]);
    expect(Array.from(shares[0]!)).toEqual([0.25, 0.25, 0.5]);
    expect(shares[1]).toBeUndefined();
  });

  it('rebuilds an action from a partition table, divided by each key\'s max count', () => {
    const mask = [{ start: 0, end: 3 }, { start: 2, end: 4 }];
    const table: Record<string, number> = { '0,0': 10, '0,1': 5, '0,2': 0, '1,2': 3, '1,3': 6 };
    const a = actionFromCounts(mask, (k, w) => table[`${k},${w}`] ?? 0);
    expect(Array.from(a)).toEqual([1, 0.5, 0, 0.5, 1]);
  });
});

describe('MetricWindow', () => {
  it('sums counts and averages busy over the last numSlides slides, then scales once', () => {
    const w = new MetricWindow(2, 3);
    w.pushRaw([10, 0], [100, 1000]);
    w.pushRaw([0, 10], [300, 1000]);
    expect(w.ready).toBe(false);
    w.pushRaw([5, 5], [200, 1000]);
    expect(w.ready).toBe(true);
    expect(Array.from(w.counts())).toEqual([15, 15]);
    expect(Array.from(w.busyMs())).toEqual([200, 1000]);
    w.pushRaw([30, 0], [500, 400]); // evicts the first slide
    expect(Array.from(w.counts())).toEqual([35, 15]);
    expect(Array.from(w.busyMs())).toEqual([1000 / 3, 800]);
    const obs = w.observation();
    expect(Array.from(obs)).toEqual([Math.fround(1.2), Math.fround(0.8), Math.fround(1 / 3), Math.fround(0.8)]); // (35−25)/(5·10)+1 = 1.2
    expect(w.info().imbalance).toBeCloseTo(800 / ((1000 / 3 + 800) / 2) - 1, 12);
    expect(() => w.pushRaw([1], [1, 2])).toThrow(DataError);
  });
});
