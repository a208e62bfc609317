// A worker thread hosting some logical workers and reducers: per-worker FIFO queues, slot-capacity
// emulation at each worker's speed, reducer slots fed by credit-bounded channels, metrics.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { TaskOperator } from '../../tasks/types.js';
import { ClusterModel, hiddenCostFactors } from '../cluster.js';
import { Combiner } from '../combiner.js';
import { LogHistogram } from '../metrics/histogram.js';
import { Reducer } from '../reducer.js';
import type { FromThread, PartialsChunk, PeerMessage, ReducerSlideRaw, ThreadInit, ToThread, WorkerSlideRaw } from './messages.js';
import { BinMap, KeyedStateStore, MigrationEndpoint, createBinning, isPacked, warmMigrationPath, type EndpointOutput, type StateMsg } from '../migration/index.js';

/** A queued item and when it reached this thread (ms since job start): a slot starts it no earlier. */
interface Item {
  readonly m: ToThread;
  readonly at: number;
}

/** A window emission in progress: its partials leave once the emit cost is paid, as credits allow. */
interface Emission {
  readonly windowStart: number;
  readonly forwarded: Array<[number, unknown]>;
  /** Encoded partials per reducer. */
  readonly lists: Array<Array<[number, unknown]>>;
  /** Next partial to send per reducer; -1 once the chunk with the marker went. */
  readonly pos: Int32Array;
  readonly needsOutput: boolean;
  /** End of the emission's slot time: partials leave from then on. */
  readonly releaseAt: number;
  /** Since when the combiner waits for credits (NaN: not waiting). */
  blockedFrom: number;
}

interface Hosted {
  readonly w: number;
  readonly combiner: Combiner<unknown>;
  readonly queue: Item[];
  head: number;
  queuedRecords: number;
  /** ms since job start until which the emulated slot is busy. */
  busyUntil: number;
  /** ms per cost unit at speed 1 (0 = unlimited capacity). */
  readonly msPerUnit: number;
  readonly hist: LogHistogram;
  finished: boolean;
  /** Credits per reducer: partials this worker may still have queued there. */
  readonly credits: Int32Array;
  emitting?: Emission;
  /** Keyed-state migration endpoint and its store (global tasks with migration). */
  endpoint?: MigrationEndpoint<unknown>;
  store?: KeyedStateStore<unknown>;
}

/** A reducer slot: FIFO over the chunks it received, `mergeCost` units per partial at its capacity. */
interface HostedReducer {
  readonly r: number;
  readonly reducer: Reducer<unknown>;
  readonly queue: Array<{ readonly c: PartialsChunk; readonly at: number; off: number }>;
  head: number;
  /** Partials received and not yet in service. */
  waiting: number;
  busyUntil: number;
  /** Emulated ms per merged partial (0 = free or unlimited). */
  readonly perPartialMs: number;
  /** The service step running: its partials' credits go back to `w` when it ends, then the marker (if any) counts. */
  inService?: { readonly w: number; readonly n: number; readonly marker?: PartialsChunk };
}

/** Partials per chunk sent to a reducer, and per reducer service step (credits come back per step). */
const MAX_CHUNK = 256;
const SERVICE_STEP = 32;

const init = workerData as ThreadInit;
const port = parentPort!;
const send = (m: FromThread): void => port.postMessage(m);
let t0Epoch = Number.NaN;
const now = (): number => performance.timeOrigin + performance.now() - t0Epoch;

const mod = (await import(init.operator.module)) as Record<string, (args: unknown) => TaskOperator<unknown>>;
const op = mod[init.operator.factory](init.operator.args);

const hosted: Hosted[] = init.workers.map((w, i) => ({
  w,
  combiner: new Combiner<unknown>(w, op, init.window, init.R),
  queue: [],
  head: 0,
  queuedRecords: 0,
  busyUntil: 0,
  msPerUnit: init.capacity[i] === Infinity ? 0 : 1000 / init.capacity[i],
  hist: new LogHistogram(),
  finished: false,
  credits: new Int32Array(init.R).fill(init.merge.channelCredits),
}));
const byWorker = new Map(hosted.map((h) => [h.w, h]));

// Worker speeds and hidden key costs, rebuilt from their specs: the same factors as the main thread's.
const cluster = init.cluster ? new ClusterModel(init.P, init.slideMs, init.cluster.spec, init.cluster.jobSeed) : undefined;
const hidden = init.hiddenCost ? ('factors' in init.hiddenCost ? init.hiddenCost.factors : hiddenCostFactors(init.hiddenCost.numKeys, init.hiddenCost.spec, init.hiddenCost.jobSeed)) : undefined;
/** Emulated ms per cost unit of worker `h` for service that starts at `start` (the speed of that slide). */
function msPerUnitAt(h: Hosted, start: number): number {
  if (h.msPerUnit === 0 || !cluster) return h.msPerUnit;
  return h.msPerUnit / (cluster.dynamic ? cluster.factor(h.w, Math.floor(start / init.slideMs)) : cluster.base[h.w]);
}

const reducers: HostedReducer[] = init.reducers.map((r) => {
  const cap = init.merge.reducerCapacity[r];
  return {
    r,
    reducer: new Reducer<unknown>(r, op, init.P),
    queue: [],
    head: 0,
    waiting: 0,
    busyUntil: 0,
    perPartialMs: cap === Infinity || init.merge.mergeCost === 0 ? 0 : (init.merge.mergeCost * 1000) / cap,
  };
});
const byReducer = new Map(reducers.map((rd) => [rd.r, rd]));

// Keyed-state migration: one endpoint per hosted worker; buffered records remember their event time.
const waiting = new Map<number, number>(); // tag -> event time
let nextTag = 0;
let replaying: Hosted | undefined;
if (init.migrationBinBits !== undefined) {
  const binning = createBinning({ binBits: init.migrationBinBits });
  const map0 = BinMap.initial(binning.numBins, init.P);
  for (const h of hosted) {
    h.store = new KeyedStateStore<unknown>(op, binning.binOf);
    h.endpoint = new MigrationEndpoint<unknown>({
      worker: h.w,
      initialMap: map0,
      store: h.store,
      onApplied: (_key, _payload, tag) => {
        if (replaying === undefined) return;
        const t0 = waiting.get(tag);
        waiting.delete(tag);
        if (t0 !== undefined) replaying.hist.record((now() - t0) * 1000);
      },
    });
  }
  // Compile the migration path now, not during the job's first migration (docs/migration.md).
  warmMigrationPath(op, binning);
}
// State goes straight to the destination: to a hosted endpoint at once, else on the peer port of the
// destination's thread. Only install acks go to the router.
const peers: Array<MessagePort | null> = [];
const inbox: StateMsg[] = [];
let delivering = false;
function sendOutput(out: EndpointOutput): void {
  for (const msg of out.outgoing) {
    const th = msg.to % init.threads;
    if (th === init.thread) deliver(msg);
    else {
      // packed numbers (a numeric store's export) move their buffers instead of copying them
      const e = msg.entries;
      peers[th]!.postMessage({ type: 'state', msg } satisfies PeerMessage, isPacked(e) ? [e.keys.buffer as ArrayBuffer, e.values.buffer as ArrayBuffer] : []);
    }
  }
  for (const ack of out.installed) send({ type: 'migration.installed', ack });
}
/** Installs `msg` at its (hosted) endpoint; state produced meanwhile for hosted workers is queued, not nested. */
function deliver(msg: StateMsg): void {
  inbox.push(msg);
  if (delivering) return;
  delivering = true;
  const prev = replaying;
  try {
    for (let i = 0; i < inbox.length; i++) {
      const m = inbox[i];
      const h = byWorker.get(m.to)!;
      replaying = h;
      const out = h.endpoint!.onState(m);
      replaying = prev;
      sendOutput(out);
    }
  } finally {
    inbox.length = 0;
    replaying = prev;
    delivering = false;
  }
}

// Per slide: busy ms, processed records and blocked ms per hosted worker, busy ms and merged partials
// per hosted reducer (service may land in later slides).
interface SlideFigures {
  readonly busy: Float64Array;
  readonly processed: Float64Array;
  readonly blocked: Float64Array;
  readonly rBusy: Float64Array;
  readonly rMerged: Float64Array;
}
const bySlide = new Map<number, SlideFigures>();
const slot = (s: number): SlideFigures => {
  let a = bySlide.get(s);
  if (!a) {
    const H = hosted.length;
    const RH = reducers.length;
    bySlide.set(s, (a = { busy: new Float64Array(H), processed: new Float64Array(H), blocked: new Float64Array(H), rBusy: new Float64Array(RH), rMerged: new Float64Array(RH) }));
  }
  return a;
};

/** Adds [start, end) to `pick(slide)[i]`, split at slide boundaries; returns the slide of `end`. */
function spread(pick: (f: SlideFigures) => Float64Array, i: number, start: number, end: number): number {
  const S = init.slideMs;
  let s = Math.floor(start / S);
  const last = Math.floor(end / S);
  let from = start;
  for (; s <= last; s++) {
    const to = Math.min(end, (s + 1) * S);
    pick(slot(s))[i] += to - from;
    from = to;
  }
  return last;
}
function addBusy(i: number, start: number, end: number, records: number): void {
  slot(spread((f) => f.busy, i, start, end)).processed[i] += records;
}
function addReducerBusy(ri: number, start: number, end: number, merged: number): void {
  slot(spread((f) => f.rBusy, ri, start, end)).rMerged[ri] += merged;
}

let reportedThrough = -1;
function reportSlides(through: number): void {
  for (let s = reportedThrough + 1; s <= through; s++) {
    const a = bySlide.get(s);
    bySlide.delete(s);
    const workers: WorkerSlideRaw[] = hosted.map((h, i) => ({
      w: h.w,
      processed: a ? a.processed[i] : 0,
      busyMs: a ? a.busy[i] : 0,
      backpressuredMs: a ? a.blocked[i] : 0,
      queueLength: h.queuedRecords,
      latency: s === through ? h.hist.toSparse() : [],
      latencyMax: s === through ? h.hist.max : 0,
    }));
    const reds: ReducerSlideRaw[] = reducers.map((rd, ri) => ({
      r: rd.r,
      busyMs: a ? a.rBusy[ri] : 0,
      merged: a ? a.rMerged[ri] : 0,
      queueLength: rd.waiting + (rd.inService?.n ?? 0),
    }));
    if (s === through) for (const h of hosted) h.hist.reset();
    send({ type: 'metrics', thread: init.thread, slide: s, workers, reducers: reds });
  }
  reportedThrough = Math.max(reportedThrough, through);
}

// The merge stage. Partials for reducer r go to thread r mod T: straight into a hosted reducer's queue,
// else on the peer port of its thread. Each (combiner, reducer) channel holds `channelCredits` credits:
// a partial takes one until its merge ends (Flink's credit-based flow control, exclusive credits only).
function sendChunk(c: PartialsChunk): void {
  const th = c.r % init.threads;
  if (th === init.thread) receiveChunk(c);
  else peers[th]!.postMessage(c satisfies PeerMessage);
}
function receiveChunk(c: PartialsChunk): void {
  const rd = byReducer.get(c.r)!;
  rd.queue.push({ c, at: Number.isNaN(t0Epoch) ? 0 : now(), off: 0 });
  rd.waiting += c.entries.length;
}
function returnCredits(w: number, r: number, n: number): void {
  const th = w % init.threads;
  if (th === init.thread) byWorker.get(w)!.credits[r] += n;
  else peers[th]!.postMessage({ type: 'credit', w, r, n } satisfies PeerMessage);
}

/**
 * Sends what the credits allow of `h`'s emission (from its release on). Returns true once every
 * partial and marker went: the emission message then goes to the router, and the time the combiner
 * waited for credits counts as backpressured (not busy), its next records waiting meanwhile.
 */
function tryEmit(h: Hosted, i: number, t: number): boolean {
  const em = h.emitting!;
  if (t < em.releaseAt) return false;
  let pending = false;
  for (let r = 0; r < init.R; r++) {
    let p = em.pos[r];
    if (p < 0) continue;
    const list = em.lists[r];
    for (;;) {
      const left = list.length - p;
      const n = Math.min(left, h.credits[r], MAX_CHUNK);
      if (n === 0 && left > 0) break; // no credit: wait for the reducer
      const last = n === left;
      sendChunk({ type: 'partials', w: h.w, r, windowStart: em.windowStart, entries: p === 0 && last ? list : list.slice(p, p + n), last, needsOutput: em.needsOutput });
      h.credits[r] -= n;
      p = last ? -1 : p + n;
      if (last) break;
    }
    em.pos[r] = p;
    if (p >= 0) pending = true;
  }
  if (pending) {
    if (Number.isNaN(em.blockedFrom)) em.blockedFrom = em.releaseAt;
    return false;
  }
  if (!Number.isNaN(em.blockedFrom)) {
    spread((f) => f.blocked, i, em.blockedFrom, t);
    if (t > h.busyUntil) h.busyUntil = t; // the next record starts after the wait
  }
  h.emitting = undefined;
  send({ type: 'emission', w: h.w, windowStart: em.windowStart, forwarded: em.forwarded, sent: em.lists.map((l) => l.length) });
  return true;
}

/** Starts the next service step of reducer `rd` (decode and merge up to SERVICE_STEP partials). */
function serveReducer(rd: HostedReducer, ri: number, t: number): void {
  const q = rd.queue[rd.head];
  const c = q.c;
  const n = Math.min(c.entries.length - q.off, SERVICE_STEP);
  const start = q.at > rd.busyUntil ? q.at : rd.busyUntil;
  const c0 = performance.now();
  if (n > 0) {
    const parts = new Array<[number, unknown]>(n);
    for (let j = 0; j < n; j++) {
      const [key, enc] = c.entries[q.off + j];
      parts[j] = [key, op.decode(enc)];
    }
    rd.reducer.addPartials(c.windowStart, parts);
  }
  const cpu = performance.now() - c0;
  q.off += n;
  rd.waiting -= n;
  const done = q.off >= c.entries.length;
  if (done) {
    rd.queue[rd.head++] = undefined as never;
    if (rd.head > 1024 && rd.head * 2 > rd.queue.length) {
      rd.queue.splice(0, rd.head);
      rd.head = 0;
    }
  }
  if (n > 0) {
    const emulated = n * rd.perPartialMs;
    rd.busyUntil = start + (emulated > cpu ? emulated : cpu);
    addReducerBusy(ri, start, rd.busyUntil, n);
  }
  rd.inService = { w: c.w, n, marker: done && c.last ? c : undefined };
  if (rd.busyUntil <= t) endService(rd);
}

/** Ends `rd`'s service step: credits back to the sender; a marker may complete the window. */
function endService(rd: HostedReducer): void {
  const s = rd.inService!;
  rd.inService = undefined;
  if (s.n > 0) returnCredits(s.w, rd.r, s.n);
  if (s.marker) {
    const out = rd.reducer.marker(s.marker.windowStart, s.marker.needsOutput);
    if (out) send({ type: 'reduced', r: rd.r, windowStart: s.marker.windowStart, results: out });
  }
}

function processItem(h: Hosted, queued: Item, i: number): void {
  const item = queued.m;
  switch (item.type) {
    case 'batch': {
      // The slot starts the batch when it arrived or when the slot came free, whichever is later: late
      // timers do not lose slot time.
      const start = queued.at > h.busyUntil ? queued.at : h.busyUntil;
      const c0 = performance.now();
      let cost = 0;
      const { keys, payloads, times, n } = item;
      const ep = h.endpoint;
      let held: Uint8Array | undefined; // records waiting for their bin's state: their latency is taken at replay
      if (ep) {
        for (let j = 0; j < n; j++) {
          const tag = nextTag++;
          if (!ep.onRecord(item.epoch, keys[j], payloads[j], tag)) {
            waiting.set(tag, times[j]);
            (held ??= new Uint8Array(n))[j] = 1;
          }
          cost += hidden ? op.cost(payloads[j]) * hidden[keys[j]] : op.cost(payloads[j]);
        }
        h.combiner.records += n;
      } else
        for (let j = 0; j < n; j++) {
          h.combiner.add(keys[j], payloads[j], times[j]);
          cost += hidden ? op.cost(payloads[j]) * hidden[keys[j]] : op.cost(payloads[j]);
        }
      const cpu = performance.now() - c0;
      const emulated = cost * msPerUnitAt(h, start);
      const svc = emulated > cpu ? emulated : cpu;
      const end = start + svc;
      h.busyUntil = end;
      addBusy(i, start, end, n);
      // Records finish progressively over the service interval.
      if (held === undefined) for (let j = 0; j < n; j++) h.hist.record((start + (svc * (j + 1)) / n - times[j]) * 1000);
      else for (let j = 0; j < n; j++) if (held[j] === 0) h.hist.record((start + (svc * (j + 1)) / n - times[j]) * 1000);
      h.queuedRecords -= n;
      // Hand the arrays back with the credit: the router refills them, so no batch allocates new buffers
      // (fewer ArrayBuffers born and freed on both sides: less GC work and external-memory pressure).
      port.postMessage({ type: 'credit', w: h.w, records: n, buffers: { keys, payloads, times } } satisfies FromThread, [keys.buffer as ArrayBuffer, payloads.buffer as ArrayBuffer, times.buffer as ArrayBuffer]);
      return;
    }
    case 'close': {
      // Emitting costs emitCost units per partial (forwarded or to a reducer) of this worker's slot, at
      // its speed; the partials leave when that time is over.
      const start = queued.at > h.busyUntil ? queued.at : h.busyUntil;
      const c0 = performance.now();
      const em = h.combiner.closeWindow(item.lastPane, item.split, item.needsOutput);
      let parts = em.forwarded.length;
      const lists = em.toReducer.map((part) => {
        parts += part.length;
        return part.map(([k, p]) => [k, op.encode(p)] as [number, unknown]);
      });
      const cpu = performance.now() - c0;
      const emulated = parts * init.merge.emitCost * msPerUnitAt(h, start);
      const svc = parts === 0 ? 0 : emulated > cpu ? emulated : cpu;
      if (svc > 0) {
        h.busyUntil = start + svc;
        addBusy(i, start, h.busyUntil, 0);
      }
      h.emitting = { windowStart: em.windowStart, forwarded: em.forwarded, lists, pos: new Int32Array(init.R), needsOutput: item.needsOutput, releaseAt: start + svc, blockedFrom: Number.NaN };
      return;
    }
    case 'marker':
      if (h.endpoint) sendOutput(h.endpoint.onEpochMarker(item.epoch, item.moves, item.replicas));
      return;
    case 'epoch':
    case 'start':
    case 'peers':
      return;
    case 'finish':
      h.finished = true;
      return;
  }
}

let scheduled = false;
let timer: NodeJS.Timeout | undefined;
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(run);
}

function run(): void {
  scheduled = false;
  if (timer) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (done) return;
  let did = 0;
  let wake = Infinity;
  // At most one epoch marker per turn: a marker may export and install whole bins, so after one the
  // thread serves only record batches and then yields. Records that arrive meanwhile are served between
  // the bin moves of a step (a batched step moves several bins of one thread's workers), not after all of them.
  let markerDone = false;
  for (let pass = 0; pass < 64; pass++) {
    let progressed = false;
    const t = now();
    for (let i = 0; i < hosted.length; i++) {
      const h = hosted[i];
      if (h.emitting) {
        if (!tryEmit(h, i, t)) {
          if (t < h.emitting!.releaseAt && h.emitting!.releaseAt < wake) wake = h.emitting!.releaseAt;
          continue; // waiting for its slot time or for credits (a credit schedules a turn)
        }
        progressed = true;
        did++;
      }
      if (h.head >= h.queue.length) continue;
      const queued = h.queue[h.head];
      const item = queued.m;
      if ((item.type === 'batch' || item.type === 'close') && h.busyUntil > t) {
        if (h.busyUntil < wake) wake = h.busyUntil;
        continue;
      }
      if (item.type === 'marker' && markerDone) {
        did++; // a marker is still queued: schedule another turn
        continue;
      }
      if (item.type === 'marker') markerDone = true;
      h.queue[h.head++] = undefined as unknown as Item;
      if (h.head > 1024 && h.head * 2 > h.queue.length) {
        h.queue.splice(0, h.head);
        h.head = 0;
      }
      processItem(h, queued, i);
      progressed = true;
      did++;
    }
    for (let ri = 0; ri < reducers.length; ri++) {
      const rd = reducers[ri];
      if (rd.inService) {
        if (rd.busyUntil > t) {
          if (rd.busyUntil < wake) wake = rd.busyUntil;
          continue;
        }
        endService(rd);
        progressed = true;
        did++;
      }
      if (rd.head >= rd.queue.length) continue;
      serveReducer(rd, ri, t);
      progressed = true;
      did++;
    }
    if (!progressed) break;
  }
  const t = now();
  reportSlides(Math.floor(t / init.slideMs) - 1);
  if (
    hosted.every((h) => h.finished && h.head >= h.queue.length && !h.emitting && (h.endpoint?.idle ?? true) && h.busyUntil <= t) &&
    reducers.every((rd) => rd.head >= rd.queue.length && !rd.inService && rd.reducer.openWindows() === 0)
  ) {
    finish();
    return;
  }
  if (did > 0) schedule();
  else if (wake < Infinity) timer = setTimeout(run, Math.max(0, Math.min(wake - t, init.slideMs)));
  else timer = setTimeout(run, Math.max(1, (Math.floor(t / init.slideMs) + 1) * init.slideMs - t));
}

let done = false;
function finish(): void {
  if (done) return;
  done = true;
  const t = now();
  const lastBusy = Math.max(t, ...hosted.map((h) => h.busyUntil), ...reducers.map((rd) => rd.busyUntil));
  reportSlides(Math.floor(lastBusy / init.slideMs));
  if (op.kind === 'global')
    for (const h of hosted) {
      const entries: Array<[number, unknown]> = [];
      if (h.store) for (const key of h.store.keys()) entries.push([key, h.store.encoded(key)]);
      else for (const [k, st] of h.combiner.state) entries.push([k, op.encode(st)]);
      send({ type: 'state', w: h.w, entries });
    }
  send({ type: 'done', thread: init.thread, records: hosted.map((h) => h.combiner.records) });
  port.close();
  // The peer ports stay open: partials this thread sent may still be on their way to a reducer that has
  // not finished (it finishes once it has every marker); the router terminates the threads at the end.
}

function onPeer(m: PeerMessage): void {
  try {
    switch (m.type) {
      case 'state':
        deliver(m.msg);
        return;
      case 'partials':
        receiveChunk(m);
        break;
      case 'credit':
        byWorker.get(m.w)!.credits[m.r] += m.n;
        break;
    }
    schedule();
  } catch (e) {
    send({ type: 'error', message: (e as Error).message, stack: (e as Error).stack });
  }
}

port.on('message', (m: ToThread) => {
  try {
    if (m.type === 'start') {
      t0Epoch = m.t0Epoch;
      return;
    }
    if (m.type === 'peers') {
      m.ports.forEach((p, th) => {
        peers[th] = p;
        p?.on('message', onPeer);
      });
      return;
    }
    const at = Number.isNaN(t0Epoch) ? 0 : now();
    if (m.type === 'batch') {
      const h = byWorker.get(m.w)!;
      h.queue.push({ m, at });
      h.queuedRecords += m.n;
    } else for (const h of hosted) h.queue.push({ m, at });
    schedule();
  } catch (e) {
    send({ type: 'error', message: (e as Error).message, stack: (e as Error).stack });
  }
});
send({ type: 'ready', thread: init.thread });
