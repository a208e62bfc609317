// Builds one SlideReport per metric slide from raw per-worker accumulators and fans it out.
import { imbalance, nmad, type ReducerSlideMetrics, type SlideReport, type WorkerSlideMetrics } from '../../common/metrics.js';
import type { PartitionerStats } from '../../partitioners/types.js';
import { LogHistogram } from './histogram.js';

/** Raw accumulators for one slide, filled by an engine (virtual or real). Times in ms, counts in records. */
export class SlideAccumulator {
  readonly recordsIn: Float64Array;
  readonly processed: Float64Array;
  readonly busyMs: Float64Array;
  readonly backpressuredMs: Float64Array;
  readonly queueLength: Float64Array;
  readonly routed: Float64Array;
  readonly latency: LogHistogram[];
  /** Per reducer (length R): busy ms, partials merged, and partials queued at the slide end. */
  readonly reducerBusyMs: Float64Array;
  readonly reducerMerged: Float64Array;
  readonly reducerQueue: Float64Array;
  /** State each worker holds at the slide end (distinct keys, estimated bytes); NaN = not measured. */
  readonly stateKeys: Float64Array;
  readonly stateBytes: Float64Array;
  routeNsTotal = 0;
  routeCalls = 0;
  emitted = 0;
  sourceBackpressuredMs = 0;
  replication = Number.NaN;
  maxSplit = 0;

  constructor(
    readonly P: number,
    readonly R = 0,
  ) {
    this.recordsIn = new Float64Array(P);
    this.processed = new Float64Array(P);
    this.busyMs = new Float64Array(P);
    this.backpressuredMs = new Float64Array(P);
    this.queueLength = new Float64Array(P);
    this.routed = new Float64Array(P);
    this.latency = Array.from({ length: P }, () => new LogHistogram());
    this.reducerBusyMs = new Float64Array(R);
    this.reducerMerged = new Float64Array(R);
    this.reducerQueue = new Float64Array(R);
    this.stateKeys = new Float64Array(P).fill(Number.NaN);
    this.stateBytes = new Float64Array(P).fill(Number.NaN);
  }

  /** Clears every field for reuse. */
  reset(): void {
    this.recordsIn.fill(0);
    this.processed.fill(0);
    this.busyMs.fill(0);
    this.backpressuredMs.fill(0);
    this.queueLength.fill(0);
    this.routed.fill(0);
    for (const h of this.latency) h.reset();
    this.reducerBusyMs.fill(0);
    this.reducerMerged.fill(0);
    this.reducerQueue.fill(0);
    this.stateKeys.fill(Number.NaN);
    this.stateBytes.fill(Number.NaN);
    this.routeNsTotal = 0;
    this.routeCalls = 0;
    this.emitted = 0;
    this.sourceBackpressuredMs = 0;
    this.replication = Number.NaN;
    this.maxSplit = 0;
  }
}

/** A subscriber to slide reports. */
export type SlideListener = (report: SlideReport) => void;

/**
 * Turns accumulators into `SlideReport`s (per-second normalisation, derived imbalance/NMAD) and
 * delivers each to every listener, in slide order. Exactly one report per slide, P workers each.
 */
export class MetricsCollector {
  private readonly listeners: SlideListener[] = [];
  /** Every report so far (the run summary is computed from them). */
  readonly reports: SlideReport[] = [];

  constructor(
    readonly P: number,
    readonly slideMs: number,
    /** Reducers whose figures the reports carry (0: none reported). */
    readonly R = 0,
  ) {}

  /** Adds a listener; returns a function that removes it. */
  subscribe(fn: SlideListener): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Builds and publishes the report of slide `slideIndex` from `acc`. */
  publish(slideIndex: number, acc: SlideAccumulator, targetRate: number, stats: PartitionerStats): SlideReport {
    const perSec = 1000 / this.slideMs;
    const workers: WorkerSlideMetrics[] = [];
    const busy = new Float64Array(this.P);
    const all = new LogHistogram();
    let processed = 0;
    let stateKeys = 0;
    let stateBytes = 0;
    const hasState = !Number.isNaN(acc.stateKeys[0]);
    for (let w = 0; w < this.P; w++) {
      if (hasState) {
        stateKeys += acc.stateKeys[w];
        stateBytes += acc.stateBytes[w];
      }
      const b = Math.min(1000, acc.busyMs[w] * perSec);
      const bp = Math.min(1000 - b, acc.backpressuredMs[w] * perSec);
      busy[w] = b;
      processed += acc.processed[w];
      const h = acc.latency[w];
      all.add(h);
      workers.push({
        worker: w,
        recordsIn: acc.recordsIn[w],
        busyMs: b,
        backpressuredMs: bp,
        idleMs: Math.max(0, 1000 - b - bp),
        queueLength: acc.queueLength[w],
        latencyP50Ms: h.percentile(50) / 1000,
        latencyP99Ms: h.percentile(99) / 1000,
        latencyMaxMs: h.total > 0 ? h.max / 1000 : Number.NaN,
        ...(hasState ? { stateKeys: acc.stateKeys[w], stateBytes: acc.stateBytes[w] } : {}),
      });
    }
    let maxRouted = 0;
    for (let w = 0; w < this.P; w++) if (acc.routed[w] > maxRouted) maxRouted = acc.routed[w];
    const reducers: ReducerSlideMetrics[] = [];
    for (let r = 0; r < Math.min(this.R, acc.R); r++)
      reducers.push({ reducer: r, busyMs: Math.min(1000, acc.reducerBusyMs[r] * perSec), merged: acc.reducerMerged[r], queueLength: acc.reducerQueue[r] });
    const report: SlideReport = {
      slideIndex,
      slideStartMs: slideIndex * this.slideMs,
      slideMs: this.slideMs,
      workers,
      ...(reducers.length > 0 ? { reducers } : {}),
      partitioner: {
        records: acc.routeCalls,
        routeNs: acc.routeCalls > 0 ? acc.routeNsTotal / acc.routeCalls : Number.NaN,
        routed: Array.from(acc.routed),
        hotKeys: stats.hotKeys,
        maxSplit: acc.maxSplit,
        tableVersion: stats.tableVersion,
        ...(stats.guard ? { guard: stats.guard } : {}),
      },
      job: {
        throughput: processed * perSec,
        targetRate,
        achievedRate: acc.emitted * perSec,
        sourceBackpressuredMs: Math.min(1000, acc.sourceBackpressuredMs * perSec),
        imbalanceBusy: imbalance(busy),
        nmadBusy: nmad(busy),
        imbalanceCount: imbalance(acc.recordsIn),
        nmadCount: nmad(acc.recordsIn),
        replication: acc.replication,
        ...(hasState ? { stateKeys, stateBytes } : {}),
        latencyP50Ms: all.percentile(50) / 1000,
        latencyP99Ms: all.percentile(99) / 1000,
      },
    };
    this.reports.push(report);
    for (const fn of this.listeners) fn(report);
    return report;
  }
}
