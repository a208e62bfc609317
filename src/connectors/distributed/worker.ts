// A distributed worker process: one Combiner per owned input partition, window outputs to Kafka, commits at window closes.
import { performance } from 'node:perf_hooks';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import { invariant } from '../../common/errors.js';
import { Combiner } from '../../engine/combiner.js';
import { LogHistogram } from '../../engine/metrics/histogram.js';
import { paneOf, panesPerWindow } from '../../engine/window.js';
import { buildPayloads, createTask, type TaskOperator } from '../../tasks/index.js';
import { staticAssigner } from '../assigner.js';
import { awaitGroupCoordinator, createKafkaClient } from '../client.js';
import { superviseConsumer } from '../consumer.js';
import { decodeRecordInto, payloadLimit, type MalformedReason, type RecordLimits } from '../codec.js';
import { KafkaUnavailableError, wrapKafkaError } from '../errors.js';
import { createKafkaSink, type KafkaSink } from '../sink.js';
import {
  CONTROL_HEADER,
  decodeControl,
  encodeOutput,
  parseCommitMetadata,
  partitionsOf,
  workerGroupId,
  type ControlRecord,
  type DistributedSpec,
  type OutputMessage,
  type SkippedMessage,
  type SkipReason,
} from './messages.js';

/** Entries per `results` / `state` message (keeps messages well under Kafka's 1 MiB default limit for small partials). */
const ENTRIES_PER_MESSAGE = 200;
/** A message larger than this is split in halves before sending. */
const MAX_MESSAGE_BYTES = 768 * 1024;

/** Options of one worker process. */
export interface WorkerOptions {
  /** This process's index in [0, of). */
  readonly index: number;
  /** Number of worker processes W; process i owns partitions p with p mod W = i. */
  readonly of: number;
  /** kafkajs log level. Default "nothing". */
  readonly logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /**
   * Fault injection for tests: after the outputs of this many window closes were acknowledged, and
   * before the offset commit of the last one, the process sends itself SIGKILL (the worst moment to
   * crash: outputs written, offsets not committed, so a restart emits them again).
   */
  readonly crashBeforeCommitAfterWindows?: number;
  /**
   * Fault injection for tests: at this many-th window close, send the window's `results` messages but
   * not its `closed` marker, then SIGKILL (a crash in the middle of a window's output: the restart
   * sends every entry again, and the driver keeps one copy per (window, partition, key)).
   */
  readonly crashBeforeMarkerAtWindow?: number;
  /** Progress lines (one per window close, end, join). */
  readonly log?: (line: string) => void;
}

/** Counters of a worker process. */
export interface WorkerSummary {
  readonly index: number;
  readonly of: number;
  readonly partitions: readonly number[];
  /** Valid records applied to combiners by this process (since its start). */
  readonly records: number;
  /** Messages skipped by reason (this process only). */
  readonly skipped: Readonly<Record<string, number>>;
  /** Messages below a partition's next offset (redelivered after a rebalance) that were skipped. */
  readonly redelivered: number;
  /** Window closes whose outputs were written and committed. */
  readonly windowsClosed: number;
  /** Control records of windows committed before this process started (re-read after a restart), skipped. */
  readonly replayedControls: number;
  /** Offset each partition started from (its committed offset, 0 when none). */
  readonly startOffsets: Readonly<Record<number, number>>;
  /** Output messages acknowledged. */
  readonly outputMessages: number;
}

/** A running worker process. */
export interface WorkerHandle {
  /** Resolves when every owned partition has read its end control record (and committed it). Rejects on a fatal error. */
  readonly done: Promise<WorkerSummary>;
  /** Stops consuming and disconnects (without committing anything beyond the last window close). */
  stop(): Promise<void>;
  summary(): WorkerSummary;
}

/** Per-slide metric accumulator of one logical worker. */
interface SlideStats {
  records: number;
  busyMs: number;
  latency: LogHistogram;
}

/** The state of one logical worker (= one input partition). Rebuilt from its committed offset after a restart. */
class PartitionState<P> {
  /** Offsets below it were applied (or are covered by the committed window closes). */
  nextOffset: number;
  /** Last pane of the last window whose outputs were committed; later control records of older windows are skipped. */
  closedThrough: number | null;
  ended: boolean;
  readonly startOffset: number;
  /** First offset of each open pane (what to re-read for sliding windows). */
  readonly paneFirstOffset = new Map<number, number>();
  /** Records per open pane. */
  readonly paneRecords = new Map<number, number>();
  /** Skipped messages since the last window close. */
  skipped: SkippedMessage[] = [];
  /** Valid records applied since this process started the partition. */
  records = 0;
  readonly slides = new Map<number, SlideStats>();
  /** Latest event time seen (metric slides before it are complete). */
  maxEventTime = -Infinity;
  queueLength = 0;

  constructor(
    readonly partition: number,
    readonly combiner: Combiner<P>,
    committed: number,
    meta: { closed: number | null; ended: boolean },
  ) {
    this.nextOffset = committed;
    this.startOffset = committed;
    this.closedThrough = meta.closed;
    this.ended = meta.ended;
  }
}

/**
 * Starts worker process `index` of `of` for the run described by `spec`. It consumes its partitions
 * (manual assignment via the static assigner, in its own consumer group `<prefix>.w<i>of<W>`), applies
 * records to one Combiner per partition, and on each end-of-window control record writes that
 * partition's forwarded results, split-key partials and a `closed` marker to the output topic (same
 * partition), waits for the acks, then commits the partition's offset. Invariant: a committed offset
 * is always at a window close, at the start of the oldest pane a later window still needs, so a
 * restarted worker rebuilds every open window exactly from Kafka. Global tasks never commit before the
 * end control record: after a crash they replay from offset 0 (docs/distributed.md).
 */
export async function startWorker(spec: DistributedSpec, opts: WorkerOptions): Promise<WorkerHandle> {
  const { index, of } = opts;
  invariant(Number.isInteger(of) && of >= 1 && Number.isInteger(index) && index >= 0 && index < of, 'worker index must be in [0, of)', { index, of });
  const log = opts.log ?? (() => {});
  const P = spec.partitions;
  const mine = partitionsOf(P, index, of);
  const payloads = buildPayloads(spec.task, spec.workload);
  const op = createTask(spec.task, payloads) as TaskOperator<unknown>;
  // A payload id past the store is malformed (payload_range), not a crash in the task.
  const limits: RecordLimits = { numKeys: spec.numKeys, numPayloads: payloadLimit(payloads) };
  const window = spec.window;
  const k = panesPerWindow(window);
  const global = op.kind === 'global';
  const groupId = workerGroupId(spec, index, of);
  const kafka: Kafka = createKafkaClient({ brokers: spec.brokers, clientId: `sas-worker-${index}`, logLevel: opts.logLevel ?? 'nothing' });

  const counts: Record<string, number> = {};
  let records = 0;
  let redelivered = 0;
  let windowsClosed = 0;
  let replayedControls = 0;
  let outputMessages = 0;
  const startOffsets: Record<number, number> = {};
  const states = new Map<number, PartitionState<unknown>>();

  // Committed offsets and their metadata (the last window closed) decide where each partition resumes.
  await awaitGroupCoordinator(kafka, groupId);
  const admin = kafka.admin();
  try {
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId, topics: [spec.topics.input] });
    const byPartition = new Map<number, { offset: string; metadata: string | null }>();
    for (const t of committed) for (const p of t.partitions) byPartition.set(p.partition, { offset: p.offset, metadata: p.metadata });
    for (const p of mine) {
      const c = byPartition.get(p);
      const off = c && Number(c.offset) >= 0 ? Number(c.offset) : 0;
      const meta = parseCommitMetadata(c && Number(c.offset) >= 0 ? c.metadata : null);
      states.set(p, new PartitionState(p, new Combiner<unknown>(p, op, window, spec.reducers), off, meta));
      startOffsets[p] = off;
    }
  } catch (e) {
    throw wrapKafkaError(e, 'fetch committed offsets', { groupId, topic: spec.topics.input });
  } finally {
    await admin.disconnect().catch(() => {});
  }

  const out: KafkaSink = createKafkaSink(kafka, { topic: spec.topics.output });
  await out.connect();
  const consumer: Consumer = kafka.consumer({
    groupId,
    partitionAssigners: [staticAssigner({ [spec.topics.input]: mine })],
    sessionTimeout: spec.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(spec.sessionTimeoutMs / 6)),
    rebalanceTimeout: Math.max(spec.sessionTimeoutMs, 10_000),
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });

  let resolveDone!: (s: WorkerSummary) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<WorkerSummary>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {});
  let finished = false;
  /** Set when a window close failed half-way: the process must exit (see the CRASH handler). */
  let poisoned = false;

  const summary = (): WorkerSummary => ({ index, of, partitions: mine, records, skipped: { ...counts }, redelivered, windowsClosed, replayedControls, startOffsets, outputMessages });

  const checkAllEnded = (): void => {
    if (finished) return;
    for (const st of states.values()) if (!st.ended) return;
    finished = true;
    resolveDone(summary());
  };

  const send = async (msgs: OutputMessage[], partition: number): Promise<void> => {
    const kmsgs: Message[] = [];
    const push = (m: OutputMessage): void => {
      const value = encodeOutput(m);
      if (value.length > MAX_MESSAGE_BYTES && (m.kind === 'results' || m.kind === 'state')) {
        for (const half of splitMessage(m)) push(half);
        return;
      }
      kmsgs.push({ partition, key: String(partition), value });
    };
    for (const m of msgs) push(m);
    await out.sendMessages(kmsgs);
    outputMessages += kmsgs.length;
  };

  const commit = async (st: PartitionState<unknown>, offset: number, meta: { closed: number | null; ended: boolean }): Promise<void> => {
    await consumer.commitOffsets([{ topic: spec.topics.input, partition: st.partition, offset: String(offset), metadata: JSON.stringify(meta) }]);
  };

  const skip = (st: PartitionState<unknown>, offset: number, reason: SkipReason): void => {
    counts[reason] = (counts[reason] ?? 0) + 1;
    st.skipped.push([offset, reason]);
  };

  /** Metric slides of `st` that ended at or before `upTo` (event time), as messages; removes them. */
  const completedSlides = (st: PartitionState<unknown>, upTo: number): OutputMessage[] => {
    const msgs: OutputMessage[] = [];
    for (const [s, acc] of [...st.slides].sort((a, b) => a[0] - b[0])) {
      if ((s + 1) * spec.slideMs > upTo) break;
      st.slides.delete(s);
      msgs.push({ kind: 'metrics', partition: st.partition, slide: s, recordsIn: acc.records, busyMs: acc.busyMs, queueLength: st.queueLength, latency: acc.latency.toSparse(), latencyMax: acc.latency.max });
    }
    return msgs;
  };

  const closeWindow = async (st: PartitionState<unknown>, lastPane: number, split: Int32Array | 'all', controlOffset: number): Promise<void> => {
    const em = st.combiner.closeWindow(lastPane, split, true);
    let n = 0;
    for (let p = lastPane - k + 1; p <= lastPane; p++) n += st.paneRecords.get(p) ?? 0;
    st.paneRecords.delete(lastPane - k + 1);
    st.paneFirstOffset.delete(lastPane - k + 1);
    const partials: Array<[number, number, unknown]> = [];
    em.toReducer.forEach((entries, r) => {
      for (const [key, part] of entries) partials.push([key, r, op.encode(part)]);
    });
    const msgs: OutputMessage[] = [];
    for (let i = 0; i < em.forwarded.length || i < partials.length; i += ENTRIES_PER_MESSAGE) {
      msgs.push({ kind: 'results', partition: st.partition, lastPane, forwarded: em.forwarded.slice(i, i + ENTRIES_PER_MESSAGE), partials: partials.slice(i, i + ENTRIES_PER_MESSAGE) });
    }
    msgs.push({ kind: 'closed', partition: st.partition, lastPane, records: n, forwarded: em.forwarded.length, partials: partials.length, skipped: st.skipped });
    msgs.push(...completedSlides(st, (lastPane + 1) * window.slideMs));
    // Resume point: the first record of the oldest pane a later window still needs, else after the control record.
    let resume = controlOffset + 1;
    for (const [pane, off] of st.paneFirstOffset) if (pane >= lastPane - k + 2 && off < resume) resume = off;
    if (opts.crashBeforeMarkerAtWindow !== undefined && windowsClosed + 1 >= opts.crashBeforeMarkerAtWindow) {
      await send(msgs.filter((m) => m.kind === 'results'), st.partition);
      log(`fault injection: SIGKILL after the results of window ${lastPane} of partition ${st.partition}, before its closed marker`);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {}); // never resumes
    }
    await send(msgs, st.partition);
    windowsClosed++;
    if (opts.crashBeforeCommitAfterWindows !== undefined && windowsClosed >= opts.crashBeforeCommitAfterWindows) {
      log(`fault injection: SIGKILL after ${windowsClosed} window closes, before committing window ${lastPane} of partition ${st.partition}`);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {}); // never resumes
    }
    await commit(st, resume, { closed: lastPane, ended: false });
    st.closedThrough = lastPane;
    st.skipped = [];
  };

  const endPartition = async (st: PartitionState<unknown>, controlOffset: number): Promise<void> => {
    const msgs: OutputMessage[] = [];
    let stateEntries = 0;
    if (global) {
      const entries: Array<[number, unknown]> = [];
      for (const [key, s] of st.combiner.state) entries.push([key, op.encode(s)]);
      stateEntries = entries.length;
      for (let i = 0; i < entries.length; i += ENTRIES_PER_MESSAGE) msgs.push({ kind: 'state', partition: st.partition, entries: entries.slice(i, i + ENTRIES_PER_MESSAGE) });
    }
    msgs.push(...completedSlides(st, Infinity));
    // Last: when the driver reads `end`, every earlier message of this partition was read.
    msgs.push({ kind: 'end', partition: st.partition, records: st.records, fromOffset: st.startOffset, stateEntries, skipped: st.skipped });
    await send(msgs, st.partition);
    await commit(st, controlOffset + 1, { closed: st.closedThrough, ended: true });
    st.skipped = [];
    st.ended = true;
    log(`partition ${st.partition} ended (${st.records} records applied by this process)`);
  };

  const control = async (st: PartitionState<unknown>, c: ControlRecord, offset: number): Promise<void> => {
    if (c.kind === 'window') {
      if (global) return; // no windows; the driver sends none for global tasks
      if (st.closedThrough !== null && c.lastPane <= st.closedThrough) {
        replayedControls++; // committed before a restart: closing it again would emit a window missing its older panes
        return;
      }
      await closeWindow(st, c.lastPane, c.split, offset);
      log(`partition ${st.partition}: window ${c.lastPane} closed`);
    } else if (!st.ended) {
      await endPartition(st, offset);
      checkAllEnded();
    }
  };

  const cols = { keys: new Int32Array(1), payloads: new Int32Array(1), eventTimes: new Float64Array(1) };
  const slideOf = (st: PartitionState<unknown>, s: number): SlideStats => {
    let acc = st.slides.get(s);
    if (!acc) st.slides.set(s, (acc = { records: 0, busyMs: 0, latency: new LogHistogram() }));
    return acc;
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const st = states.get(batch.partition);
    if (!st) return; // not ours (cannot happen with the static assigner); leave it unresolved
    const msgs: KafkaMessage[] = batch.messages;
    let runSlide = Number.NaN;
    let runStart = 0;
    const endRun = (): void => {
      if (!Number.isNaN(runSlide)) slideOf(st, runSlide).busyMs += performance.now() - runStart;
      runSlide = Number.NaN;
    };
    for (let i = 0; i < msgs.length; i++) {
      if (!isRunning() || isStale()) break;
      const m = msgs[i];
      const offset = Number(m.offset);
      if (offset < st.nextOffset || st.ended) {
        redelivered++;
        resolveOffset(m.offset);
        continue;
      }
      const ctl = m.headers?.[CONTROL_HEADER];
      if (ctl !== undefined) {
        endRun();
        const c = decodeControl(m.value);
        if (c === null) skip(st, offset, 'control_invalid');
        else {
          try {
            await control(st, c, offset);
          } catch (e) {
            // The combiner already dropped the window's oldest pane: this process cannot redo the close.
            poisoned = true;
            throw e;
          }
          await heartbeat(); // a window close waits on the broker twice: keep the session alive
        }
      } else {
        const reason: MalformedReason | null = decodeRecordInto(m.key, m.value, limits, cols, 0);
        if (reason !== null) skip(st, offset, reason);
        else {
          const t = cols.eventTimes[0];
          const s = Math.floor(t / spec.slideMs);
          if (s !== runSlide) {
            endRun();
            runSlide = s;
            runStart = performance.now();
          }
          const pane = paneOf(t, window.slideMs);
          if (!st.paneFirstOffset.has(pane)) st.paneFirstOffset.set(pane, offset);
          st.paneRecords.set(pane, (st.paneRecords.get(pane) ?? 0) + 1);
          st.combiner.add(cols.keys[0], cols.payloads[0], t);
          st.records++;
          records++;
          if (t > st.maxEventTime) st.maxEventTime = t;
          const acc = slideOf(st, s);
          acc.records++;
          acc.latency.record((Date.now() - t) * 1000);
        }
      }
      st.nextOffset = offset + 1;
      resolveOffset(m.offset);
      if ((i & 1023) === 1023) await heartbeat();
    }
    endRun();
    st.queueLength = Math.max(0, Number(batch.highWatermark) - st.nextOffset);
    // Metric slides before the newest record's slide are complete for this partition (event time is ordered per partition).
    const upTo = Math.floor(st.maxEventTime / spec.slideMs) * spec.slideMs;
    const ms = completedSlides(st, upTo);
    if (ms.length > 0) await send(ms, st.partition);
    await heartbeat();
  };

  for (const st of states.values()) if (st.ended) log(`partition ${st.partition} already ended (committed)`);
  checkAllEnded();

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    log(`joined group ${groupId}: partitions ${(e.payload.memberAssignment[spec.topics.input] ?? []).join(',')}`);
  });
  // kafkajs restarts the consumer after retriable failures (e.g. a broker outage), and the supervisor
  // after a lost group coordinator; it then fetches from the committed offsets again and `nextOffset`
  // skips what this process already applied. A failure inside a window close is different: the
  // combiner already dropped the window's oldest pane, so only a process restart (from the committed
  // offset) rebuilds state consistently.
  const supervised = superviseConsumer(
    kafka,
    consumer,
    {
      groupId,
      topics: [spec.topics.input],
      fromBeginning: true,
      context: { topic: spec.topics.input },
      run: { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch },
      allowRestart: () => !poisoned && !finished,
    },
    (c) => {
      if (c.restart && !poisoned) {
        log(`consumer restarted by ${c.by} after: ${c.error.message}`);
        return;
      }
      if (!finished) {
        finished = true;
        rejectDone(c.error);
      }
    },
  );

  try {
    await supervised.start();
  } catch (e) {
    await out.disconnect().catch(() => {});
    throw wrapKafkaError(e, 'start worker consumer', { topic: spec.topics.input, groupId });
  }

  return {
    done,
    async stop() {
      await supervised.disconnect().catch(() => {});
      await out.disconnect().catch(() => {});
    },
    summary,
  };
}

/** Splits a results or state message in two (for messages over MAX_MESSAGE_BYTES). */
function splitMessage(m: OutputMessage): OutputMessage[] {
  if (m.kind === 'results') {
    const n = Math.max(m.forwarded.length, m.partials.length);
    if (n <= 1) throw new KafkaUnavailableError('one window output exceeds the message size limit', { partition: m.partition, lastPane: m.lastPane }, { retriable: false });
    const h = Math.ceil(n / 2);
    return [
      { ...m, forwarded: m.forwarded.slice(0, h), partials: m.partials.slice(0, h) },
      { ...m, forwarded: m.forwarded.slice(h), partials: m.partials.slice(h) },
    ];
  }
  if (m.kind === 'state') {
    if (m.entries.length <= 1) throw new KafkaUnavailableError('one state entry exceeds the message size limit', { partition: m.partition }, { retriable: false });
    const h = Math.ceil(m.entries.length / 2);
    return [
      { ...m, entries: m.entries.slice(0, h) },
      { ...m, entries: m.entries.slice(h) },
    ];
  }
  return [m];
}
