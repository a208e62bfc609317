// A worker thread hosting some logical workers: per-worker FIFO queues, slot-capacity emulation, metrics.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { TaskOperator } from '../../tasks/types.js';
import { Combiner } from '../combiner.js';
import { LogHistogram } from '../metrics/histogram.js';
import type { FromThread, PeerMessage, ThreadInit, ToThread, WorkerSlideRaw } from './messages.js';
import { BinMap, KeyedStateStore, MigrationEndpoint, createBinning, isPacked, warmMigrationPath, type EndpointOutput, type StateMsg } from '../migration/index.js';

type Item = ToThread;

interface Hosted {
  readonly w: number;
  readonly combiner: Combiner<unknown>;
  readonly queue: Item[];
  head: number;
  queuedRecords: number;
  /** ms since job start until which the emulated slot is busy. */
  busyUntil: number;
  readonly msPerUnit: number;
  readonly hist: LogHistogram;
  finished: boolean;
  /** Keyed-state migration endpoint and its store (global tasks with migration). */
  endpoint?: MigrationEndpoint<unknown>;
  store?: KeyedStateStore<unknown>;
}

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
}));
const byWorker = new Map(hosted.map((h) => [h.w, h]));

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

// Busy ms and processed records per slide, per hosted worker (service may land in later slides).
const busyBySlide = new Map<number, Float64Array>();
const slot = (s: number): Float64Array => {
  let a = busyBySlide.get(s);
  if (!a) busyBySlide.set(s, (a = new Float64Array(2 * hosted.length)));
  return a;
};

function addBusy(i: number, start: number, end: number, records: number): void {
  const S = init.slideMs;
  let s = Math.floor(start / S);
  const last = Math.floor(end / S);
  let from = start;
  for (; s <= last; s++) {
    const to = Math.min(end, (s + 1) * S);
    slot(s)[i] += to - from;
    from = to;
  }
  slot(last)[hosted.length + i] += records;
}

let reportedThrough = -1;
function reportSlides(through: number): void {
  for (let s = reportedThrough + 1; s <= through; s++) {
    const a = busyBySlide.get(s);
    busyBySlide.delete(s);
    const workers: WorkerSlideRaw[] = hosted.map((h, i) => {
      const raw: WorkerSlideRaw = {
        w: h.w,
        processed: a ? a[hosted.length + i] : 0,
        busyMs: a ? a[i] : 0,
        queueLength: h.queuedRecords,
        latency: s === through ? h.hist.toSparse() : [],
        latencyMax: s === through ? h.hist.max : 0,
      };
      return raw;
    });
    if (s === through) for (const h of hosted) h.hist.reset();
    send({ type: 'metrics', thread: init.thread, slide: s, workers });
  }
  reportedThrough = Math.max(reportedThrough, through);
}

function processItem(h: Hosted, item: Item, i: number): void {
  switch (item.type) {
    case 'batch': {
      const t = now();
      const start = t > h.busyUntil ? t : h.busyUntil;
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
          cost += op.cost(payloads[j]);
        }
        h.combiner.records += n;
      } else
        for (let j = 0; j < n; j++) {
          h.combiner.add(keys[j], payloads[j], times[j]);
          cost += op.cost(payloads[j]);
        }
      const cpu = performance.now() - c0;
      const emulated = cost * h.msPerUnit;
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
      const em = h.combiner.closeWindow(item.lastPane, item.split, item.needsOutput);
      const toReducer = em.toReducer.map((part) => part.map(([k, p]) => [k, op.encode(p)] as [number, unknown]));
      send({ type: 'emission', w: h.w, windowStart: em.windowStart, forwarded: em.forwarded, toReducer });
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
      if (h.head >= h.queue.length) continue;
      const item = h.queue[h.head];
      if (item.type === 'batch' && h.busyUntil > t) {
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
      processItem(h, item, i);
      progressed = true;
      did++;
    }
    if (!progressed) break;
  }
  const t = now();
  reportSlides(Math.floor(t / init.slideMs) - 1);
  if (hosted.every((h) => h.finished && h.head >= h.queue.length && (h.endpoint?.idle ?? true)) && hosted.every((h) => h.busyUntil <= t)) {
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
  const lastBusy = Math.max(t, ...hosted.map((h) => h.busyUntil));
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
  // Every state this thread sent was installed (the router saw its acks before finishing), so nothing is in flight.
  for (const p of peers) p?.close();
}

function onPeer(m: PeerMessage): void {
  try {
    deliver(m.msg);
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
    if (m.type === 'batch') {
      const h = byWorker.get(m.w)!;
      h.queue.push(m);
      h.queuedRecords += m.n;
    } else for (const h of hosted) h.queue.push(m);
    schedule();
  } catch (e) {
    send({ type: 'error', message: (e as Error).message, stack: (e as Error).stack });
  }
});
send({ type: 'ready', thread: init.thread });
