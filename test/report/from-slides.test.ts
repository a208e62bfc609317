// Run summary and timeline from SlideReports, checked against hand-computed means.
import { describe, expect, it } from 'vitest';
import type { SlideReport, WorkerSlideMetrics } from '../../src/common/metrics.js';
import { DataError } from '../../src/common/errors.js';
import { RunSummarySchema, TimelinePointSchema, drainTrimmed, summaryFromSlides, timelineFromSlides } from '../../src/report/index.js';

/** A slide whose workers finished `recordsIn`; the partitioner routed `routed` records (default: as many). */
function slide(i: number, recordsIn: number[], job: Partial<SlideReport['job']>, routed = recordsIn.reduce((a, b) => a + b, 0)): SlideReport {
  const workers: WorkerSlideMetrics[] = recordsIn.map((n, w) => ({
    worker: w,
    recordsIn: n,
    busyMs: 0,
    backpressuredMs: 0,
    idleMs: 1000,
    queueLength: 0,
    latencyP50Ms: NaN,
    latencyP99Ms: NaN,
    latencyMaxMs: NaN,
  }));
  return {
    slideIndex: i,
    slideStartMs: 5000 + i * 1000,
    slideMs: 1000,
    workers,
    partitioner: { records: routed, routeNs: NaN, routed: recordsIn.map((n) => (routed === 0 ? 0 : n)), hotKeys: 0, maxSplit: 1, tableVersion: 0 },
    job: {
      throughput: 0,
      targetRate: Infinity,
      achievedRate: 0,
      sourceBackpressuredMs: 0,
      imbalanceBusy: 0,
      nmadBusy: 0,
      imbalanceCount: 0,
      nmadCount: 0,
      replication: NaN,
      latencyP50Ms: NaN,
      latencyP99Ms: NaN,
      ...job,
    },
  };
}

const reports = [
  slide(0, [1, 1], { throughput: 999, imbalanceBusy: 9, replication: 9, latencyP50Ms: 99, latencyP99Ms: 99 }), // warm-up
  slide(1, [10, 30], { throughput: 40, imbalanceBusy: 0.5, nmadBusy: 0.25, imbalanceCount: 0.5, replication: 1, latencyP50Ms: 2, latencyP99Ms: 10 }),
  slide(2, [0, 0], { throughput: 0, imbalanceBusy: 0, nmadBusy: 0, imbalanceCount: 0 }), // idle: NaN latency and replication
  slide(3, [30, 30], { throughput: 60, imbalanceBusy: 0.1, nmadBusy: 0.05, imbalanceCount: 0, replication: 2, latencyP50Ms: 4, latencyP99Ms: 20 }),
];

describe('summaryFromSlides', () => {
  it('averages the measured slides by hand-computed values', () => {
    const s = summaryFromSlides(reports, { warmupSlides: 1 });
    expect(s.sustainedThroughput).toBeCloseTo((40 + 0 + 60) / 3, 12);
    expect(s.imbalanceBusy).toBeCloseTo((0.5 + 0 + 0.1) / 3, 12);
    expect(s.nmadBusy).toBeCloseTo(0.1, 12);
    expect(s.imbalanceCount).toBeCloseTo(0.5 / 3, 12);
    expect(s.replication).toBe(1.5); // the idle slide's NaN is skipped
    // weighted by records finished: slide 1 has 40, slide 3 has 60.
    expect(s.latencyP50Ms).toBeCloseTo((40 * 2 + 60 * 4) / 100, 12);
    expect(s.latencyP99Ms).toBeCloseTo((40 * 10 + 60 * 20) / 100, 12);
    expect(s.perWorkerLoad).toEqual([40, 60]);
    expect(() => RunSummarySchema.parse(s)).not.toThrow();
  });
  it('gives null latency when no record finished, and rejects an empty measurement', () => {
    const s = summaryFromSlides([reports[2]]);
    expect(s.latencyP99Ms).toBeNull();
    expect(s.replication).toBeNull(); // no slide measured it: null (was 0), rendered n/a
    expect(() => RunSummarySchema.parse(s)).not.toThrow();
    expect(() => summaryFromSlides(reports, { warmupSlides: 4 })).toThrow(DataError);
  });
});

describe('timelineFromSlides', () => {
  it('has one point per slide relative to the first slide, NaN latency as null', () => {
    const t = timelineFromSlides(reports);
    expect(t.map((p) => p.tMs)).toEqual([0, 1000, 2000, 3000]);
    expect(t.map((p) => p.latencyP99Ms)).toEqual([99, 10, null, 20]);
    expect(t.map((p) => p.throughput)).toEqual([999, 40, 0, 60]);
    for (const p of t) expect(() => TimelinePointSchema.parse(p)).not.toThrow();
    expect(timelineFromSlides([])).toEqual([]);
  });

  // After the source stops nothing is routed and the workers empty their queues: one worker finishing
  // its backlog is imbalance P − 1 (63 at P = 64), the spike every chart used to end with.
  const drain = [
    slide(0, [10, 10], { throughput: 20, imbalanceBusy: 0.1 }),
    slide(1, [0, 0], { throughput: 0, imbalanceBusy: 0 }, 0), // the source stalled mid-run: kept
    slide(2, [10, 12], { throughput: 22, imbalanceBusy: 0.2 }),
    slide(3, [0, 5], { throughput: 5, imbalanceBusy: 1 }, 0), // drain: only worker 1 still busy
    slide(4, [0, 0], { throughput: 0, imbalanceBusy: 0 }, 0),
  ];

  it('leaves out the drain: the trailing slides in which nothing was routed', () => {
    const t = timelineFromSlides(drain);
    expect(t.map((p) => p.tMs)).toEqual([0, 1000, 2000]);
    expect(t.map((p) => p.imbalanceBusy)).toEqual([0.1, 0, 0.2]);
    expect(drainTrimmed(drain).map((r) => r.slideIndex)).toEqual([0, 1, 2]);
    // Nothing routed in any slide: nothing to tell the drain by, every slide kept.
    const idle = [slide(0, [0, 0], {}, 0), slide(1, [0, 0], {}, 0)];
    expect(drainTrimmed(idle)).toBe(idle);
  });
});
