// The virtual clock: a deterministic single-threaded discrete-event run with a cost model.
import type { SlideReport } from '../common/metrics.js';
import type { Partitioner } from '../partitioners/types.js';
import type { TaskOperator, Workload } from '../tasks/types.js';
import { Combiner } from './combiner.js';
import { MetricsCollector, SlideAccumulator } from './metrics/collector.js';
import { Reducer } from './reducer.js';
import type { Sink } from './sink.js';
import type { RateSource } from './source.js';
import { SplitTracker } from './split-tracker.js';
import { paneOf, panesPerWindow, type WindowSpec } from './window.js';

/** Resolved engine parameters (validated by the config layer). */
export interface EngineParams {
  /** Workers (combiners) P >= 1. */
  readonly P: number;
  /** Reducers R >= 1. */
  readonly R: number;
  /** Metric slide in ms. */
  readonly slideMs: number;
  readonly window: WindowSpec;
  /** Cost units per second per worker (length P); Infinity = unlimited. */
  readonly capacity: Float64Array;
  /** Records a worker's queue holds, including the one in service (credits). */
  readonly queueCapacity: number;
  /** Event-time length of the run (ms). */
  readonly durationMs: number;
  /** Stop after this many records (Infinity = no limit). */
  readonly maxRecords: number;
  /** Target rate of the source (fixed, schedule, or a controller such as the max-throughput ramp). */
  readonly rate: RateSource;
}

/** The pluggable parts of a job. */
export interface JobParts<P = unknown> {
  readonly partitioner: Partitioner;
  readonly clock: { nowMs: number };
  readonly op: TaskOperator<P>;
  readonly workload: Workload;
  readonly sink: Sink;
}

/** Optional observers of a run. */
export interface RunHooks {
  /** Called once per slide with the report, after the partitioner's feedback. */
  onSlide?: (r: SlideReport) => void;
  /** Called about every 1% of the run with the fraction done (0..1). */
  onProgress?: (fraction: number, records: number) => void;
  /** Polled about every batch: returning true ends the run as if its duration had passed. */
  shouldStop?: () => boolean;
  /** When given, every emitted record is appended here (tests: reference comparisons). */
  recordInput?: { keys: number[]; payloads: number[]; times: number[] };
}

/** What a run returns besides its reports. */
export interface RunResult {
  readonly records: number;
  readonly eventTimeMs: number;
  readonly wallMs: number;
  readonly reports: SlideReport[];
  /** Routing-table epochs seen (epoch markers broadcast). */
  readonly epochs: number;
  /** Partials merged by reducers / results forwarded directly. */
  readonly mergedPartials: number;
  readonly combinerRecords: number[];
}

const MAX_BATCH = 1024;

/**
 * Runs a job on the virtual clock. Each worker is a FIFO server: a record starts at
 * max(arrival, previous finish) and takes cost/capacity seconds. The single source blocks while the
 * target worker already holds `queueCapacity` records (credit-based backpressure), so emission is
 * delayed and the achieved rate falls below the target. Operators run in per-worker FIFO order, so
 * results equal the real engine's. Deterministic for a given seed and config.
 */
export function runVirtual<P>(params: EngineParams, parts: JobParts<P>, hooks: RunHooks = {}): RunResult {
  const { P, R, slideMs, window, capacity, queueCapacity: Q } = params;
  const { partitioner, op, workload, sink, clock } = parts;
  const collector = new MetricsCollector(P, slideMs);
  if (partitioner.onSlide) collector.subscribe((r) => partitioner.onSlide!(r));
  if (hooks.onSlide) collector.subscribe(hooks.onSlide);

  const combiners = Array.from({ length: P }, (_, w) => new Combiner<P>(w, op, window, R));
  const reducers = Array.from({ length: R }, (_, r) => new Reducer<P>(r, op, P));
  const tracker = partitioner.splitsKeys && op.kind === 'windowed' ? new SplitTracker(workload.numKeys, window) : undefined;
  const k = panesPerWindow(window);
  const needsOutput = sink.needsOutput !== false;

  // Per-worker service state: ring of the last Q finish times.
  const ring = new Float64Array(P * Q);
  const ringPos = new Int32Array(P);
  const ringCount = new Float64Array(P);
  const lastFinish = new Float64Array(P);
  const svcPerUnit = new Float64Array(P);
  for (let w = 0; w < P; w++) svcPerUnit[w] = capacity[w] === Infinity ? 0 : 1000 / capacity[w];

  // Busy and processed counts land in the slide where the service happens (possibly ahead of the source).
  const ahead = new Map<number, Float64Array>(); // slide -> [busy(P), processed(P)]
  const cacheSlide = new Float64Array(P).fill(-1);
  const cacheArr: Float64Array[] = new Array(P);
  const aheadOf = (slide: number): Float64Array => {
    let a = ahead.get(slide);
    if (!a) {
      a = new Float64Array(2 * P);
      ahead.set(slide, a);
    }
    return a;
  };

  const acc = new SlideAccumulator(P);
  let curSlide = 0;
  let curPane = 0;
  let started = false;
  let mergedPartials = 0;
  let epochs = 0;
  let lastVersion = partitioner.stats().tableVersion;

  const keys = new Int32Array(MAX_BATCH);
  const payloads = new Int32Array(MAX_BATCH);
  const dest = new Int32Array(MAX_BATCH);

  let t = 0; // source time of the last emission
  let records = 0;
  const wall0 = performance.now();
  let nextProgress = 0;

  const closeWindowsThrough = (lastPane: number): void => {
    // Close every window whose last pane is <= lastPane and not closed yet.
    for (let lp = closedThrough + 1; lp <= lastPane; lp++) closeWindow(lp);
  };
  let closedThrough = -Infinity;
  const closeWindow = (lp: number): void => {
    closedThrough = lp;
    if (op.kind !== 'windowed') return;
    const split = partitioner.splitsKeys ? (tracker ? tracker.splitKeys(lp) : 'all') : new Int32Array(0);
    let forwarded = 0;
    let toRed = 0;
    let windowStart = 0;
    for (let w = 0; w < P; w++) {
      const em = combiners[w].closeWindow(lp, split, needsOutput);
      windowStart = em.windowStart;
      forwarded += em.forwarded.length;
      for (const [key, out] of em.forwarded) sink.window(em.windowStart, key, out, false);
      for (let r = 0; r < R; r++) {
        const part = em.toReducer[r];
        toRed += part.length;
        if (part.length > 0) reducers[r].addPartials(em.windowStart, part);
      }
    }
    let mergedKeys = 0;
    for (let r = 0; r < R; r++) {
      for (let w = 0; w < P; w++) {
        const out = reducers[r].marker(windowStart, needsOutput);
        if (out) {
          mergedKeys += out.length;
          for (const [key, o] of out) sink.window(windowStart, key, o, true);
        }
      }
    }
    mergedPartials += toRed;
    const distinct = forwarded + mergedKeys;
    if (distinct > 0) acc.replication = (forwarded + toRed) / distinct;
  };

  const finishSlide = (s: number): void => {
    const end = (s + 1) * slideMs;
    const a = ahead.get(s);
    if (a) {
      for (let w = 0; w < P; w++) {
        acc.busyMs[w] = a[w];
        acc.processed[w] = a[P + w];
      }
      ahead.delete(s);
    }
    for (let w = 0; w < P; w++) {
      if (cacheSlide[w] === s) cacheSlide[w] = -1;
      // Queue length at the slide end: records whose finish lies after it (finish times are sorted in the ring).
      const n = Math.min(Q, ringCount[w]);
      let q = 0;
      for (let i = 1; i <= n; i++) {
        const idx = w * Q + ((ringPos[w] - i + Q) % Q);
        if (ring[idx] > end) q++;
        else break;
      }
      acc.queueLength[w] = q;
    }
    collector.publish(s, acc, params.rate.rateAt(s * slideMs), partitioner.stats());
    acc.reset();
    const v = partitioner.stats().tableVersion;
    if (v !== lastVersion) {
      lastVersion = v;
      epochs++; // epoch marker: FIFO on every channel; in one thread it takes effect for every later record
    }
  };

  while (records < params.maxRecords) {
    if (hooks.shouldStop?.()) break;
    const rate = params.rate.rateAt(t);
    const gap = rate === Infinity ? 0 : 1000 / rate;
    let n = rate === Infinity ? MAX_BATCH : Math.max(1, Math.min(MAX_BATCH, Math.floor((rate * slideMs) / 100_000)));
    n = Math.min(n, params.maxRecords - records);
    clock.nowMs = t;
    const got = workload.fill(keys, payloads, 0, n, t);
    if (got === 0) break;
    const r0 = process.hrtime.bigint();
    for (let i = 0; i < got; i++) dest[i] = partitioner.route(keys[i]);
    acc.routeNsTotal += Number(process.hrtime.bigint() - r0);
    acc.routeCalls += got;

    let stop = false;
    for (let i = 0; i < got; i++) {
      const w = dest[i];
      const key = keys[i];
      // Emission time: the schedule, delayed while the target queue is full (credits exhausted).
      const sched = started ? t + gap : 0;
      let a = sched;
      const base = w * Q;
      const pos = ringPos[w];
      if (ringCount[w] >= Q) {
        const freeAt = ring[base + pos];
        if (freeAt > a) {
          acc.sourceBackpressuredMs += freeAt - a;
          a = freeAt;
        }
      }
      if (a >= params.durationMs) {
        stop = true;
        break;
      }
      started = true;
      t = a;
      // Slide and pane boundaries crossed by this emission.
      const slide = Math.floor(a / slideMs);
      while (curSlide < slide) finishSlide(curSlide++);
      const pane = paneOf(a, window.slideMs);
      if (pane !== curPane || records === 0) {
        if (records > 0) closeWindowsThrough(pane - 1);
        else closedThrough = pane - 1;
        curPane = pane;
        tracker?.startPane(pane);
      }
      // Service.
      const start = a > lastFinish[w] ? a : lastFinish[w];
      const svc = op.cost(payloads[i]) * svcPerUnit[w];
      const fin = start + svc;
      lastFinish[w] = fin;
      ring[base + pos] = fin;
      ringPos[w] = pos + 1 === Q ? 0 : pos + 1;
      ringCount[w]++;
      // Busy time per slide of service (split across slide boundaries).
      let s0 = Math.floor(start / slideMs);
      const s1 = Math.floor(fin / slideMs);
      if (s0 === s1) {
        let arr = cacheArr[w];
        if (cacheSlide[w] !== s0) {
          arr = cacheArr[w] = aheadOf(s0);
          cacheSlide[w] = s0;
        }
        arr[w] += svc;
        arr[P + w]++;
      } else {
        let from = start;
        for (; s0 <= s1; s0++) {
          const to = Math.min(fin, (s0 + 1) * slideMs);
          aheadOf(s0)[w] += to - from;
          from = to;
        }
        aheadOf(s1)[P + w]++;
      }
      acc.latency[w].record((fin - a) * 1000);
      acc.recordsIn[w]++;
      acc.routed[w]++;
      acc.emitted++;
      tracker?.note(key, w);
      combiners[w].add(key, payloads[i], a);
      if (hooks.recordInput) {
        hooks.recordInput.keys.push(key);
        hooks.recordInput.payloads.push(payloads[i]);
        hooks.recordInput.times.push(a);
      }
      records++;
    }
    if (hooks.onProgress) {
      const f = Math.min(1, Math.max(records / params.maxRecords, t / params.durationMs));
      if (f >= nextProgress || stop) {
        hooks.onProgress(f, records);
        nextProgress = f + 0.01;
      }
    }
    if (stop) break;
  }

  // Drain: close the windows holding the last records, then report every slide up to the last finish.
  if (records > 0) closeWindowsThrough(curPane + k - 1);
  let lastFin = t;
  for (let w = 0; w < P; w++) if (lastFinish[w] > lastFin) lastFin = lastFinish[w];
  const endSlide = Math.floor(Math.max(t, lastFin) / slideMs);
  while (curSlide <= endSlide) finishSlide(curSlide++);
  if (op.kind === 'global') {
    const merged = new Map<number, P>();
    for (const c of combiners)
      for (const [key, st] of c.state) {
        const acc2 = merged.get(key);
        if (acc2 === undefined) merged.set(key, st);
        else op.merge(acc2, st);
      }
    for (const [key, st] of [...merged].sort((x, y) => x[0] - y[0])) sink.finalState(key, op.output(st));
  }
  hooks.onProgress?.(1, records);
  return {
    records,
    eventTimeMs: t,
    wallMs: performance.now() - wall0,
    reports: collector.reports,
    epochs,
    mergedPartials,
    combinerRecords: combiners.map((c) => c.records),
  };
}
