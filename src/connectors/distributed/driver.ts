// The distributed driver: source + partitioner produce to Kafka; reducers, de-duplication and metrics consume the workers' outputs.
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, Message } from 'kafkajs';
import { InvariantError, SasError } from '../../common/errors.js';
import type { SlideReport } from '../../common/metrics.js';
import type { JobConfig } from '../../engine/config.js';
import { buildJob } from '../../engine/job.js';
import { MetricsCollector, SlideAccumulator } from '../../engine/metrics/collector.js';
import { Reducer } from '../../engine/reducer.js';
import type { Sink } from '../../engine/sink.js';
import { CountingSink } from '../../engine/sink.js';
import { RateSchedule } from '../../engine/source.js';
import { SplitTracker } from '../../engine/split-tracker.js';
import { paneOf, panesPerWindow } from '../../engine/window.js';
import { costScratch, fillCosts, routeBatch } from '../../engine/route-batch.js';
import { createKafkaClient } from '../client.js';
import { superviseConsumer } from '../consumer.js';
import { encodeRecordKey, encodeRecordValue, RECORD_VALUE_BYTES } from '../codec.js';
import { KafkaUnavailableError, wrapKafkaError } from '../errors.js';
import { createKafkaSink, type KafkaSink } from '../sink.js';
import {
  CONTROL_HEADER,
  decodeOutput,
  DISTRIBUTED_VERSION,
  encodeControl,
  runNames,
  type ControlRecord,
  accumulateWorkerMetrics,
  type DistributedSpec,
  type OutputMessage,
  type SkippedMessage,
} from './messages.js';

/** Records per produce request (the sink's default; larger requests are slower in kafkajs). */
const PRODUCE_CHUNK = 1000;
/** Records generated per workload.fill call. */
const GEN_BATCH = 1024;
/** A paced source emits a record at most this many ms before its event time (wall clock). */
const PACE_SLACK_MS = 20;
/** Split lists longer than this many keys are sent as 'all' (every key's partial goes to a reducer: still exact). */
const MAX_SPLIT_KEYS = 100_000;

/**
 * Builds the worker job spec of a run from a job config (what `sas worker --job` reads). Defaults: a
 * random run id, topic prefix "sas", session timeout 10 s (how long a dead worker's partitions wait
 * before a restarted worker gets them; Kafka's minimum is 6 s, and a worker busy longer than this
 * between heartbeats on a loaded machine is expelled).
 */
export function makeSpec(cfg: JobConfig, o: { brokers: string[]; runId?: string; topicPrefix?: string; sessionTimeoutMs?: number }): DistributedSpec {
  const job = buildJob(cfg);
  const runId = o.runId ?? `run-${randomUUID().slice(0, 8)}`;
  const names = runNames(runId, o.topicPrefix);
  const workloadSpec = { name: cfg.workload.name, params: { ...cfg.workload.params } } as { name: string; params: Record<string, unknown> };
  // buildJob fills the job seed into seeded workloads; the workers must build the same payload store.
  const seedable = job.operator.args as { workload?: { params?: Record<string, unknown> } };
  if (seedable.workload?.params) workloadSpec.params = { ...seedable.workload.params };
  return {
    version: DISTRIBUTED_VERSION,
    runId,
    brokers: o.brokers,
    topics: { input: names.input, output: names.output },
    partitions: cfg.workers,
    reducers: cfg.reducers,
    window: job.params.window,
    slideMs: cfg.slideMs,
    task: { name: cfg.task.name, params: cfg.task.params },
    workload: workloadSpec,
    numKeys: job.parts.workload.numKeys,
    groupPrefix: names.groupPrefix,
    sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
  };
}

/**
 * Creates the run's input and output topics (P partitions each); existing topics must have P
 * partitions. Retriable broker errors (a broker still starting, metadata not yet propagated) are
 * retried for up to `timeoutMs` (default 30 s).
 */
export async function createRunTopics(kafka: Kafka, spec: DistributedSpec, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let backoff = 250; ; backoff = Math.min(backoff * 2, 2000)) {
    try {
      await createRunTopicsOnce(kafka, spec);
      return;
    } catch (e) {
      if (!(e instanceof SasError) || !e.retriable || e.code !== 'KAFKA_UNAVAILABLE' || Date.now() + backoff > deadline) throw e;
      await new Promise((r) => setTimeout(r, backoff));
    }
  }
}

async function createRunTopicsOnce(kafka: Kafka, spec: DistributedSpec): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const todo = [spec.topics.input, spec.topics.output].filter((t) => !existing.has(t));
    if (todo.length > 0) {
      await admin.createTopics({ topics: todo.map((topic) => ({ topic, numPartitions: spec.partitions, replicationFactor: 1 })), waitForLeaders: true });
    }
    const meta = await admin.fetchTopicMetadata({ topics: [spec.topics.input, spec.topics.output] });
    for (const t of meta.topics) {
      if (t.partitions.length !== spec.partitions) {
        throw new InvariantError(`topic ${t.name} has ${t.partitions.length} partitions, the run needs ${spec.partitions}`, { topic: t.name, partitions: t.partitions.length });
      }
    }
  } catch (e) {
    if (e instanceof SasError) throw e;
    throw wrapKafkaError(e, 'create run topics', { topics: [spec.topics.input, spec.topics.output] });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Options of the driver. */
export interface DriverOptions {
  /** Where final results go (default: a counting sink). */
  readonly sink?: Sink;
  /**
   * Emit at the config's rate in wall time (default true). Record i of a fixed rate r is scheduled at
   * `startMs + i·1000/r`; a paced source that falls behind its schedule stamps records with their
   * emission time instead (so the achieved rate shows the shortfall, as on the engine's real clock).
   * False: emit as fast as Kafka accepts with exactly the scheduled event times (deterministic: tests
   * and benchmarks).
   */
  readonly pace?: boolean;
  /** Event time of the first record, ms (default: now, rounded down to a whole metric slide and window slide). */
  readonly startMs?: number;
  /** A slide's report waits at most this long (wall ms) after its first worker entry for the others; missing = idle. Default 5000. */
  readonly metricsGraceMs?: number;
  /** Fail when no output message arrives for this long while results are missing, ms. Default 120000. */
  readonly idleTimeoutMs?: number;
  /** Called once per slide report, in order (after the partitioner's feedback). */
  readonly onSlide?: (r: SlideReport) => void;
  /** Called when a window's results are final (all P partitions closed it). */
  readonly onWindow?: (windowStart: number, results: number) => void;
  /** Called for every `closed` / `end` marker accepted (first copy only), with its partition. */
  readonly onMarker?: (kind: 'closed' | 'end', partition: number, lastPane: number | null) => void;
  /** Called before every produce request with the records generated so far, and once after the last acknowledgement. */
  readonly onProduced?: (records: number) => void;
  /** kafkajs log level. Default "nothing". */
  readonly logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /**
   * Idempotent producers for the input topic (partition p uses producer p mod n, so per-partition order
   * holds). Default 1: on the 2-core dev machine 2 gave no measurable gain (bench/kafka-distributed.ts).
   */
  readonly producers?: number;
}

/** One input producer and its pending request. */
interface Lane {
  readonly sink: KafkaSink;
  buf: Message[];
  block: Buffer;
  inflight: Promise<void>;
}

/** What a distributed run returns. */
export interface DistributedResult {
  readonly runId: string;
  /** Records produced to the input topic. */
  readonly records: number;
  /** Event time of record 0, ms (event times are absolute: windows align to multiples of the slide). */
  readonly startMs: number;
  /** Event time after the last record, ms. */
  readonly endMs: number;
  /** Wall ms from the first produce to the last result. */
  readonly wallMs: number;
  /** Wall ms from the first produce request to the acknowledgement of the last (end) control record. */
  readonly produceMs: number;
  /** Windows finalised, final (window, key) results delivered, of which merged by reducers. */
  readonly windows: number;
  readonly results: number;
  readonly merged: number;
  /** Output entries (results, partials, state) and markers dropped as duplicates of an earlier copy (re-emitted after a restart). */
  readonly duplicates: number;
  /** Skipped input messages by reason, de-duplicated by (partition, offset). */
  readonly skipped: Readonly<Record<string, number>>;
  /** Records sent to each partition (logical worker). */
  readonly perPartition: readonly number[];
  /** One report per metric slide. */
  readonly reports: SlideReport[];
  /** Worker metric entries that arrived after their slide was published (counted as idle there). */
  readonly lateMetrics: number;
}

interface WindowState {
  readonly closed: Map<number, { records: number; forwarded: number; partials: number }>;
  /** key → [partition, output] of forwarded results (unsplit keys live on one partition). */
  readonly forwarded: Map<number, [number, unknown]>;
  /** partition → key → [reducer, encoded partial]. */
  readonly partials: Map<number, Map<number, [number, unknown]>>;
}

interface SlideState {
  readonly entries: (Extract<OutputMessage, { kind: 'metrics' }> | undefined)[];
  got: number;
  firstAt: number;
  readonly routed: Float64Array;
  routeNs: number;
  routeCalls: number;
  emitted: number;
  replication: number;
}

/**
 * Runs the driver of a distributed job (docs/distributed.md): generates the workload, routes every
 * record with the job's partitioner, produces it to input partition = chosen worker, and at each window
 * close produces a control record with the window's split keys to every partition (after that
 * window's records). It consumes the output topic, drops duplicates by (window, partition, key),
 * merges split keys' partials in R reducers once all P `closed` markers of a window arrived, checks
 * each marker's record count against what it sent, and delivers final results to `opts.sink`. Worker
 * processes (`sas worker`, `startWorker`) must run for it to finish; the run's topics must exist
 * (`createRunTopics`).
 */
export async function runDistributed(cfg: JobConfig, spec: DistributedSpec, opts: DriverOptions = {}): Promise<DistributedResult> {
  const job = buildJob(cfg);
  const { partitioner, op, workload, clock } = job.parts;
  const P = spec.partitions;
  const R = spec.reducers;
  const window = spec.window;
  const k = panesPerWindow(window);
  const slideMs = spec.slideMs;
  const global = op.kind === 'global';
  const sink = opts.sink ?? new CountingSink();
  const needsOutput = sink.needsOutput !== false;
  const rate = new RateSchedule(cfg.source.rate);
  const pace = opts.pace ?? true;
  const graceMs = opts.metricsGraceMs ?? 5000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
  const maxRecords = cfg.maxRecords ?? Infinity;
  const align = lcm(slideMs, window.slideMs);
  const startMs = opts.startMs ?? Math.floor(Date.now() / align) * align;
  const baseSlide = Math.floor(startMs / slideMs);
  const tracker = partitioner.splitsKeys && !global ? new SplitTracker(workload.numKeys, window) : undefined;

  const kafka: Kafka = createKafkaClient({ brokers: spec.brokers, clientId: 'sas-driver', logLevel: opts.logLevel ?? 'nothing' });
  // Producer lanes: partition p always goes through lane p mod L, so per-partition order holds while
  // L idempotent producers (each one request at a time) have requests in flight together.
  const lanes: Lane[] = Array.from({ length: Math.max(1, Math.min(P, opts.producers ?? 1)) }, () => ({
    sink: createKafkaSink(kafka, { topic: spec.topics.input }),
    buf: [],
    block: Buffer.allocUnsafe(PRODUCE_CHUNK * RECORD_VALUE_BYTES),
    inflight: Promise.resolve(),
  }));

  // ---- consumer side: de-duplication, reducers, metrics ----
  const collector = new MetricsCollector(P, slideMs);
  if (partitioner.onSlide) collector.subscribe((r) => partitioner.onSlide!(r));
  if (opts.onSlide) collector.subscribe(opts.onSlide);
  const windows = new Map<number, WindowState>();
  const finalised = new Set<number>();
  const sentPane = new Map<number, Float64Array>();
  const perPartition = new Float64Array(P);
  const skippedSeen = new Map<string, string>();
  const ended = new Map<number, Extract<OutputMessage, { kind: 'end' }>>();
  const states = new Map<number, Map<number, unknown>>(); // global: partition → key → encoded state
  const slides = new Map<number, SlideState>();
  let nextSlide = baseSlide;
  let lastSourceSlide = baseSlide - 1;
  let closedWindows: number[] = [];
  let duplicates = 0;
  let lateMetrics = 0;
  let results = 0;
  let merged = 0;
  let lastOutputAt = Date.now();
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };

  const slideState = (s: number): SlideState => {
    let st = slides.get(s);
    if (!st) slides.set(s, (st = { entries: new Array(P).fill(undefined), got: 0, firstAt: Number.NaN, routed: new Float64Array(P), routeNs: 0, routeCalls: 0, emitted: 0, replication: Number.NaN }));
    return st;
  };
  const windowState = (lp: number): WindowState => {
    let w = windows.get(lp);
    if (!w) windows.set(lp, (w = { closed: new Map(), forwarded: new Map(), partials: new Map() }));
    return w;
  };
  const noteSkipped = (p: number, list: readonly SkippedMessage[]): void => {
    for (const [off, reason] of list) {
      const id = `${p}:${off}`;
      if (skippedSeen.has(id)) duplicates++;
      else skippedSeen.set(id, reason);
    }
  };
  const sentInWindow = (lp: number, p: number): number => {
    let n = 0;
    for (let q = lp - k + 1; q <= lp; q++) n += sentPane.get(q)?.[p] ?? 0;
    return n;
  };

  const finaliseWindow = (lp: number, w: WindowState): void => {
    const windowStart = (lp - k + 1) * window.slideMs;
    for (const [p, c] of w.closed) {
      const sent = sentInWindow(lp, p);
      if (c.records !== sent) throw new InvariantError(`window ${windowStart} partition ${p}: worker combined ${c.records} records, driver sent ${sent}`, { windowStart, partition: p, combined: c.records, sent });
      let fwd = 0;
      for (const [, [q]] of w.forwarded) if (q === p) fwd++;
      const parts = w.partials.get(p)?.size ?? 0;
      if (fwd !== c.forwarded || parts !== c.partials) throw new InvariantError(`window ${windowStart} partition ${p}: marker announced ${c.forwarded}+${c.partials} entries, ${fwd}+${parts} arrived`, { windowStart, partition: p });
    }
    let n = 0;
    for (const [key, [, out]] of w.forwarded) {
      sink.window(windowStart, key, needsOutput ? out : null, false);
      n++;
    }
    const reducers = Array.from({ length: R }, (_, r) => new Reducer<unknown>(r, op, P));
    const byReducer: Array<Array<[number, unknown]>> = Array.from({ length: R }, () => []);
    let partialsIn = 0;
    for (const part of w.partials.values()) {
      for (const [key, [r, enc]] of part) {
        byReducer[r].push([key, op.decode(enc)]);
        partialsIn++;
      }
    }
    for (let r = 0; r < R; r++) {
      reducers[r].addPartials(windowStart, byReducer[r]);
      let out: Array<[number, unknown]> | undefined;
      for (let p = 0; p < P; p++) out = reducers[r].marker(windowStart, needsOutput) ?? out;
      for (const [key, o] of out ?? []) {
        if (w.forwarded.has(key)) throw new InvariantError(`window ${windowStart} key ${key} was both forwarded and split`, { windowStart, key });
        sink.window(windowStart, key, o, true);
        n++;
        merged++;
      }
    }
    results += n;
    const distinct = n;
    const s = Math.floor(((lp + 1) * window.slideMs - 1) / slideMs);
    if (distinct > 0) slideState(s).replication = (w.forwarded.size + partialsIn) / distinct;
    windows.delete(lp);
    finalised.add(lp);
    opts.onWindow?.(windowStart, n);
  };

  const onOutput = (m: OutputMessage): void => {
    const p = m.partition;
    if (p >= P) throw new InvariantError(`output message for partition ${p} of ${P}`, { partition: p });
    switch (m.kind) {
      case 'results': {
        if (finalised.has(m.lastPane)) {
          duplicates += m.forwarded.length + m.partials.length;
          return;
        }
        const w = windowState(m.lastPane);
        for (const [key, out] of m.forwarded) {
          const prev = w.forwarded.get(key);
          if (prev !== undefined) {
            if (prev[0] !== p) throw new InvariantError(`window ${(m.lastPane - k + 1) * window.slideMs}: key ${key} forwarded by partitions ${prev[0]} and ${p}`, { key });
            duplicates++;
          } else w.forwarded.set(key, [p, out]);
        }
        let part = w.partials.get(p);
        if (!part) w.partials.set(p, (part = new Map()));
        for (const [key, r, enc] of m.partials) {
          if (part.has(key)) duplicates++;
          else part.set(key, [r, enc]);
        }
        return;
      }
      case 'closed': {
        noteSkipped(p, m.skipped);
        if (finalised.has(m.lastPane)) {
          duplicates++;
          return;
        }
        const w = windowState(m.lastPane);
        const prev = w.closed.get(p);
        if (prev) {
          if (prev.records !== m.records) {
            const windowStart = (m.lastPane - k + 1) * window.slideMs;
            throw new InvariantError(`window ${windowStart} partition ${p}: two closed markers disagree (${prev.records} vs ${m.records} records)`, { windowStart, partition: p });
          }
          duplicates++;
          return;
        }
        w.closed.set(p, { records: m.records, forwarded: m.forwarded, partials: m.partials });
        opts.onMarker?.('closed', p, m.lastPane);
        if (w.closed.size === P) finaliseWindow(m.lastPane, w);
        return;
      }
      case 'state': {
        let st = states.get(p);
        if (!st) states.set(p, (st = new Map()));
        for (const [key, enc] of m.entries) {
          if (st.has(key)) duplicates++;
          else st.set(key, enc);
        }
        return;
      }
      case 'end': {
        noteSkipped(p, m.skipped);
        if (ended.has(p)) {
          duplicates++;
          return;
        }
        ended.set(p, m);
        opts.onMarker?.('end', p, null);
        return;
      }
      case 'metrics': {
        const s = m.slide;
        if (s < nextSlide) {
          lateMetrics++;
          return;
        }
        const st = slideState(s);
        if (st.entries[p] !== undefined) {
          duplicates++;
          return;
        }
        st.entries[p] = m;
        st.got++;
        if (Number.isNaN(st.firstAt)) st.firstAt = Date.now();
        return;
      }
    }
  };

  const acc = new SlideAccumulator(P);
  const publishSlides = (final: boolean): void => {
    const now = Date.now();
    for (;;) {
      const st = slides.get(nextSlide);
      const last = final ? Math.max(lastSourceSlide, ...slides.keys()) : lastSourceSlide;
      if (nextSlide > last) return;
      if (!final && !(st !== undefined && st.got === P)) {
        // Incomplete: publish once this slide's (or a later slide's) first entry is older than the grace.
        let overdue = st !== undefined && st.got > 0 && now - st.firstAt > graceMs;
        if (!overdue) for (const [s, x] of slides) if (s > nextSlide && x.got > 0 && now - x.firstAt > graceMs) overdue = true;
        if (!overdue) return;
      }
      acc.reset();
      if (st) {
        for (let w = 0; w < P; w++) {
          const e = st.entries[w];
          acc.routed[w] = st.routed[w];
          if (e) accumulateWorkerMetrics(acc, w, e);
        }
        acc.routeNsTotal = st.routeNs;
        acc.routeCalls = st.routeCalls;
        acc.emitted = st.emitted;
        acc.replication = st.replication;
        slides.delete(nextSlide);
      }
      collector.publish(nextSlide - baseSlide, acc, rate.rateAt((nextSlide - baseSlide) * slideMs), partitioner.stats());
      nextSlide++;
    }
  };

  const outputGroupId = `${spec.groupPrefix}.driver.${randomUUID().slice(0, 8)}`;
  const consumer: Consumer = kafka.consumer({ groupId: outputGroupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const eachBatch = async ({ batch, heartbeat }: EachBatchPayload): Promise<void> => {
    if (failure) return;
    try {
      for (const msg of batch.messages) onOutput(decodeOutput(msg.value));
      lastOutputAt = Date.now();
      publishSlides(false);
    } catch (e) {
      failure = e;
    }
    notify();
    await heartbeat();
  };

  // kafkajs restarts the consumer after retriable failures, and the supervisor after a lost group
  // coordinator (outputs are read again from the start; duplicates are dropped); a crash after which
  // nobody restarts it fails the run at once, not after idleTimeoutMs of silence.
  const supervised = superviseConsumer(
    kafka,
    consumer,
    {
      groupId: outputGroupId,
      topics: [spec.topics.output],
      fromBeginning: true,
      context: { topic: spec.topics.output },
      run: { eachBatch, eachBatchAutoResolve: true, autoCommit: false },
    },
    (c) => {
      if (c.restart || failure) return;
      failure = c.error;
      notify();
    },
  );

  const wall0 = Date.now();
  let produceMs = 0;
  let records = 0;
  let tRel = 0;
  try {
    for (const l of lanes) await l.sink.connect();
    await supervised.start();
  } catch (e) {
    await Promise.allSettled([...lanes.map((l) => l.sink.disconnect()), supervised.disconnect()]);
    throw wrapKafkaError(e, 'start driver', { topics: spec.topics });
  }
  const ticker = setInterval(() => {
    try {
      publishSlides(false);
    } catch (e) {
      failure = e;
    }
    notify();
  }, 250);

  try {
    // ---- producer side: source, partitioner, split tracking, control records ----
    const keys = new Int32Array(GEN_BATCH);
    const payloads = new Int32Array(GEN_BATCH);
    const costs = costScratch(partitioner, GEN_BATCH);
    const L = lanes.length;
    let produceStart = Number.NaN;
    /** Sends `msgs` on `lane` after its previous request was acknowledged (one request in flight per lane). */
    const ship = async (lane: Lane, msgs: Message[]): Promise<void> => {
      if (Number.isNaN(produceStart)) produceStart = Date.now();
      await lane.inflight;
      if (failure) throw failure;
      opts.onProduced?.(records);
      lane.inflight = lane.sink.sendMessages(msgs).catch((e: unknown) => {
        failure ??= e;
      });
    };
    const take = (lane: Lane): Message[] => {
      const msgs = lane.buf;
      lane.buf = [];
      lane.block = Buffer.allocUnsafe(PRODUCE_CHUNK * RECORD_VALUE_BYTES);
      return msgs;
    };
    const flush = async (): Promise<void> => {
      for (const lane of lanes) if (lane.buf.length > 0) await ship(lane, take(lane));
    };
    /** A control record to every partition, behind each partition's buffered records. */
    const broadcast = async (c: ControlRecord): Promise<void> => {
      const value = encodeControl(c);
      for (let l = 0; l < L; l++) {
        const msgs = take(lanes[l]);
        for (let p = l; p < P; p += L) msgs.push({ partition: p, value, headers: { [CONTROL_HEADER]: c.kind } });
        await ship(lanes[l], msgs);
      }
    };
    let closedThrough = Number.NaN;
    let curPane = Number.NaN;
    const closeThrough = async (lastPane: number): Promise<void> => {
      for (let lp = closedThrough + 1; lp <= lastPane; lp++) {
        closedThrough = lp;
        if (global) continue;
        let split: Int32Array | 'all' = new Int32Array(0);
        if (partitioner.splitsKeys) split = tracker ? tracker.splitKeys(lp) : 'all';
        if (split !== 'all' && split.length > MAX_SPLIT_KEYS) split = 'all';
        closedWindows.push(lp);
        await broadcast({ kind: 'window', lastPane: lp, split });
      }
    };

    // Event time: a fixed step per rate segment (record i of a fixed rate r: startMs + i·1000/r), or wall time when unthrottled.
    let segStart = 0;
    let segIdx = 0;
    let segRate = rate.rateAt(0);
    const wallStart = Date.now();
    let stop = false;
    while (!stop && records < maxRecords) {
      const n = Math.min(GEN_BATCH, maxRecords - records);
      clock.nowMs = tRel;
      const got = workload.fill(keys, payloads, 0, n, tRel);
      if (got === 0) break;
      fillCosts(op, payloads, got, costs);
      const r0 = process.hrtime.bigint();
      const dest = new Int32Array(got);
      routeBatch(partitioner, keys, got, dest, costs);
      const routeNs = Number(process.hrtime.bigint() - r0);
      for (let i = 0; i < got; i++) {
        let t: number;
        if (segRate === Infinity) {
          t = Math.max(tRel, Date.now() - wallStart);
        } else {
          const sched = segStart + ((records - segIdx) * 1000) / segRate;
          const r = rate.rateAt(sched);
          if (r !== segRate) {
            segStart = sched;
            segIdx = records;
            segRate = r;
          }
          t = sched;
          if (pace) {
            const elapsed = Date.now() - wallStart;
            if (sched > elapsed + PACE_SLACK_MS) {
              // Ahead of the schedule: wait. Records may leave up to PACE_SLACK_MS early (event time
              // unchanged), so a source slightly ahead still sends full produce requests.
              await flush();
              const wait = sched - (Date.now() - wallStart);
              if (wait > 0) await new Promise((res) => setTimeout(res, wait));
            } else if (sched < elapsed - PACE_SLACK_MS) {
              // Behind (Kafka cannot take the rate): stamp the emission time, as the engine's real
              // clock does, so the achieved rate falls below the target (the backpressure signal).
              t = Math.max(tRel, elapsed);
            }
          }
        }
        if (t >= cfg.durationMs) {
          stop = true;
          break;
        }
        tRel = t;
        const et = startMs + t;
        const pane = paneOf(et, window.slideMs);
        if (pane !== curPane) {
          if (Number.isNaN(curPane)) closedThrough = pane - 1;
          else await closeThrough(pane - 1);
          curPane = pane;
          tracker?.startPane(pane);
        }
        const key = keys[i];
        const w = dest[i];
        tracker?.note(key, w);
        let sp = sentPane.get(pane);
        if (!sp) sentPane.set(pane, (sp = new Float64Array(P)));
        sp[w]++;
        perPartition[w]++;
        const s = Math.floor(et / slideMs);
        if (s > lastSourceSlide) lastSourceSlide = s;
        const ss = slideState(s);
        ss.routed[w]++;
        ss.emitted++;
        ss.routeCalls++;
        ss.routeNs += routeNs / got;
        const lane = lanes[w % L];
        const j = lane.buf.length;
        lane.buf.push({ partition: w, key: encodeRecordKey(key), value: encodeRecordValue(key, payloads[i], et, lane.block, j * RECORD_VALUE_BYTES) });
        records++;
        if (j + 1 === PRODUCE_CHUNK) await ship(lane, take(lane));
      }
    }
    if (records > 0 && !Number.isNaN(curPane)) await closeThrough(curPane + k - 1);
    await broadcast({ kind: 'end' });
    for (const lane of lanes) await lane.inflight;
    if (failure) throw failure;
    produceMs = Date.now() - (Number.isNaN(produceStart) ? Date.now() : produceStart);
    opts.onProduced?.(records);
    const endMs = startMs + tRel;

    // ---- wait for every window and every partition's end marker ----
    for (;;) {
      if (failure) throw failure;
      const pendingWindows = closedWindows.filter((lp) => !finalised.has(lp));
      if (pendingWindows.length === 0 && ended.size === P) break;
      if (Date.now() - lastOutputAt > idleTimeoutMs) {
        const missing = [...Array(P).keys()].filter((p) => !ended.has(p));
        throw new KafkaUnavailableError(`no worker output for ${idleTimeoutMs} ms; partitions without an end marker: ${missing.join(',') || 'none'}; windows pending: ${pendingWindows.length}`, {
          operation: 'await worker outputs',
          topic: spec.topics.output,
          missingPartitions: missing,
          pendingWindows: pendingWindows.length,
        }, { retriable: true });
      }
      await new Promise<void>((res) => {
        wake = res;
        setTimeout(res, 500);
      });
    }
    closedWindows = [];

    if (global) {
      // Keyed state: the merge of every partition's final state (a split key's states add up).
      for (const [p, e] of ended) {
        const got = states.get(p)?.size ?? 0;
        if (got !== e.stateEntries) throw new InvariantError(`partition ${p}: end marker announced ${e.stateEntries} state entries, ${got} arrived`, { partition: p });
        if (e.fromOffset === 0 && e.records !== perPartition[p]) throw new InvariantError(`partition ${p}: worker applied ${e.records} records, driver sent ${perPartition[p]}`, { partition: p });
      }
      const mergedState = new Map<number, unknown>();
      for (const st of states.values()) {
        for (const [key, enc] of st) {
          const s = op.decode(enc);
          const prev = mergedState.get(key);
          if (prev === undefined) mergedState.set(key, s);
          else op.merge(prev, s);
        }
      }
      for (const key of [...mergedState.keys()].sort((a, b) => a - b)) sink.finalState(key, op.output(mergedState.get(key)));
      results += mergedState.size;
    }
    publishSlides(true);
    const skipped: Record<string, number> = {};
    for (const reason of skippedSeen.values()) skipped[reason] = (skipped[reason] ?? 0) + 1;
    return {
      runId: spec.runId,
      records,
      startMs,
      endMs,
      wallMs: Date.now() - wall0,
      produceMs,
      windows: finalised.size,
      results,
      merged,
      duplicates,
      skipped,
      perPartition: Array.from(perPartition),
      reports: collector.reports,
      lateMetrics,
    };
  } finally {
    clearInterval(ticker);
    await Promise.allSettled([supervised.disconnect(), ...lanes.map((l) => l.sink.disconnect())]);
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}
