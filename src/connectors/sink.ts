// Kafka sink: an idempotent kafkajs producer that writes records (codec) or outputs, routed by a sas partitioner.
import type { Kafka, Message, Producer } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import { z } from 'zod';
import { parseOrThrow } from '../common/validate.js';
import { encodeRecordKey, encodeRecordValue, MAX_KEYS, RECORD_VALUE_BYTES } from './codec.js';
import type { RecordColumns } from './codec.js';
import { isRetriableKafkaError, wrapKafkaError } from './errors.js';
import { createKafkaPartitioner } from './partitioner.js';

/** Options of the sink (validated; errors name the field under `sink`). */
export const kafkaSinkOptions = z.strictObject({
  /** Output topic. It must exist (auto-creation is off, so a typo fails instead of creating a topic). */
  topic: z.string().min(1),
  /** Registered sas partitioner that picks each message's partition. Default "hash". */
  partitioner: z.string().min(1).default('hash'),
  /** Parameters of the partitioner. Default {} (its own defaults). */
  partitionerParams: z.record(z.string(), z.unknown()).default({}),
  /** Dense key space of the message keys (see createKafkaPartitioner). Default 2^31 − 1. */
  numKeys: z.number().int().min(1).max(MAX_KEYS).default(MAX_KEYS),
  /** Seed of the partitioner. Default 0. */
  seed: z.number().int().default(0),
  /**
   * Records per produce request when sending columns. Default 1000: kafkajs groups a request's
   * messages per partition by copying arrays (cost grows with the square of the request size), so
   * large requests are slower, not faster (bench/kafka-throughput.ts).
   */
  chunkRecords: z.number().int().positive().default(1000),
  /** Compression of produce requests. Default "none" (records are 16 bytes; CPU is the scarce resource). */
  compression: z.enum(['none', 'gzip']).default('none'),
  /**
   * How long one request keeps being retried through retriable failures (broker restart, leader
   * change) after kafkajs' own retries gave up, ms. Default 120000. The idempotent producer makes the
   * resend safe: a request the broker already wrote is acknowledged, not written twice.
   */
  sendTimeoutMs: z.number().int().min(0).default(120_000),
});

/** Input of `kafkaSinkOptions`. */
export type KafkaSinkOptions = z.input<typeof kafkaSinkOptions>;

/** Counters of a sink. */
export interface KafkaSinkStats {
  /** Messages acknowledged by the broker. */
  readonly sent: number;
  /** Produce calls that completed. */
  readonly requests: number;
  /** Produce calls retried by the sink after kafkajs gave up on a retriable failure. */
  readonly retries: number;
}

/**
 * An idempotent producer (acks = all, unlimited retries, kafkajs' per-broker sequence numbers): a
 * retried request after a broker restart or a lost ack is written once. A `send*` promise resolves
 * only when every message is acknowledged; it rejects with KafkaUnavailableError.
 */
export interface KafkaSink {
  /** Connects the producer. */
  connect(): Promise<void>;
  /** Sends records `start .. start+n` of `cols`, encoded by the record codec (key = decimal key id). */
  sendRecords(cols: RecordColumns, n: number, start?: number): Promise<void>;
  /** Sends arbitrary messages (e.g. window outputs) to the sink topic, routed by the partitioner on their keys. */
  sendMessages(messages: Message[]): Promise<void>;
  /** Flushes nothing (sends are awaited) and disconnects. */
  disconnect(): Promise<void>;
  stats(): KafkaSinkStats;
}

/** Injected time for the sink's retry backoff. Defaults: Date.now, setTimeout. */
export interface SinkClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
}

const defaultClock: SinkClock = { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms) };

/** Creates a Kafka sink on `kafka`. Throws ConfigError / UnknownNameError for bad options. */
export function createKafkaSink(kafka: Kafka, options: KafkaSinkOptions, clock: SinkClock = defaultClock): KafkaSink {
  const o = parseOrThrow(kafkaSinkOptions, options, 'sink');
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: createKafkaPartitioner(o.partitioner, o.partitionerParams, { numKeys: o.numKeys, seed: o.seed }),
  });
  const compression = o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  let sent = 0;
  let requests = 0;

  let retries = 0;

  const send = async (messages: Message[]): Promise<void> => {
    if (messages.length === 0) return;
    const deadline = clock.now() + o.sendTimeoutMs;
    let backoff = 250;
    for (;;) {
      try {
        await producer.send({ topic: o.topic, messages, acks: -1, compression });
        break;
      } catch (e) {
        if (!isRetriableKafkaError(e) || clock.now() + backoff > deadline) {
          throw wrapKafkaError(e, 'produce', { topic: o.topic, messages: messages.length, retries });
        }
        retries++;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
    sent += messages.length;
    requests++;
  };

  return {
    async connect() {
      try {
        await producer.connect();
      } catch (e) {
        throw wrapKafkaError(e, 'connect producer', { topic: o.topic });
      }
    },
    async sendRecords(cols, n, start = 0) {
      for (let from = start; from < start + n; from += o.chunkRecords) {
        const to = Math.min(start + n, from + o.chunkRecords);
        const block = Buffer.allocUnsafe((to - from) * RECORD_VALUE_BYTES);
        const messages: Message[] = new Array(to - from);
        for (let i = from; i < to; i++) {
          const k = cols.keys[i];
          messages[i - from] = {
            key: encodeRecordKey(k),
            value: encodeRecordValue(k, cols.payloads[i], cols.eventTimes[i], block, (i - from) * RECORD_VALUE_BYTES),
          };
        }
        await send(messages);
      }
    },
    sendMessages: send,
    async disconnect() {
      await producer.disconnect();
    },
    stats: () => ({ sent, requests, retries }),
  };
}
