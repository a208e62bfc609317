// Builds a run's summary and timeline from the engine's per-slide metric reports.
import { DataError } from '../common/errors.js';
import type { SlideReport } from '../common/metrics.js';
import { finiteOrNull, type RunSummary, type TimelinePoint } from './types.js';

/** Options of {@link summaryFromSlides}. */
export interface SlideSummaryOptions {
  /** Leading slides left out of the summary (warm-up). Default 0. The timeline keeps them (it drops only the drain). */
  readonly warmupSlides?: number;
}

/**
 * The slides before the drain: `reports` without its trailing slides in which the partitioner routed
 * no record (`partitioner.records === 0`). Once the source has stopped, nothing is routed any more and
 * the workers only empty their queues: those slides measure the drain (one worker finishing its
 * backlog gives imbalance ≈ P − 1, throughput falls to ~0), not the partitioner. A slide that routed
 * nothing mid-run (a stalled source) is kept; only the tail is dropped. Every slide when none routed
 * a record (nothing to drop it for).
 */
export function drainTrimmed(reports: readonly SlideReport[]): readonly SlideReport[] {
  let end = reports.length;
  while (end > 0 && reports[end - 1].partitioner.records === 0) end--;
  return end === 0 ? reports : reports.slice(0, end);
}

/**
 * One timeline point per slide up to the source's end ({@link drainTrimmed}: the drain slides after
 * the last routed record are left out): `tMs` = slide start relative to the first slide's start.
 */
export function timelineFromSlides(reports: readonly SlideReport[]): TimelinePoint[] {
  if (reports.length === 0) return [];
  const t0 = reports[0].slideStartMs;
  return drainTrimmed(reports).map((r) => ({
    tMs: r.slideStartMs - t0,
    throughput: r.job.throughput,
    imbalanceBusy: r.job.imbalanceBusy,
    latencyP99Ms: finiteOrNull(r.job.latencyP99Ms),
  }));
}

function meanFinite(xs: readonly number[]): number | null {
  let s = 0;
  let n = 0;
  for (const x of xs) {
    if (Number.isFinite(x)) {
      s += x;
      n++;
    }
  }
  return n > 0 ? s / n : null;
}

/**
 * A run summary (everything but `maxThroughput`, which only a ramp test gives) from the slides after
 * the warm-up:
 * - sustainedThroughput, imbalanceBusy, nmadBusy, imbalanceCount: means over those slides of `job.*`
 *   of the same name (non-finite values are skipped; 0 when no slide has one);
 * - replication: the same mean, but null when no slide measured it (every slide's `job.replication`
 *   is NaN: no key seen, or an engine that does not track it), so results never claim 0 workers per key;
 * - latencyP50Ms / latencyP99Ms: mean of the slides' job percentiles weighted by the records finished
 *   in each slide (an approximation of the run's percentile; pass the exact value from a run-wide
 *   histogram instead when the engine has one); null when no record finished;
 * - stateKeys / stateBytes: means of `job.state_keys` / `job.state_bytes`, when the engine reports them;
 * - perWorkerLoad: per worker, the sum of `recordsIn` over those slides (records routed to it).
 * Throws DataError when no slide is left after the warm-up.
 */
export function summaryFromSlides(reports: readonly SlideReport[], options: SlideSummaryOptions = {}): Omit<RunSummary, 'maxThroughput'> {
  const warmup = options.warmupSlides ?? 0;
  const measured = reports.slice(warmup);
  if (measured.length === 0) {
    throw new DataError(`no slides to summarise: ${reports.length} slide(s), warm-up ${warmup}`, { slides: reports.length, warmupSlides: warmup });
  }
  const P = measured[0].workers.length;
  const perWorkerLoad = new Array<number>(P).fill(0);
  let wSum = 0;
  let p50 = 0;
  let p99 = 0;
  for (const r of measured) {
    let finished = 0;
    for (const w of r.workers) {
      perWorkerLoad[w.worker] += w.recordsIn;
      finished += w.recordsIn;
    }
    if (finished > 0 && Number.isFinite(r.job.latencyP50Ms) && Number.isFinite(r.job.latencyP99Ms)) {
      wSum += finished;
      p50 += finished * r.job.latencyP50Ms;
      p99 += finished * r.job.latencyP99Ms;
    }
  }
  const m = (f: (r: SlideReport) => number): number => meanFinite(measured.map(f)) ?? 0;
  return {
    sustainedThroughput: m((r) => r.job.throughput),
    latencyP50Ms: wSum > 0 ? p50 / wSum : null,
    latencyP99Ms: wSum > 0 ? p99 / wSum : null,
    imbalanceBusy: m((r) => r.job.imbalanceBusy),
    nmadBusy: m((r) => r.job.nmadBusy),
    imbalanceCount: m((r) => r.job.imbalanceCount),
    replication: meanFinite(measured.map((r) => r.job.replication)),
    ...(measured.some((r) => r.job.stateKeys !== undefined)
      ? { stateKeys: meanFinite(measured.map((r) => r.job.stateKeys ?? Number.NaN)), stateBytes: meanFinite(measured.map((r) => r.job.stateBytes ?? Number.NaN)) }
      : {}),
    perWorkerLoad,
  };
}
