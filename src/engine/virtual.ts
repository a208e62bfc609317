// The virtual clock: a deterministic single-threaded discrete-event run with a cost model.
import type { TaskOperator } from '../tasks/types.js';
import { ConfigError, InvariantError } from '../common/errors.js';
import { Combiner } from './combiner.js';
import { MetricsCollector, SlideAccumulator } from './metrics/collector.js';
import { LogHistogram } from './metrics/histogram.js';
import { Reducer } from './reducer.js';
import { SplitTracker } from './split-tracker.js';
import { paneOf, panesPerWindow } from './window.js';
import { freeMergeStage, type EngineParams, type JobParts, type MergeStage, type RunHooks, type RunResult } from './types.js';
import { BinPreferences, type MigrationSettings, type ScheduledMigration } from './keyed.js';
import { BinMap, KeyedStateStore, MigrationEndpoint, MigrationRouter, createBinning, entryCount, planMigration, type StateMsg } from './migration/index.js';
import { costScratch, fillCosts, routeBatch } from './route-batch.js';

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
  if (parts.pull) throw new ConfigError('source.kind: an external source (kafka) needs clock: real', { field: 'source.kind', expected: 'clock: real' });
  const collector = new MetricsCollector(P, slideMs, R);
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
  // Service ms per cost unit: 1000 / (capacity × speed). With a static cluster the speed is folded in
  // once; a dynamic one (schedule, jitter) is looked up per worker and slide at service start.
  const cluster = params.cluster;
  const dynamic = cluster?.dynamic === true;
  const svcPerUnit = new Float64Array(P);
  for (let w = 0; w < P; w++) svcPerUnit[w] = capacity[w] === Infinity ? 0 : 1000 / (capacity[w] * (cluster && !dynamic ? cluster.base[w] : 1));
  const speedSlide = new Float64Array(P).fill(-1);
  const svcCache = new Float64Array(P);
  /** Service ms per cost unit of worker w for work that starts at `at`. */
  const svcAt = (w: number, at: number): number => {
    if (!dynamic) return svcPerUnit[w];
    const s = Math.floor(at / slideMs);
    if (speedSlide[w] !== s) {
      speedSlide[w] = s;
      svcCache[w] = svcPerUnit[w] / cluster!.factor(w, s);
    }
    return svcCache[w];
  };
  const hidden = params.hiddenCost;
  const merge = params.merge ?? freeMergeStage(R);

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

  const blockedAhead = new Map<number, Float64Array>(); // slide -> backpressured ms (P)
  const blockedOf = (slide: number): Float64Array => {
    let a = blockedAhead.get(slide);
    if (!a) {
      a = new Float64Array(P);
      blockedAhead.set(slide, a);
    }
    return a;
  };
  const acc = new SlideAccumulator(P, R);
  let curSlide = 0;
  let curPane = 0;
  let started = false;
  let mergedPartials = 0;
  let epochs = 0;
  let lastVersion = partitioner.stats().tableVersion;

  const keys = new Int32Array(MAX_BATCH);
  const payloads = new Int32Array(MAX_BATCH);
  const dest = new Int32Array(MAX_BATCH);
  const costs = costScratch(partitioner, MAX_BATCH);

  let t = 0; // source time of the last emission
  let records = 0;
  const wall0 = performance.now();
  let nextProgress = 0;

  const runLatency = new LogHistogram();
  /** Serves one record of `units` true cost units at worker w, arriving at `arrival`; returns its finish time. */
  const serve = (w: number, arrival: number, units: number, eventTime: number): number => {
    const start = arrival > lastFinish[w] ? arrival : lastFinish[w];
    const svc = units * svcAt(w, start);
    const fin = start + svc;
    lastFinish[w] = fin;
    const pos = ringPos[w];
    ring[w * Q + pos] = fin;
    ringPos[w] = pos + 1 === Q ? 0 : pos + 1;
    ringCount[w]++;
    // Busy time per slide of service (split across slide boundaries); the record counts where it finishes.
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
    const lat = (fin - eventTime) * 1000;
    acc.latency[w].record(lat); // merged into the run-wide histogram once per slide
    return fin;
  };
  /** Counts time in [from, until) that worker w spent blocked on a full reducer queue (backpressured, not busy). */
  const blocked = (w: number, from: number, until: number): void => {
    for (let s0 = Math.floor(from / slideMs); s0 <= Math.floor(until / slideMs) && from < until; s0++) {
      const to = Math.min(until, (s0 + 1) * slideMs);
      blockedOf(s0)[w] += to - from;
      from = to;
    }
  };
  /** Adds busy time at worker w without a record (state export/import work). */
  const work = (w: number, at: number, ms: number): number => {
    const start = at > lastFinish[w] ? at : lastFinish[w];
    const fin = start + ms;
    lastFinish[w] = fin;
    let from = start;
    for (let s0 = Math.floor(start / slideMs); s0 <= Math.floor(fin / slideMs); s0++) {
      const to = Math.min(fin, (s0 + 1) * slideMs);
      aheadOf(s0)[w] += to - from;
      from = to;
    }
    return fin;
  };
  const trueCost = (key: number, payload: number): number => (hidden ? op.cost(payload) * hidden[key] : op.cost(payload));
  const keyed = op.kind === 'global' && params.migration ? new VirtualKeyed(params.migration, P, op, serve, work, lastFinish, trueCost, params.migrationSchedule ?? []) : undefined;
  const stage = new VirtualMergeStage(merge, P, R, slideMs);

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
    // The window closes at its end; each combiner closes it after serving every earlier record.
    const closeAt = (lp + 1) * window.slideMs;
    stage.beginClose();
    for (let w = 0; w < P; w++) {
      const em = combiners[w].closeWindow(lp, split, needsOutput);
      windowStart = em.windowStart;
      forwarded += em.forwarded.length;
      for (const [key, out] of em.forwarded) sink.window(em.windowStart, key, out, false);
      let parts = em.forwarded.length;
      for (let r = 0; r < R; r++) {
        const part = em.toReducer[r];
        toRed += part.length;
        parts += part.length;
        stage.countPartials(w, r, part.length);
        if (part.length > 0) reducers[r].addPartials(em.windowStart, part);
      }
      // Emitting costs the combiner emitCost units per partial (forwarded or to a reducer).
      const start = closeAt > lastFinish[w] ? closeAt : lastFinish[w];
      const emitted = parts > 0 && merge.emitCost > 0 ? work(w, start, parts * merge.emitCost * svcAt(w, start)) : start;
      stage.emitted(w, emitted);
    }
    // Reducers take the partials in the order the combiners emitted them; a full reducer queue blocks
    // the combiner until it has room (its next records wait: backpressure reaches the source).
    stage.deliver((w, until, from) => {
      if (until > lastFinish[w]) lastFinish[w] = until;
      blocked(w, from, until);
    });
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
    const b = blockedAhead.get(s);
    if (b) {
      for (let w = 0; w < P; w++) acc.backpressuredMs[w] = b[w];
      blockedAhead.delete(s);
    }
    stage.finishSlide(s, acc);
    if (!keyed)
      for (let w = 0; w < P; w++) {
        const st = combiners[w].stateSize();
        acc.stateKeys[w] = st.keys;
        acc.stateBytes[w] = st.bytes;
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
    for (let w = 0; w < P; w++) runLatency.add(acc.latency[w]);
    acc.reset();
    keyed?.onSlideEnd();
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
    keyed?.step(t);
    const got = workload.fill(keys, payloads, 0, n, t);
    if (got === 0) break;
    fillCosts(op, payloads, got, costs);
    const r0 = process.hrtime.bigint();
    routeBatch(partitioner, keys, got, dest, costs);
    acc.routeNsTotal += Number(process.hrtime.bigint() - r0);
    acc.routeCalls += got;

    let stop = false;
    if (keyed) for (let i = 0; i < got; i++) dest[i] = keyed.route(keys[i], dest[i]);
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
      if (keyed) {
        keyed.deliverDue(a);
        if (!keyed.apply(w, key, payloads[i], a)) {
          acc.recordsIn[w]++;
          acc.routed[w]++;
          acc.emitted++;
          records++;
          if (hooks.recordInput) {
            hooks.recordInput.keys.push(key);
            hooks.recordInput.payloads.push(payloads[i]);
            hooks.recordInput.times.push(a);
          }
          continue; // buffered until its bin's state arrives; served at the install
        }
      }
      serve(w, a, trueCost(key, payloads[i]), a);
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
  if (keyed) keyed.drain(t);
  let lastFin = t;
  for (let w = 0; w < P; w++) if (lastFinish[w] > lastFin) lastFin = lastFinish[w];
  if (stage.lastFinish > lastFin) lastFin = stage.lastFinish;
  const endSlide = Math.floor(Math.max(t, lastFin) / slideMs);
  while (curSlide <= endSlide) finishSlide(curSlide++);
  if (keyed) {
    keyed.drain(Math.max(t, lastFin));
    for (const [key, out] of keyed.finalState()) sink.finalState(key, out);
    for (let w = 0; w < P; w++) runLatency.add(acc.latency[w]); // records replayed after the last slide
  } else if (op.kind === 'global') {
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
    combinerRecords: keyed ? keyed.appliedPerWorker() : combiners.map((c) => c.records),
    migrations: keyed ? keyed.router.summaries() : [],
    latency: runLatency,
  };
}

/**
 * Keyed global state with migration on the virtual clock. Records route by bin owner; markers follow
 * Megaphone's rule: the old owner exports a moving bin once it has served every earlier record (its
 * last finish time), the state travels at `bandwidthBytesPerSec`, export and import cost `entryCostUs`
 * per entry, and the new owner serves the bin's buffered records right after the install.
 */
class VirtualKeyed<P> {
  readonly router: MigrationRouter;
  private readonly binning;
  private readonly endpoints: MigrationEndpoint<P>[];
  private readonly stores: KeyedStateStore<P>[];
  private readonly prefs: BinPreferences;
  private readonly pending: Array<{ at: number; msg: StateMsg }> = [];
  private readonly buffered = new Map<number, { arrival: number; payload: number }>();
  private readonly applied: number[];
  private replayAt = Number.NaN;
  private replayWorker = -1;
  private tag = 0;
  private scheduleIdx = 0;

  constructor(
    private readonly m: MigrationSettings,
    private readonly P: number,
    private readonly op: TaskOperator<P>,
    private readonly serve: (w: number, arrival: number, units: number, eventTime: number) => number,
    private readonly work: (w: number, at: number, ms: number) => number,
    private readonly lastFinish: Float64Array,
    private readonly trueCost: (key: number, payload: number) => number,
    private readonly schedule: readonly ScheduledMigration[],
  ) {
    this.binning = createBinning({ binBits: m.binBits });
    this.router = new MigrationRouter(this.binning, P);
    this.prefs = new BinPreferences(this.binning.numBins, P);
    this.applied = new Array<number>(P).fill(0);
    this.stores = Array.from({ length: P }, () => new KeyedStateStore<P>(op, this.binning.binOf));
    this.endpoints = Array.from(
      { length: P },
      (_, w) =>
        new MigrationEndpoint<P>({
          worker: w,
          initialMap: this.router.map,
          store: this.stores[w],
          onApplied: (key, payload, tag) => {
            this.applied[w]++;
            if (Number.isNaN(this.replayAt)) return; // applied directly: the engine serves it
            const rec = this.buffered.get(tag)!;
            this.buffered.delete(tag);
            this.serve(this.replayWorker, Math.max(this.replayAt, rec.arrival), this.trueCost(key, payload), rec.arrival);
          },
        }),
    );
  }

  /** Owner of `key`'s bin; notes the partitioner's preference `pref`. */
  route(key: number, pref: number): number {
    this.prefs.note(this.binning.binOf(key), pref);
    return this.router.route(key);
  }

  /** Applies a record at its owner; false when it waits for its bin's state. */
  apply(w: number, key: number, payload: number, arrival: number): boolean {
    const tag = this.tag++;
    const ok = this.endpoints[w].onRecord(this.router.epoch, key, payload, tag);
    if (!ok) this.buffered.set(tag, { arrival, payload });
    return ok;
  }

  /** Releases migration steps whose time came, and requested migrations due at `t`. */
  step(t: number): void {
    while (this.scheduleIdx < this.schedule.length && this.schedule[this.scheduleIdx].atMs <= t && !this.router.migrating) {
      const req = this.schedule[this.scheduleIdx++];
      const owners = typeof req.owners === 'function' ? req.owners(this.router.map) : req.owners;
      this.start(owners, undefined);
    }
    for (;;) {
      const marker = this.router.poll(t);
      if (!marker) return;
      for (let w = 0; w < this.P; w++) this.handle(this.endpoints[w].onEpochMarker(marker.epoch, marker.moves, marker.replicas), t);
    }
  }

  private start(owners: readonly number[], binRate: Float64Array | undefined): void {
    const plan = planMigration(this.router.map, BinMap.fromOwners(owners, this.P), this.m.strategy, { order: this.m.order, replicate: this.m.replicate }, binRate ? { binRate } : {});
    if (plan.steps.length > 0) this.router.start(plan, { gapMs: this.m.gapMs, replicaLeadSteps: this.m.replicaLeadSteps });
  }

  private handle(out: { outgoing: StateMsg[]; installed: { bin: number }[] }, t: number): void {
    for (const msg of out.outgoing) {
      // The old owner exports after serving everything before the marker, then the state travels.
      const exported = this.work(msg.from, Math.max(t, this.lastFinish[msg.from]), (entryCount(msg.entries) * this.m.entryCostUs) / 1000);
      this.pending.push({ at: exported + (msg.bytes / this.m.bandwidthBytesPerSec) * 1000, msg });
    }
    for (const ack of out.installed) this.router.onInstalled(ack as never, t);
  }

  /** Installs every state message due by `t` (in delivery order), serving replayed records. Never changes the epoch. */
  deliverDue(t: number): void {
    while (this.pending.length > 0) {
      let k = 0;
      for (let i = 1; i < this.pending.length; i++) if (this.pending[i].at < this.pending[k].at) k = i;
      const { at, msg } = this.pending[k];
      if (at > t) return;
      this.pending.splice(k, 1);
      // a standby copy is only kept on arrival; installing a delta decodes the copy and the delta
      const entries = msg.kind === 'replica' ? 0 : entryCount(msg.entries) + (msg.kind === 'delta' ? this.endpoints[msg.to].replicaEntries(msg.bin) : 0);
      const installedAt = this.work(msg.to, at, (entries * this.m.entryCostUs) / 1000);
      this.replayAt = installedAt;
      this.replayWorker = msg.to;
      const out = this.endpoints[msg.to].onState(msg);
      this.replayAt = Number.NaN;
      this.handle(out, installedAt);
      // The next step is released by step() at the next batch boundary, never while a batch routed
      // with the current map is being applied.
    }
  }

  /** Once per slide: plan the moves the partitioner's choices ask for (when no plan runs). */
  onSlideEnd(): void {
    const target = this.prefs.takeTarget(this.router.map, this.m.minShare, this.m.minRecords);
    if (target && !this.router.migrating && this.scheduleIdx >= this.schedule.length) this.start(target.owners, target.binRate);
    // The plan's first step is released by step() at the next batch boundary.
  }

  /** Completes every migration in flight (the job's end). */
  drain(t: number): void {
    let now = t;
    for (let guard = 0; guard < 1_000_000 && (this.pending.length > 0 || this.router.migrating); guard++) {
      this.step(now);
      if (this.pending.length === 0) {
        if (!this.router.migrating) break;
        now += 1; // a gap between steps
        continue;
      }
      now = Math.max(now, ...this.pending.map((p) => p.at));
      this.deliverDue(now);
    }
  }

  /** Final per-key state: every key lives at exactly one worker. */
  finalState(): Array<[number, unknown]> {
    const all = new Map<number, unknown>();
    for (const st of this.stores)
      for (const [key, out] of st.snapshot()) {
        if (all.has(key)) throw new InvariantError(`key ${key} has state on two workers after migration`, { key });
        all.set(key, out);
      }
    return [...all].sort((a, b) => a[0] - b[0]);
  }

  appliedPerWorker(): number[] {
    return [...this.applied];
  }
}

/**
 * The reducer slots on the virtual clock. Each reducer is a FIFO server of `reducerCapacity` units/s
 * with a queue of `reducerQueue` partials; merging one partial costs `mergeCost` units. At a window
 * close every combiner's partials arrive when that combiner finished emitting them, and reducers take
 * them in that order. A partial that finds its reducer's queue full waits, and so does its combiner.
 */
class VirtualMergeStage {
  private readonly ring: Float64Array;
  private readonly pos: Int32Array;
  private readonly count: Float64Array;
  private readonly last: Float64Array;
  private readonly ahead = new Map<number, Float64Array>(); // slide -> [busy(R), merged(R)]
  /** Partials of the closing window per (combiner, reducer), and when each combiner finished emitting. */
  private readonly pending: Int32Array;
  private readonly emitAt: Float64Array;
  private readonly order: number[] = [];
  /** Latest finish time of any reducer. */
  lastFinish = 0;

  constructor(
    private readonly m: MergeStage,
    P: number,
    private readonly R: number,
    private readonly slideMs: number,
  ) {
    this.ring = new Float64Array(R * m.reducerQueue <= 1 << 24 ? R * m.reducerQueue : 0);
    this.pos = new Int32Array(R);
    this.count = new Float64Array(R);
    this.last = new Float64Array(R);
    this.pending = new Int32Array(P * R);
    this.emitAt = new Float64Array(P);
  }

  /** Reducer queues are modelled unless they are too large to matter (or merging is free). */
  private get bounded(): boolean {
    return this.ring.length > 0;
  }

  private perPartial(r: number): number {
    const c = this.m.reducerCapacity[r];
    return c === Infinity || this.m.mergeCost === 0 ? 0 : (this.m.mergeCost * 1000) / c;
  }

  /** Starts a window close. */
  beginClose(): void {
    this.pending.fill(0);
    this.order.length = 0;
  }

  /** Combiner w sends n partials to reducer r in the closing window. */
  countPartials(w: number, r: number, n: number): void {
    this.pending[w * this.R + r] += n;
  }

  /** Combiner w finished emitting its partials at `t`. */
  emitted(w: number, t: number): void {
    this.emitAt[w] = t;
    this.order.push(w);
  }

  /** Serves the closing window's partials; `blockedUntil(w, until, from)` is called for a combiner that waited. */
  deliver(blockedUntil: (w: number, until: number, from: number) => void): void {
    const Q = this.m.reducerQueue;
    const order = this.order.sort((a, b) => this.emitAt[a] - this.emitAt[b] || a - b);
    for (const w of order) {
      const at = this.emitAt[w];
      let free = at;
      for (let r = 0; r < this.R; r++) {
        const n = this.pending[w * this.R + r];
        const per = this.perPartial(r);
        if (n === 0 || per === 0) continue; // merging is free: no time, no queue
        for (let i = 0; i < n; i++) {
          let arrival = free;
          if (this.bounded && this.count[r] >= Q) {
            const freeAt = this.ring[r * Q + this.pos[r]];
            if (freeAt > arrival) arrival = freeAt;
          }
          free = arrival;
          const start = arrival > this.last[r] ? arrival : this.last[r];
          const fin = start + per;
          this.last[r] = fin;
          if (fin > this.lastFinish) this.lastFinish = fin;
          if (this.bounded) {
            this.ring[r * Q + this.pos[r]] = fin;
            this.pos[r] = this.pos[r] + 1 === Q ? 0 : this.pos[r] + 1;
            this.count[r]++;
          }
          this.addBusy(r, start, fin);
        }
      }
      if (free > at) blockedUntil(w, free, at);
    }
  }

  private slot(s: number): Float64Array {
    let a = this.ahead.get(s);
    if (!a) {
      a = new Float64Array(2 * this.R);
      this.ahead.set(s, a);
    }
    return a;
  }

  private addBusy(r: number, start: number, fin: number): void {
    let from = start;
    const s1 = Math.floor(fin / this.slideMs);
    for (let s0 = Math.floor(start / this.slideMs); s0 <= s1; s0++) {
      const to = Math.min(fin, (s0 + 1) * this.slideMs);
      this.slot(s0)[r] += to - from;
      from = to;
    }
    this.slot(s1)[this.R + r]++;
  }

  /** Moves slide s's reducer figures into `acc`. */
  finishSlide(s: number, acc: SlideAccumulator): void {
    const a = this.ahead.get(s);
    const end = (s + 1) * this.slideMs;
    const Q = this.m.reducerQueue;
    for (let r = 0; r < this.R; r++) {
      acc.reducerBusyMs[r] = a ? a[r] : 0;
      acc.reducerMerged[r] = a ? a[this.R + r] : 0;
      let q = 0;
      if (this.bounded) {
        const n = Math.min(Q, this.count[r]);
        for (let i = 1; i <= n; i++) {
          if (this.ring[r * Q + ((this.pos[r] - i + Q) % Q)] > end) q++;
          else break;
        }
      }
      acc.reducerQueue[r] = q;
    }
    this.ahead.delete(s);
  }
}
