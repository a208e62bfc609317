// Kafka as the source and sink of an engine run (`sas run` with source.kind / sink.kind = kafka):
// a pull adapter over the consumer-group source with manual commits, and a sink writing results.
import type { Kafka, Message } from 'kafkajs';
import { ConfigError, SasError } from '../common/errors.js';
import type { JobConfig } from '../engine/config.js';
import type { Sink } from '../engine/sink.js';
import type { PullSource } from '../engine/source.js';
import { buildPayloads } from '../tasks/index.js';
import { brokersFromEnv, createKafkaClient, requireTopics } from './client.js';
import { payloadLimit } from './codec.js';
import { isRetriableKafkaError, wrapKafkaError } from './errors.js';
import { createKafkaSink, type KafkaSink, type KafkaSinkStats } from './sink.js';
import { createKafkaSource, type KafkaRecordBatch, type KafkaSource, type KafkaSourceStats } from './source.js';

/** Options of the run source (`source.kafka` of the job config, brokers resolved). */
export interface KafkaRunSourceOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly fromBeginning: boolean;
  readonly stopAtEnd: boolean;
  readonly deadLetterTopic?: string;
  readonly maxQueuedRecords: number;
  readonly maxBatchRecords: number;
  /** Keys must be in [0, numKeys) (the workload's key space). */
  readonly numKeys: number;
  /** Payload ids must be in [0, numPayloads) (`payloadLimit` of the task's store). Default 2^31. */
  readonly numPayloads?: number;
}

/** What the run source did. */
export interface KafkaRunSourceStats extends KafkaSourceStats {
  /** Records the engine took. */
  readonly taken: number;
  /** Commits made, and the last committed position per partition (next offset to read). */
  readonly commits: number;
  readonly committed: Readonly<Record<number, string>>;
  /** Records read from Kafka but not taken by the engine when the run ended (re-read by the next run). */
  readonly leftQueued: number;
  /**
   * Records Kafka delivered again within the run (after a rebalance or a broker restart the consumer
   * restarts from the last commit) and that were dropped because this run already had them.
   */
  readonly redelivered: number;
}

type Item =
  | { readonly kind: 'records'; readonly batch: KafkaRecordBatch; at: number }
  | { readonly kind: 'position'; readonly partition: number; readonly next: string };

/**
 * A Kafka topic as the engine's pull source. The consumer reads ahead into a bounded queue (partitions
 * are paused above `maxQueuedRecords` and resumed below half of it); the engine takes records from the
 * queue. Offsets are committed manually: a chunk's position is committed only after the engine said
 * that every record it took up to that point is processed and its outputs flushed
 * (`processedThrough`), so a crash re-reads, never loses (at-least-once).
 */
export class KafkaPullSource implements PullSource {
  private readonly queue: Item[] = [];
  private head = 0;
  private queued = 0;
  private taken = 0;
  private paused = false;
  private fatal: SasError | undefined;
  private waiter: (() => void) | undefined;
  /** Positions taken by the engine, tagged with the pane: committed once the pane is processed. */
  private readonly positions: { pane: number; partition: number; next: string }[] = [];
  private readonly takenNext = new Map<number, bigint>();
  /** Per partition, the offset after the last message received in this run: earlier ones are redeliveries. */
  private readonly receivedNext = new Map<number, bigint>();
  private redelivered = 0;
  private readonly committedNext = new Map<number, string>();
  private commits = 0;
  /** Partition → end offset to reach (stopAtEnd), fetched at start. */
  private ends: Map<number, bigint> | undefined;
  private readonly source: KafkaSource;

  private constructor(
    private readonly kafka: Kafka,
    private readonly o: KafkaRunSourceOptions,
  ) {
    this.source = createKafkaSource(
      kafka,
      {
        topic: o.topic,
        groupId: o.groupId,
        fromBeginning: o.fromBeginning,
        numKeys: o.numKeys,
        numPayloads: o.numPayloads,
        deadLetterTopic: o.deadLetterTopic,
        maxBatchRecords: o.maxBatchRecords,
        commit: 'manual',
      },
      {
        onBatch: (b) => this.onBatch(b),
        onChunkDone: (partition, next) => this.onChunkDone(partition, next),
        onError: (e) => {
          // kafkajs restarts the consumer after retriable crashes; anything else ends the run.
          const ctx = (e as SasError).context as { restart?: boolean } | undefined;
          if (ctx?.restart === false || !(e instanceof SasError)) this.fatal ??= wrapKafkaError(e, 'consume', { topic: o.topic, groupId: o.groupId });
          this.signal();
        },
      },
    );
  }

  /**
   * Opens the source: checks that the topic (and the dead-letter topic) exist, reads the end offsets
   * (stopAtEnd) and the group's committed offsets, joins the group and starts consuming. Throws
   * ConfigError naming `source.kafka.topic` / `source.kafka.deadLetterTopic` for a missing topic,
   * KafkaUnavailableError when Kafka fails.
   */
  static async open(kafka: Kafka, o: KafkaRunSourceOptions, retryForMs = 30_000): Promise<KafkaPullSource> {
    const topics = [{ topic: o.topic, field: 'source.kafka.topic' }];
    if (o.deadLetterTopic !== undefined) topics.push({ topic: o.deadLetterTopic, field: 'source.kafka.deadLetterTopic' });
    const s = new KafkaPullSource(kafka, o);
    // A fresh broker answers NOT_COORDINATOR / leader-not-available for a while: retry what is retriable.
    const deadline = Date.now() + retryForMs;
    for (let backoff = 200; ; backoff = Math.min(backoff * 2, 2000)) {
      try {
        await requireTopics(kafka, topics);
        await s.readOffsets();
        break;
      } catch (e) {
        if (!isRetriableKafkaError(e) || Date.now() + backoff > deadline) throw wrapKafkaError(e, 'open source', { topic: o.topic, groupId: o.groupId });
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
    await s.source.start();
    return s;
  }

  /** stopAtEnd: the end offset to reach and the start position of every partition. */
  private async readOffsets(): Promise<void> {
    const o = this.o;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const topicOffsets = await admin.fetchTopicOffsets(o.topic);
      if (!o.stopAtEnd) return;
      const [group] = await admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] });
      const committed = new Map(group.partitions.map((p) => [p.partition, BigInt(p.offset)]));
      this.ends = new Map();
      for (const p of topicOffsets) {
        const high = BigInt(p.high);
        const c = committed.get(p.partition) ?? -1n;
        const start = c >= 0n ? c : o.fromBeginning ? BigInt(p.low) : high;
        this.takenNext.set(p.partition, start);
        this.ends.set(p.partition, high);
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private onBatch(b: KafkaRecordBatch): void {
    const seen = this.receivedNext.get(b.partition);
    if (seen !== undefined && b.length > 0 && b.offsets[0] < Number(seen)) {
      // Redelivered (the consumer restarted from the last commit): keep only what this run has not had.
      let from = 0;
      while (from < b.length && b.offsets[from] < Number(seen)) from++;
      this.redelivered += from;
      if (from === b.length) return;
      b = {
        ...b,
        length: b.length - from,
        keys: b.keys.subarray(from),
        payloads: b.payloads.subarray(from),
        eventTimes: b.eventTimes.subarray(from),
        offsets: b.offsets.subarray(from),
      };
    }
    this.push({ kind: 'records', batch: b, at: 0 });
    this.queued += b.length;
    if (!this.paused && this.queued >= this.o.maxQueuedRecords) {
      this.paused = true;
      this.source.pause();
    }
  }

  private onChunkDone(partition: number, next: string): void {
    const n = BigInt(next);
    const seen = this.receivedNext.get(partition);
    if (seen !== undefined && n <= seen) return; // a redelivered chunk: its position is already queued
    this.receivedNext.set(partition, n);
    this.push({ kind: 'position', partition, next });
  }

  private push(item: Item): void {
    this.queue.push(item);
    this.signal();
  }

  private signal(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** True when stopAtEnd is set and every partition was taken through its end offset. */
  private atEnd(): boolean {
    if (!this.ends) return false;
    for (const [p, end] of this.ends) if ((this.takenNext.get(p) ?? 0n) < end) return false;
    return true;
  }

  take(keys: Int32Array, payloads: Int32Array, n: number, pane: number): number {
    if (this.fatal) throw this.fatal;
    let out = 0;
    const q = this.queue;
    while (this.head < q.length) {
      const it = q[this.head];
      if (it.kind === 'position') {
        this.positions.push({ pane, partition: it.partition, next: it.next });
        this.takenNext.set(it.partition, BigInt(it.next));
        this.head++;
        continue;
      }
      if (out === n) break;
      const b = it.batch;
      const m = Math.min(n - out, b.length - it.at);
      keys.set(b.keys.subarray(it.at, it.at + m), out);
      payloads.set(b.payloads.subarray(it.at, it.at + m), out);
      it.at += m;
      out += m;
      if (it.at === b.length) this.head++;
    }
    if (this.head > 1024 && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    this.queued -= out;
    this.taken += out;
    if (this.paused && this.queued * 2 < this.o.maxQueuedRecords) {
      this.paused = false;
      this.source.resume();
    }
    return out;
  }

  get ended(): boolean {
    return this.head === this.queue.length && this.atEnd();
  }

  wait(maxMs: number): Promise<void> {
    if (this.head < this.queue.length || this.fatal) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, maxMs);
      this.waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  async processedThrough(pane: number): Promise<void> {
    const latest = new Map<number, string>();
    let i = 0;
    for (; i < this.positions.length && this.positions[i].pane <= pane; i++) latest.set(this.positions[i].partition, this.positions[i].next);
    if (i === 0) return;
    this.positions.splice(0, i);
    const offsets = [...latest].map(([partition, offset]) => ({ partition, offset }));
    await this.source.commit(offsets);
    this.commits++;
    for (const { partition, offset } of offsets) this.committedNext.set(partition, offset);
  }

  /** Stops consuming and disconnects (uncommitted records are read again by the next run of the group). */
  async close(): Promise<void> {
    this.signal();
    await this.source.stop();
  }

  stats(): KafkaRunSourceStats {
    return {
      ...this.source.stats(),
      taken: this.taken,
      commits: this.commits,
      committed: Object.fromEntries(this.committedNext),
      leftQueued: this.queued,
      redelivered: this.redelivered,
    };
  }
}

/** Options of the run sink (`sink.kafka` of the job config, brokers resolved). */
export interface KafkaRunSinkOptions {
  readonly topic: string;
  readonly partitioner: string;
  readonly chunkRecords: number;
  readonly maxPendingResults: number;
  readonly numKeys: number;
}

/**
 * Writes every result of a run to a topic through the idempotent producer: one message per result,
 * key = the record key as a decimal string, value = JSON `{"window":start,"key":k,"merged":bool,"output":…}`
 * for windowed tasks and `{"final":true,"key":k,"output":…}` for the final state of global tasks.
 * Results are sent in the background in order; `flush()` resolves when all handed over are acknowledged.
 */
export class KafkaResultSink implements Sink {
  private pending: Message[] = [];
  private unacked = 0;
  private chain: Promise<void> = Promise.resolve();
  private error: unknown;
  private results = 0;

  private constructor(
    private readonly sink: KafkaSink,
    private readonly o: KafkaRunSinkOptions,
  ) {}

  /** Checks that the topic exists (else ConfigError naming `sink.kafka.topic`), connects the producer. Throws KafkaUnavailableError. */
  static async open(kafka: Kafka, o: KafkaRunSinkOptions): Promise<KafkaResultSink> {
    await requireTopics(kafka, [{ topic: o.topic, field: 'sink.kafka.topic' }]);
    const sink = createKafkaSink(kafka, { topic: o.topic, partitioner: o.partitioner, numKeys: o.numKeys, chunkRecords: o.chunkRecords });
    await sink.connect();
    return new KafkaResultSink(sink, o);
  }

  window(windowStart: number, key: number, output: unknown, viaReducer: boolean): void {
    this.add(key, { window: windowStart, key, merged: viaReducer, output });
  }

  finalState(key: number, output: unknown): void {
    this.add(key, { final: true, key, output });
  }

  private add(key: number, value: object): void {
    this.pending.push({ key: String(key), value: JSON.stringify(value) });
    this.unacked++;
    this.results++;
    if (this.pending.length >= this.o.chunkRecords) this.ship();
  }

  /** Queues the pending messages for sending behind the earlier ones. */
  private ship(): void {
    if (this.pending.length === 0) return;
    const msgs = this.pending;
    this.pending = [];
    this.chain = this.chain.then(async () => {
      if (this.error !== undefined) return;
      try {
        await this.sink.sendMessages(msgs);
        this.unacked -= msgs.length;
      } catch (e) {
        this.error = e;
      }
    });
  }

  get backlogged(): boolean {
    return this.unacked >= this.o.maxPendingResults;
  }

  async flush(): Promise<void> {
    this.ship();
    await this.chain;
    if (this.error !== undefined) throw this.error;
  }

  /** Flushes, then disconnects the producer. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.sink.disconnect();
    }
  }

  stats(): KafkaSinkStats & { readonly results: number } {
    return { ...this.sink.stats(), results: this.results };
  }
}

/** The Kafka source and/or sink of one `sas run`. */
export interface KafkaRunIO {
  readonly pull?: KafkaPullSource;
  readonly sink?: KafkaResultSink;
  /** Stops the source (uncommitted records stay for the next run), flushes and disconnects the sink. */
  close(): Promise<KafkaRunIOStats>;
}

/** What `sas run` writes to kafka.json. */
export interface KafkaRunIOStats {
  readonly source?: KafkaRunSourceStats & { readonly topic: string; readonly groupId: string };
  readonly sink?: KafkaSinkStats & { readonly results: number; readonly topic: string };
}

function brokersOf(section: 'source' | 'sink', given: readonly string[] | undefined): string[] {
  const b = given ? [...given] : brokersFromEnv();
  if (!b || b.length === 0)
    throw new ConfigError(`${section}.kafka.brokers: no Kafka brokers given (set ${section}.kafka.brokers or KAFKA_BROKERS)`, { field: `${section}.kafka.brokers`, expected: 'host:port' });
  return b;
}

/**
 * Opens what `cfg` asks for: the source joins its group and starts reading, the sink connects. On a
 * failure, whatever was opened is closed again. `numKeys` is the workload's key space; payload ids
 * are bounded by the task's payload store (`buildPayloads` returns the same per-thread store that
 * `buildJob` built), so a record whose payload lies past it is malformed, not a crash in a task.
 */
export async function openKafkaRunIO(cfg: JobConfig, numKeys: number): Promise<KafkaRunIO> {
  const src = cfg.source.kind === 'kafka' ? cfg.source.kafka! : undefined;
  const numPayloads = src ? payloadLimit(buildPayloads({ name: cfg.task.name, params: cfg.task.params }, { name: cfg.workload.name, params: cfg.workload.params })) : undefined;
  const snk = cfg.sink.kind === 'kafka' ? cfg.sink.kafka! : undefined;
  let pull: KafkaPullSource | undefined;
  let sink: KafkaResultSink | undefined;
  try {
    if (snk) sink = await KafkaResultSink.open(createKafkaClient({ brokers: brokersOf('sink', snk.brokers), clientId: 'sas-run-sink', logLevel: 'nothing' }), { ...snk, numKeys });
    if (src) pull = await KafkaPullSource.open(createKafkaClient({ brokers: brokersOf('source', src.brokers), clientId: 'sas-run-source', logLevel: 'nothing' }), { ...src, numKeys, numPayloads });
  } catch (e) {
    await pull?.close().catch(() => undefined);
    await sink?.close().catch(() => undefined);
    throw e;
  }
  return {
    pull,
    sink,
    async close() {
      const out: { source?: KafkaRunIOStats['source']; sink?: KafkaRunIOStats['sink'] } = {};
      try {
        await pull?.close();
      } finally {
        await sink?.close();
      }
      if (pull && src) out.source = { ...pull.stats(), topic: src.topic, groupId: src.groupId };
      if (sink && snk) out.sink = { ...sink.stats(), topic: snk.topic };
      return out;
    },
  };
}

/** Lines for the run summary. */
export function describeKafkaRunIO(s: KafkaRunIOStats): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.source) {
    const bad = Object.entries(s.source.malformed)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${n} ${r}`);
    out['kafka source'] =
      `${s.source.taken.toLocaleString('en-US')} records from ${s.source.topic} (group ${s.source.groupId}), ${s.source.commits} commits` +
      (s.source.malformedTotal > 0 ? `, ${s.source.malformedTotal} malformed skipped (${bad.join(', ')})${s.source.deadLettered > 0 ? `, ${s.source.deadLettered} dead-lettered` : ''}` : '') +
      (s.source.leftQueued > 0 ? `, ${s.source.leftQueued} read ahead and left uncommitted` : '');
  }
  if (s.sink) out['kafka sink'] = `${s.sink.results.toLocaleString('en-US')} results to ${s.sink.topic}`;
  return out;
}
