// The real clock's main thread: source, partitioner, per-worker credit-based channels, window bookkeeping, metrics.
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../common/threads.js';
import { InvariantError } from '../../common/errors.js';
import { MetricsCollector, SlideAccumulator } from '../metrics/collector.js';
import { LogHistogram } from '../metrics/histogram.js';
import { SplitTracker } from '../split-tracker.js';
import type { HiddenCostSpec } from '../cluster.js';
import { freeMergeStage, type EngineParams, type JobParts, type RunHooks, type RunResult } from '../types.js';
import { paneOf, panesPerWindow } from '../window.js';
import type { FromThread, OperatorSpec, ThreadInit, ToThread } from './messages.js';
import { BinPreferences } from '../keyed.js';
import { BinMap, MigrationRouter, createBinning, planMigration, warmMigrationPath } from '../migration/index.js';
import { costScratch, fillCosts, routeBatch } from '../route-batch.js';

/** Extra parameters of the real clock. */
export interface RealParams extends EngineParams {
  /** Worker threads T hosting the P logical workers (worker w on thread w mod T). */
  readonly threads: number;
  /** Records per channel batch (default 512). */
  readonly batchSize?: number;
  /** How a thread builds the task operator. */
  readonly operator: OperatorSpec;
  /** A slide is published once every thread reported it, or this many ms after it ended (default 250). */
  readonly graceMs?: number;
  /** V8 young-generation limit of each worker thread, MB (job config `threadYoungGenMb`). Default: V8's. */
  readonly threadYoungGenMb?: number;
  /**
   * The spec `hiddenCost` was drawn from: the threads rebuild the factors from it instead of receiving
   * them (set by `runJob`). Absent with `hiddenCost` set: the factors are copied to every thread.
   */
  readonly hiddenCostSpec?: { readonly numKeys: number; readonly spec: HiddenCostSpec; readonly jobSeed: number };
}

const CHUNK = 1024;
const FLUSH_MS = 2;

/**
 * Runs a job on the real clock: worker threads and the wall clock. Records travel in batches of typed
 * arrays (transferred, not copied) over per-worker channels bounded by credits (queueCapacity records);
 * the source waits when a channel has no credit, which lowers the achieved rate (backpressure).
 * Window-close and epoch markers follow the batches FIFO on every channel. Reducer r runs on thread
 * r mod T: combiners send it their partials thread to thread over credit-bounded channels (a full
 * reducer queue blocks the combiner, whose record queue then blocks the source), and it sends the
 * merged results here for the sink. Every slide is published exactly once with P workers and R
 * reducers; a thread that did not report in time counts as idle.
 */
export async function runReal<P>(params: RealParams, parts: JobParts<P>, hooks: RunHooks = {}): Promise<RunResult> {
  const { P, R, slideMs, window } = params;
  const { partitioner, op, workload, sink, clock, pull } = parts;
  const T = Math.max(1, Math.min(params.threads, P));
  const B = Math.max(1, Math.min(params.batchSize ?? 512, params.queueCapacity));
  // Credits count records, as the virtual clock's queues do: a worker has at most queueCapacity records
  // sent and not yet started (a batch is never larger: B <= queueCapacity).
  const Q = params.queueCapacity;
  const grace = params.graceMs ?? 250;
  const k = panesPerWindow(window);
  const needsOutput = sink.needsOutput !== false;

  const collector = new MetricsCollector(P, slideMs, R);
  if (partitioner.onSlide) collector.subscribe((r) => partitioner.onSlide!(r));
  if (hooks.onSlide) collector.subscribe(hooks.onSlide);
  const merge = params.merge ?? freeMergeStage(R);
  const tracker = partitioner.splitsKeys && op.kind === 'windowed' ? new SplitTracker(workload.numKeys, window) : undefined;
  // Keyed-state migration (global tasks): bin-owner routing, markers in-band, state sent thread to thread.
  const mig = op.kind === 'global' && params.migration ? params.migration : undefined;
  const binning = mig ? createBinning({ binBits: mig.binBits }) : undefined;
  const mrouter = binning ? new MigrationRouter(binning, P) : undefined;
  // Compile the router's migration path (planner, coordinator, map changes) before the first migration.
  if (binning) warmMigrationPath(op, binning);
  const prefs = binning ? new BinPreferences(binning.numBins, P) : undefined;
  const schedule = params.migrationSchedule ?? [];
  let scheduleIdx = 0;

  let t0 = performance.now();
  const elapsed = (): number => performance.now() - t0;
  const entry = new URL(import.meta.url.endsWith('.ts') ? './thread.ts' : './thread.js', import.meta.url);
  const threads: Worker[] = [];
  const hostOf = (w: number): number => w % T;
  let failure: Error | undefined;
  let wakeAll: (() => void) | undefined;
  const wake = (): void => {
    const f = wakeAll;
    wakeAll = undefined;
    f?.();
  };

  // Per-slide accumulators: main-side counts plus thread reports. What arrives for a slide already
  // published (a thread's report after the grace, a main-side count of a turn that straddled the
  // publication) goes to the first unpublished slide: every record is counted in exactly one report.
  const accs = new Map<number, { acc: SlideAccumulator; reported: Set<number> }>();
  let published = -1;
  const accOf = (slide: number) => {
    const s = slide > published ? slide : published + 1;
    let a = accs.get(s);
    if (!a) accs.set(s, (a = { acc: new SlideAccumulator(P, R), reported: new Set() }));
    return a;
  };
  let lastVersion = partitioner.stats().tableVersion;
  let epochs = 0;
  const publishReady = (force: boolean, through = Infinity): void => {
    for (;;) {
      const s = published + 1;
      if (s > through) return;
      const end = (s + 1) * slideMs;
      const a = accs.get(s);
      const complete = a !== undefined && a.reported.size === T;
      if (!complete && !(force || elapsed() >= end + grace)) return;
      if (!force && elapsed() < end) return;
      const { acc } = accOf(s);
      accs.delete(s);
      collector.publish(s, acc, params.rate.rateAt(s * slideMs), partitioner.stats());
      published = s;
      const v = partitioner.stats().tableVersion;
      if (v !== lastVersion) {
        lastVersion = v;
        epochs++;
        pendingEpoch = v;
      }
    }
  };
  let pendingEpoch: number | undefined;

  // Channels.
  const bufKeys: Int32Array[] = [];
  const bufPayloads: Int32Array[] = [];
  const bufTimes: Float64Array[] = [];
  const fill = new Int32Array(P);
  const bufEpoch = new Int32Array(P);
  const inflight = new Int32Array(P); // records sent to worker w and not yet started there
  // Batch arrays travel to the thread (transferred) and come back with the credit, to be refilled.
  const spare: Array<{ keys: Int32Array; payloads: Int32Array; times: Float64Array }> = [];
  const newBuffers = (w: number): void => {
    const b = spare.pop();
    bufKeys[w] = b?.keys ?? new Int32Array(B);
    bufPayloads[w] = b?.payloads ?? new Int32Array(B);
    bufTimes[w] = b?.times ?? new Float64Array(B);
  };
  for (let w = 0; w < P; w++) newBuffers(w);
  const post = (th: number, m: ToThread, transfer: Array<ArrayBuffer | MessagePort> = []): void => threads[th].postMessage(m, transfer);

  const noCredit = (w: number, n: number): boolean => inflight[w] > 0 && inflight[w] + n > Q;
  const waitCredit = async (w: number, n: number): Promise<void> => {
    const b0 = performance.now();
    while (noCredit(w, n) && !failure) await new Promise<void>((res) => (wakeAll = res));
    const blocked = performance.now() - b0;
    accOf(Math.floor(elapsed() / slideMs)).acc.sourceBackpressuredMs += blocked;
    if (failure) throw failure;
  };
  const flush = async (w: number): Promise<void> => {
    const n = fill[w];
    if (n === 0) return;
    if (noCredit(w, n)) await waitCredit(w, n);
    const keys = bufKeys[w];
    const payloads = bufPayloads[w];
    const times = bufTimes[w];
    newBuffers(w);
    fill[w] = 0;
    inflight[w] += n;
    post(hostOf(w), { type: 'batch', w, n, epoch: bufEpoch[w], keys, payloads, times }, [keys.buffer as ArrayBuffer, payloads.buffer as ArrayBuffer, times.buffer as ArrayBuffer]);
  };
  const flushAll = async (): Promise<void> => {
    for (let w = 0; w < P; w++) await flush(w);
  };

  // Window closes: every channel gets the marker after the window's records. A window is complete once
  // its P combiner emissions and R reducer results arrived.
  let closedThrough = -Infinity;
  const emissionsPending = new Map<number, { left: number; forwarded: number; partials: number; merged: number }>(); // by windowStart
  const closeThrough = async (lastPane: number): Promise<void> => {
    if (op.kind !== 'windowed') {
      closedThrough = lastPane;
      return;
    }
    if (closedThrough >= lastPane) return;
    await flushAll();
    for (let lp = closedThrough + 1; lp <= lastPane; lp++) {
      const split = partitioner.splitsKeys ? (tracker ? tracker.splitKeys(lp) : ('all' as const)) : new Int32Array(0);
      emissionsPending.set((lp - k + 1) * window.slideMs, { left: P + R, forwarded: 0, partials: 0, merged: 0 });
      for (let th = 0; th < T; th++) post(th, { type: 'close', lastPane: lp, split, needsOutput });
    }
    closedThrough = lastPane;
  };

  // At-least-once for an external source: records are committed once their outputs are flushed.
  let commitTarget = -Infinity;
  let committing: Promise<void> | undefined;
  const requestCommit = (pane: number): void => {
    if (!pull || pane <= commitTarget) return;
    commitTarget = pane;
    if (committing) return;
    committing = (async () => {
      try {
        for (let done = -Infinity; done < commitTarget && !failure; ) {
          const target = commitTarget;
          await sink.flush?.();
          await pull.processedThrough(target);
          done = target;
        }
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
        wake();
      } finally {
        committing = undefined;
      }
    })();
  };

  let mergedPartials = 0;
  const runLatency = new LogHistogram();
  const combinerRecords = new Array<number>(P).fill(0);
  const finalState = new Map<number, P>();
  let doneThreads = 0;
  const onMessage = (m: FromThread): void => {
    switch (m.type) {
      case 'credit': {
        inflight[m.w] -= m.records;
        const b = m.buffers;
        if (b && b.keys.length === B && b.payloads.length === B && b.times.length === B) spare.push(b);
        wake();
        return;
      }
      case 'emission':
      case 'reduced': {
        const win = emissionsPending.get(m.windowStart);
        if (!win) {
          failure ??= new InvariantError(`window ${m.windowStart} emitted more than P + R times or never closed`, { windowStart: m.windowStart, from: m.type });
          wake();
          return;
        }
        if (m.type === 'emission') {
          for (const [key, out] of m.forwarded) sink.window(m.windowStart, key, out, false);
          let sent = 0;
          for (const n of m.sent) sent += n;
          mergedPartials += sent;
          win.forwarded += m.forwarded.length;
          win.partials += sent;
        } else {
          for (const [key, out] of m.results) sink.window(m.windowStart, key, out, true);
          win.merged += m.results.length;
        }
        if (--win.left > 0) return;
        emissionsPending.delete(m.windowStart);
        const distinct = win.forwarded + win.merged;
        if (distinct > 0) accOf(Math.floor(elapsed() / slideMs)).acc.replication = (win.forwarded + win.partials) / distinct;
        // Windows complete in order (every combiner and reducer emits them in order), so every record
        // taken in a pane up to this window's first pane is now in completed windows only.
        requestCommit(Math.round(m.windowStart / window.slideMs));
        return;
      }
      case 'metrics': {
        const a = accOf(m.slide);
        for (const raw of m.workers) {
          a.acc.processed[raw.w] += raw.processed;
          a.acc.busyMs[raw.w] += raw.busyMs;
          a.acc.backpressuredMs[raw.w] += raw.backpressuredMs;
          a.acc.queueLength[raw.w] = raw.queueLength;
          if (raw.latency.length > 0) {
            a.acc.latency[raw.w].addSparse(raw.latency, raw.latencyMax);
            runLatency.addSparse(raw.latency, raw.latencyMax);
          }
        }
        for (const raw of m.reducers) {
          a.acc.reducerBusyMs[raw.r] += raw.busyMs;
          a.acc.reducerMerged[raw.r] += raw.merged;
          a.acc.reducerQueue[raw.r] = raw.queueLength;
        }
        if (m.slide > published) a.reported.add(m.thread); // a late report does not complete the next slide
        publishReady(false);
        return;
      }
      case 'state':
        for (const [key, enc] of m.entries) {
          const st = op.decode(enc);
          const prev = finalState.get(key);
          if (prev === undefined) finalState.set(key, st);
          else op.merge(prev, st);
        }
        return;
      case 'done':
        doneThreads++;
        m.records.forEach((n, i) => (combinerRecords[i * T + m.thread] = n));
        wake();
        return;
      case 'error':
        failure = new InvariantError(`worker thread failed: ${m.message}`, { stack: m.stack });
        wake();
        return;
      case 'ready':
        wake();
        return;
      case 'migration.installed':
        mrouter!.onInstalled(m.ack, elapsed());
        wake();
        return;
    }
  };
  /** Releases due migration steps: flush every channel, then the marker after them on every channel. */
  const releaseMarkers = async (now: number): Promise<void> => {
    if (!mrouter) return;
    while (scheduleIdx < schedule.length && schedule[scheduleIdx].atMs <= now && !mrouter.migrating) {
      const req = schedule[scheduleIdx++];
      const owners = typeof req.owners === 'function' ? req.owners(mrouter.map) : req.owners;
      const plan = planMigration(mrouter.map, BinMap.fromOwners(owners, P), mig!.strategy, { order: mig!.order, replicate: mig!.replicate });
      if (plan.steps.length > 0) mrouter.start(plan, { gapMs: mig!.gapMs, replicaLeadSteps: mig!.replicaLeadSteps });
    }
    for (;;) {
      const marker = mrouter.poll(now);
      if (!marker) return;
      await flushAll();
      for (let th = 0; th < T; th++) post(th, { type: 'marker', epoch: marker.epoch, moves: marker.moves, replicas: marker.replicas ?? [] });
    }
  };
  let prefSlide = 0;

  const capacity = Array.from(params.capacity);
  // Each (combiner, reducer) channel gets an equal share of the reducer's queue, at least one partial.
  const channelCredits = Math.max(1, Math.min(1 << 30, Math.floor(merge.reducerQueue / P)));
  const cluster = params.cluster ? { spec: params.cluster.spec, jobSeed: params.cluster.jobSeed } : undefined;
  const hiddenCost = params.hiddenCostSpec ?? (params.hiddenCost ? { factors: params.hiddenCost } : undefined);
  let ready = 0;
  for (let th = 0; th < T; th++) {
    const workers: number[] = [];
    for (let w = th; w < P; w += T) workers.push(w);
    const hostedReducers: number[] = [];
    for (let r = th; r < R; r += T) hostedReducers.push(r);
    const init: ThreadInit = {
      thread: th,
      threads: T,
      workers,
      P,
      R,
      window,
      slideMs,
      capacity: workers.map((w) => capacity[w]),
      operator: params.operator,
      migrationBinBits: mig?.binBits,
      reducers: hostedReducers,
      merge: { emitCost: merge.emitCost, mergeCost: merge.mergeCost, reducerCapacity: Array.from(merge.reducerCapacity), channelCredits },
      ...(cluster ? { cluster } : {}),
      ...(hiddenCost ? { hiddenCost } : {}),
    };
    const worker = startModuleWorker(entry, init, { youngGenerationMb: params.threadYoungGenMb });
    worker.on('message', (m: FromThread) => {
      if (m.type === 'ready') ready++;
      onMessage(m);
    });
    worker.on('error', (e) => {
      failure = e instanceof Error ? e : new Error(String(e));
      wake();
    });
    threads.push(worker);
  }
  while (ready < T && !failure) await new Promise<void>((res) => (wakeAll = res));
  if (failure) {
    await Promise.all(threads.map((w) => w.terminate()));
    throw failure;
  }

  // A MessageChannel per pair of threads: migrating state goes straight from the old owner's thread to
  // the new owner's (the router only sees install acks), and partials from a combiner's thread to its
  // reducer's (the router only sees merged results).
  if (T > 1 && (mrouter || op.kind === 'windowed')) {
    const ports: Array<Array<MessagePort | null>> = Array.from({ length: T }, () => new Array<MessagePort | null>(T).fill(null));
    for (let a = 0; a < T; a++)
      for (let b = a + 1; b < T; b++) {
        const ch = new MessageChannel();
        ports[a][b] = ch.port1;
        ports[b][a] = ch.port2;
      }
    for (let th = 0; th < T; th++) post(th, { type: 'peers', ports: ports[th] }, ports[th].filter((p): p is MessagePort => p !== null));
  }

  t0 = performance.now();
  for (let th = 0; th < T; th++) post(th, { type: 'start', t0Epoch: performance.timeOrigin + t0 });
  // The deadline check runs after the event loop's poll phase (setImmediate): when this thread was
  // blocked past a deadline, the reports the threads sent meanwhile are handled before it, not after.
  let ticking = true;
  const ticker = setInterval(() => setImmediate(() => ticking && publishReady(false)), Math.max(5, Math.min(50, slideMs / 4)));
  const keys = new Int32Array(CHUNK);
  const payloads = new Int32Array(CHUNK);
  const dest = new Int32Array(CHUNK);
  const costs = costScratch(partitioner, CHUNK);
  let records = 0;
  let curPane = Number.NaN;
  let tokens = 0;
  let lastTick = 0;
  let lastFlush = 0;
  let nextProgress = 0;
  const wall0 = performance.now();

  try {
    for (;;) {
      if (failure) throw failure;
      let now = elapsed();
      if (now >= params.durationMs || records >= params.maxRecords || hooks.shouldStop?.()) break;
      if (pendingEpoch !== undefined) {
        await flushAll();
        for (let th = 0; th < T; th++) post(th, { type: 'epoch', version: pendingEpoch });
        pendingEpoch = undefined;
      }
      const rate = params.rate.rateAt(now);
      let n = CHUNK;
      if (rate !== Infinity) {
        // Up to 100 ms of records: a source that was kept from running (another process had the core,
        // a GC pause) catches up instead of losing them, which the ramp would read as backpressure.
        tokens = Math.min(tokens + ((now - lastTick) * rate) / 1000, Math.max(1, rate / 10));
        lastTick = now;
        n = Math.min(CHUNK, Math.floor(tokens));
        if (n === 0) {
          if (now - lastFlush >= FLUSH_MS) {
            await flushAll();
            lastFlush = now;
          }
          await new Promise((res) => setTimeout(res, Math.max(1, Math.ceil((1000 / rate) * 1))));
          continue;
        }
      }
      n = Math.min(n, params.maxRecords - records);
      clock.nowMs = now;
      if (mrouter) {
        const sl = Math.floor(now / slideMs);
        if (sl > prefSlide) {
          prefSlide = sl;
          const target = prefs!.takeTarget(mrouter.map, mig!.minShare, mig!.minRecords);
          if (target && !mrouter.migrating && scheduleIdx >= schedule.length) {
            const plan = planMigration(mrouter.map, BinMap.fromOwners(target.owners, P), mig!.strategy, { order: mig!.order, replicate: mig!.replicate }, { binRate: target.binRate });
            if (plan.steps.length > 0) mrouter.start(plan, { gapMs: mig!.gapMs, replicaLeadSteps: mig!.replicaLeadSteps });
          }
        }
        await releaseMarkers(now);
      }
      if (sink.backlogged) {
        const b0 = performance.now();
        await sink.flush!();
        accOf(Math.floor(elapsed() / slideMs)).acc.sourceBackpressuredMs += performance.now() - b0;
      }
      const pane = paneOf(now, window.slideMs);
      if (pane !== curPane) {
        if (Number.isNaN(curPane)) closedThrough = pane - 1;
        else await closeThrough(pane - 1);
        curPane = pane;
        tracker?.startPane(pane);
      }
      const got = pull ? pull.take(keys, payloads, n, pane) : workload.fill(keys, payloads, 0, n, now);
      if (got === 0) {
        if (!pull || pull.ended) break;
        // Nothing to read yet: ship what is buffered, then wait (windows still close on time above).
        await flushAll();
        lastFlush = elapsed();
        await pull.wait(FLUSH_MS * 2);
        continue;
      }
      if (rate !== Infinity) tokens -= got;
      const slide = Math.floor(now / slideMs);
      const acc = accOf(slide).acc;
      fillCosts(op, payloads, got, costs);
      const r0 = process.hrtime.bigint();
      routeBatch(partitioner, keys, got, dest, costs);
      acc.routeNsTotal += Number(process.hrtime.bigint() - r0);
      if (mrouter) {
        for (let i = 0; i < got; i++) {
          prefs!.note(binning!.binOf(keys[i]), dest[i]);
          dest[i] = mrouter.route(keys[i]);
        }
      }
      const epochNow = mrouter ? mrouter.epoch : 0;
      acc.routeCalls += got;
      acc.emitted += got;
      for (let i = 0; i < got; i++) {
        const w = dest[i];
        const key = keys[i];
        tracker?.note(key, w);
        acc.routed[w]++;
        acc.recordsIn[w]++;
        let f = fill[w];
        if (f === B) {
          await flush(w);
          f = 0;
        }
        bufEpoch[w] = epochNow;
        bufKeys[w][f] = key;
        bufPayloads[w][f] = payloads[i];
        bufTimes[w][f] = now;
        fill[w] = f + 1;
        if (hooks.recordInput) {
          hooks.recordInput.keys.push(key);
          hooks.recordInput.payloads.push(payloads[i]);
          hooks.recordInput.times.push(now);
        }
      }
      records += got;
      const t = elapsed();
      if (t - lastFlush >= FLUSH_MS) {
        await flushAll();
        lastFlush = t;
      }
      if (hooks.onProgress) {
        const f = Math.min(1, Math.max(records / params.maxRecords, t / params.durationMs));
        if (f >= nextProgress) {
          hooks.onProgress(f, records);
          nextProgress = f + 0.01;
        }
      }
      await new Promise((res) => setImmediate(res));
    }
    // Drain: close the last windows, tell every thread to finish, wait for all of them.
    await flushAll();
    if (!Number.isNaN(curPane)) await closeThrough(curPane + k - 1);
    // Finish every migration in flight (steps are released as installs are acked).
    while (mrouter?.migrating && !failure) {
      await releaseMarkers(elapsed());
      if (!mrouter.migrating) break;
      await new Promise<void>((res) => {
        wakeAll = res;
        setTimeout(res, 5);
      });
    }
    for (let th = 0; th < T; th++) post(th, { type: 'finish' });
    while (doneThreads < T && !failure) await new Promise<void>((res) => (wakeAll = res));
    if (failure) throw failure;
    ticking = false;
    publishReady(true, Math.floor(elapsed() / slideMs));
    if (emissionsPending.size > 0) throw new InvariantError('windows left unmerged after drain', { windows: [...emissionsPending.keys()] });
    if (op.kind === 'global') for (const [key, st] of [...finalState].sort((a, b) => a[0] - b[0])) sink.finalState(key, op.output(st));
    // Everything is processed and output: flush the sink, then let the source commit all it handed over.
    await committing;
    if (failure) throw failure;
    await sink.flush?.();
    await pull?.processedThrough(Infinity);
  } finally {
    clearInterval(ticker);
    await Promise.all(threads.map((w) => w.terminate()));
  }
  hooks.onProgress?.(1, records);
  return {
    records,
    eventTimeMs: elapsed(),
    wallMs: performance.now() - wall0,
    reports: collector.reports,
    epochs,
    mergedPartials,
    combinerRecords,
    migrations: mrouter ? mrouter.summaries() : [],
    latency: runLatency,
  };
}
