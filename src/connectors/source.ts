// Kafka source: a consumer-group reader that decodes and validates records, commits only after they
// were processed (at-least-once), and pauses partitions for a target rate or downstream backpressure.
import { Partitioners } from 'kafkajs';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { z } from 'zod';
import { parseOrThrow } from '../common/validate.js';
import { decodeRecordInto, MALFORMED_REASONS, MAX_KEYS, MAX_PAYLOADS } from './codec.js';
import type { MalformedReason, RecordColumns } from './codec.js';
import { staticAssigner } from './assigner.js';
import { superviseConsumer, type SupervisedConsumer } from './consumer.js';
import { wrapKafkaError } from './errors.js';
import { RateLimiter } from './rate.js';

/** Options of the source (validated; errors name the field under `source`). */
export const kafkaSourceOptions = z.strictObject({
  /** Input topic. */
  topic: z.string().min(1),
  /** Consumer group id; committed offsets live under it. */
  groupId: z.string().min(1),
  /**
   * Partitions this member consumes (manual assignment inside the group, via the static assigner).
   * Absent = a share of the partitions no member claimed.
   */
  partitions: z.array(z.number().int().min(0)).min(1).optional(),
  /** Where a group with no committed offset starts. Default true (earliest). */
  fromBeginning: z.boolean().default(true),
  /** Keys must be in [0, numKeys); others are malformed ("key_range"). Default 2^31 − 1. */
  numKeys: z.number().int().min(1).max(MAX_KEYS).default(MAX_KEYS),
  /**
   * Payload ids must be in [0, numPayloads); others are malformed ("payload_range"). Default 2^31 (any non-negative int32);
   * `sas run` and `sas worker` set `payloadLimit` of the task's payload store.
   */
  numPayloads: z.number().int().min(1).max(MAX_PAYLOADS).default(MAX_PAYLOADS),
  /** Target rate in records/s over all partitions of this member; absent = unthrottled. */
  targetRate: z.number().positive().optional(),
  /** Records the rate limiter may bank (burst). Default max(1, targetRate / 10), i.e. 100 ms worth. */
  burst: z.number().int().min(1).optional(),
  /**
   * Rate-limit waits up to this long happen inside the batch handler (a timer); longer ones pause the
   * partition and resume it later, which costs a fetch cycle. Default 200 ms.
   */
  maxInlineWaitMs: z.number().int().min(0).default(200),
  /** Most records handed to one `onBatch` call. Default 10000. */
  maxBatchRecords: z.number().int().positive().default(10000),
  /** Topic that receives malformed messages (original key and value, reason in headers). Absent = count and skip. */
  deadLetterTopic: z.string().min(1).optional(),
  /** Partitions processed concurrently (kafkajs). Default 1: batches reach `onBatch` one at a time. */
  partitionsConsumedConcurrently: z.number().int().min(1).default(1),
  /**
   * When offsets are committed. "processed" (default): automatically, for every chunk whose `onBatch`
   * resolved. "manual": never automatically; the owner calls `commit()` once the records' effects are
   * durable (e.g. `sas run` commits after the windows holding them were written to the sink).
   */
  commit: z.enum(['processed', 'manual']).default('processed'),
  /** Commit processed offsets at least this often, ms ("processed" mode). Default 1000. */
  autoCommitIntervalMs: z.number().int().positive().default(1000),
  /** Group session timeout, ms. Default 30000 (kafkajs' default). */
  sessionTimeoutMs: z.number().int().positive().default(30000),
  /** Heartbeat interval, ms. Default 3000 (kafkajs' default). */
  heartbeatIntervalMs: z.number().int().positive().default(3000),
  /** Longest a fetch waits on the broker for data, ms. Default 500. */
  maxWaitTimeMs: z.number().int().positive().default(500),
  /** Bytes fetched per partition per request. Default 1 MiB (kafkajs' default). */
  maxBytesPerPartition: z.number().int().positive().default(1 << 20),
});

/** Input of `kafkaSourceOptions`. */
export type KafkaSourceOptions = z.input<typeof kafkaSourceOptions>;

/** Valid records of one chunk of one partition, as parallel typed arrays (ADR 0001's batch layout). */
export interface KafkaRecordBatch extends RecordColumns {
  readonly topic: string;
  readonly partition: number;
  /** Number of valid records (the typed arrays have exactly this length). */
  readonly length: number;
  /** Kafka offset of each valid record (offsets stay below 2^53). */
  readonly offsets: Float64Array;
  /** Malformed messages skipped in this chunk. */
  readonly malformed: number;
}

/** A malformed message, as reported to `onMalformed`. */
export interface MalformedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly reason: MalformedReason;
}

/** What the source calls. */
export interface KafkaSourceHandlers {
  /**
   * Processes one batch. The source resolves (and later commits) the batch's offsets only after the
   * returned promise resolves: a crash before then re-delivers it (at-least-once). A rejection is
   * reported to `onError` and the batch is retried by kafkajs' restart. Calls never overlap when
   * `partitionsConsumedConcurrently` is 1.
   */
  onBatch(batch: KafkaRecordBatch): Promise<void> | void;
  /** Each malformed message (already counted; dead-lettered first when configured). */
  onMalformed?(m: MalformedMessage): void;
  /**
   * Called after each chunk was handled (its valid records went to `onBatch`, its malformed ones were
   * counted), with the offset that follows the chunk's last message: the position to commit once the
   * chunk's records are durable.
   */
  onChunkDone?(partition: number, nextOffset: string): void;
  /**
   * Errors from `onBatch`, the dead-letter producer or the consumer. After a consumer crash the
   * error's `context.restart` says whether the consumer runs again (src/connectors/consumer.ts).
   */
  onError?(e: Error): void;
}

/** Injected time: `now` in ms and a timer for rate-limit resumes. Defaults: Date.now, setTimeout. */
export interface SourceClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Counters of a source. */
export interface KafkaSourceStats {
  /** Valid records handed to `onBatch` whose promise resolved. */
  readonly records: number;
  /** `onBatch` calls that resolved. */
  readonly batches: number;
  /** Malformed messages per reason. */
  readonly malformed: Readonly<Record<MalformedReason, number>>;
  /** Sum of `malformed`. */
  readonly malformedTotal: number;
  /** Malformed messages written to the dead-letter topic. */
  readonly deadLettered: number;
  /** Times a partition was paused because the target rate was reached (waits longer than maxInlineWaitMs). */
  readonly ratePauses: number;
  /** Times the source waited inline (at most maxInlineWaitMs) for rate tokens. */
  readonly rateWaits: number;
  /** Partitions currently assigned to this member, ascending. */
  readonly assigned: readonly number[];
}

/** A running consumer of one topic. */
export interface KafkaSource {
  /** Connects, joins the group and starts consuming; resolves once the consumer runs (not when it is assigned). */
  start(): Promise<void>;
  /** Resolves at the first group join after `start` with the assigned partitions. */
  joined(): Promise<readonly number[]>;
  /** Downstream backpressure: pause every assigned partition until `resume()`. Idempotent. */
  pause(): void;
  /** Ends downstream backpressure (partitions paused for the rate stay paused until their timer). */
  resume(): void;
  /** True between `pause()` and `resume()`. */
  readonly backpressured: boolean;
  /**
   * Commits `offset` (the next offset to read) for each partition ("manual" mode; also allowed in
   * "processed" mode). Throws KafkaUnavailableError when the broker refuses.
   */
  commit(offsets: ReadonlyArray<{ partition: number; offset: string }>): Promise<void>;
  /** Stops consuming, commits processed offsets ("processed" mode), disconnects. */
  stop(): Promise<void>;
  stats(): KafkaSourceStats;
}

const defaultClock: SourceClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Creates a Kafka source on `kafka`. Throws ConfigError naming the bad field. */
export function createKafkaSource(
  kafka: Kafka,
  options: KafkaSourceOptions,
  handlers: KafkaSourceHandlers,
  clock: SourceClock = defaultClock,
): KafkaSource {
  const o = parseOrThrow(kafkaSourceOptions, options, 'source');
  const topic = o.topic;
  const claim = o.partitions ? { [topic]: [...new Set(o.partitions)].sort((a, b) => a - b) } : null;
  const consumer: Consumer = kafka.consumer({
    groupId: o.groupId,
    partitionAssigners: [staticAssigner(claim)],
    sessionTimeout: o.sessionTimeoutMs,
    heartbeatInterval: o.heartbeatIntervalMs,
    maxWaitTimeInMs: o.maxWaitTimeMs,
    maxBytesPerPartition: o.maxBytesPerPartition,
    allowAutoTopicCreation: false,
  });
  const dlq: Producer | null = o.deadLetterTopic
    ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner })
    : null;
  const limiter =
    o.targetRate === undefined ? null : new RateLimiter(o.targetRate, o.burst ?? Math.max(1, Math.floor(o.targetRate / 10)), clock.now());

  const malformed = Object.fromEntries(MALFORMED_REASONS.map((r) => [r, 0])) as Record<MalformedReason, number>;
  let records = 0;
  let batches = 0;
  let deadLettered = 0;
  let ratePauses = 0;
  let rateWaits = 0;
  let assigned: number[] = [];
  let external = false;
  const ratePaused = new Map<number, unknown>(); // partition → timer handle
  let joinWaiters: ((p: readonly number[]) => void)[] = [];
  let lastJoin: readonly number[] | null = null;

  const report = (e: unknown): void => {
    if (handlers.onError) handlers.onError(e instanceof Error ? e : new Error(String(e)));
  };

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    lastJoin = assigned;
    // kafkajs keeps pauses across rebalances only for partitions it still owns: reapply ours.
    if (external && assigned.length > 0) consumer.pause([{ topic, partitions: assigned }]);
    const ws = joinWaiters;
    joinWaiters = [];
    for (const w of ws) w(assigned);
  });

  const pauseForRate = (partition: number, waitMs: number): void => {
    ratePauses++;
    const old = ratePaused.get(partition);
    if (old !== undefined) clock.clearTimeout(old);
    consumer.pause([{ topic, partitions: [partition] }]);
    const h = clock.setTimeout(() => {
      ratePaused.delete(partition);
      if (!external) consumer.resume([{ topic, partitions: [partition] }]);
    }, Math.max(1, waitMs));
    ratePaused.set(partition, h);
  };

  const deadLetter = async (bad: { m: KafkaMessage; reason: MalformedReason }[], partition: number): Promise<void> => {
    if (dlq === null || bad.length === 0) return;
    await dlq.send({
      topic: o.deadLetterTopic!,
      acks: -1,
      messages: bad.map(({ m, reason }) => ({
        key: m.key,
        value: m.value,
        headers: { 'sas-reason': reason, 'sas-topic': topic, 'sas-partition': String(partition), 'sas-offset': m.offset },
      })),
    });
    deadLettered += bad.length;
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const msgs = batch.messages;
    const partition = batch.partition;
    let i = 0;
    while (i < msgs.length) {
      if (!isRunning() || isStale()) return;
      // Paused (downstream or rate): leave the rest unresolved; it is fetched again after the resume.
      if (external || ratePaused.has(partition)) return;
      let n = Math.min(msgs.length - i, o.maxBatchRecords);
      if (limiter !== null) {
        let granted = limiter.take(n, clock.now());
        if (granted === 0) {
          const wait = limiter.waitMs(n, clock.now());
          if (wait > o.maxInlineWaitMs) {
            // Unresolved messages are fetched again after the resume.
            pauseForRate(partition, wait);
            return;
          }
          rateWaits++;
          await new Promise<void>((resolve) => clock.setTimeout(resolve, wait));
          if (!isRunning() || isStale()) return;
          granted = limiter.take(n, clock.now());
          if (granted === 0) continue;
        }
        n = granted;
      }
      const keys = new Int32Array(n);
      const payloads = new Int32Array(n);
      const eventTimes = new Float64Array(n);
      const offsets = new Float64Array(n);
      const cols = { keys, payloads, eventTimes };
      const bad: { m: KafkaMessage; reason: MalformedReason }[] = [];
      let valid = 0;
      for (let j = 0; j < n; j++) {
        const m = msgs[i + j];
        const reason = decodeRecordInto(m.key, m.value, o, cols, valid);
        if (reason === null) {
          offsets[valid++] = Number(m.offset);
        } else {
          bad.push({ m, reason });
        }
      }
      await deadLetter(bad, partition);
      for (const { m, reason } of bad) {
        malformed[reason]++;
        handlers.onMalformed?.({ topic, partition, offset: m.offset, reason });
      }
      if (valid > 0) {
        try {
          await handlers.onBatch({
            topic,
            partition,
            length: valid,
            keys: valid === n ? keys : keys.subarray(0, valid),
            payloads: valid === n ? payloads : payloads.subarray(0, valid),
            eventTimes: valid === n ? eventTimes : eventTimes.subarray(0, valid),
            offsets: valid === n ? offsets : offsets.subarray(0, valid),
            malformed: bad.length,
          });
        } catch (e) {
          // Malformed ones of this chunk will be counted again on redelivery: counters are per delivery.
          report(e);
          throw e;
        }
        records += valid;
        batches++;
      }
      resolveOffset(msgs[i + n - 1].offset);
      handlers.onChunkDone?.(partition, (BigInt(msgs[i + n - 1].offset) + 1n).toString());
      i += n;
      await heartbeat();
    }
  };

  // Every crash is reported; its error's context.restart says whether the consumer runs again.
  const supervised: SupervisedConsumer = superviseConsumer(
    kafka,
    consumer,
    {
      groupId: o.groupId,
      topics: [topic],
      fromBeginning: o.fromBeginning,
      context: { topic },
      run: {
        autoCommit: o.commit === 'processed',
        autoCommitInterval: o.autoCommitIntervalMs,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
        eachBatch,
      },
    },
    (c) => report(c.error),
  );

  return {
    async start() {
      try {
        if (dlq) await dlq.connect();
      } catch (e) {
        throw wrapKafkaError(e, 'start consumer', { topic, groupId: o.groupId });
      }
      await supervised.start();
    },
    joined() {
      if (lastJoin !== null) return Promise.resolve(lastJoin);
      return new Promise((resolve) => joinWaiters.push(resolve));
    },
    pause() {
      if (external) return;
      external = true;
      if (assigned.length > 0) consumer.pause([{ topic, partitions: assigned }]);
    },
    resume() {
      if (!external) return;
      external = false;
      const ps = assigned.filter((p) => !ratePaused.has(p));
      if (ps.length > 0) consumer.resume([{ topic, partitions: ps }]);
    },
    get backpressured() {
      return external;
    },
    async commit(offsets) {
      if (offsets.length === 0) return;
      try {
        await consumer.commitOffsets(offsets.map(({ partition, offset }) => ({ topic, partition, offset })));
      } catch (e) {
        throw wrapKafkaError(e, 'commit offsets', { topic, groupId: o.groupId });
      }
    },
    async stop() {
      for (const h of ratePaused.values()) clock.clearTimeout(h);
      ratePaused.clear();
      await supervised.disconnect();
      if (dlq) await dlq.disconnect();
    },
    stats() {
      let total = 0;
      for (const r of MALFORMED_REASONS) total += malformed[r];
      return { records, batches, malformed: { ...malformed }, malformedTotal: total, deadLettered, ratePauses, rateWaits, assigned };
    },
  };
}
