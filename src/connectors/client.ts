// Builds the kafkajs client from validated options; the one place the connectors construct `Kafka`.
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import { parseOrThrow } from '../common/validate.js';
import { isRetriableKafkaError, wrapKafkaError } from './errors.js';

/** Options of a Kafka client (validated; errors name the field under `kafka`). */
export const kafkaClientOptions = z.strictObject({
  /** Bootstrap brokers, "host:port". Required. */
  brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected "host:port"')).min(1),
  /** Client id shown in broker logs. Default "sas". */
  clientId: z.string().min(1).default('sas'),
  /** kafkajs log level. Default "error" (kafkajs' own default, "info", is chatty). */
  logLevel: z.enum(['nothing', 'error', 'warn', 'info', 'debug']).default('error'),
  /** TCP connect timeout, ms. Default 3000 (kafkajs: 1000, too short on a loaded 2-core machine). */
  connectionTimeoutMs: z.number().int().positive().default(3000),
  /** Request timeout, ms. Default 30000 (kafkajs' default). */
  requestTimeoutMs: z.number().int().positive().default(30000),
  /**
   * kafkajs' own retries per operation (exponential from 300 ms). Default 5 (kafkajs' default, ~10 s).
   * The sink retries further on its own (sink.sendTimeoutMs); the consumer restarts itself.
   */
  retries: z.number().int().min(0).default(5),
});

/** Input of `kafkaClientOptions`. */
export type KafkaClientOptions = z.input<typeof kafkaClientOptions>;

const LEVELS = {
  nothing: kafkaLogLevel.NOTHING,
  error: kafkaLogLevel.ERROR,
  warn: kafkaLogLevel.WARN,
  info: kafkaLogLevel.INFO,
  debug: kafkaLogLevel.DEBUG,
} as const;

/** Creates a kafkajs client. Throws ConfigError naming the bad field. */
export function createKafkaClient(options: KafkaClientOptions): Kafka {
  const o = parseOrThrow(kafkaClientOptions, options, 'kafka');
  return new Kafka({
    clientId: o.clientId,
    brokers: o.brokers,
    logLevel: LEVELS[o.logLevel],
    connectionTimeout: o.connectionTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    retry: { retries: o.retries },
  });
}

/** Brokers from the KAFKA_BROKERS environment variable (comma-separated), or undefined when unset or empty. */
export function brokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const v = env.KAFKA_BROKERS?.trim();
  if (!v) return undefined;
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** A topic a job needs, and the config field that names it (for the error). */
export interface RequiredTopic {
  readonly topic: string;
  readonly field: string;
}

/**
 * Checks that every topic of `topics` exists, with one metadata request (no auto-creation). Throws
 * ConfigError (code CONFIG_INVALID, context {field, topic}) naming the field of the first missing
 * one, so a typo fails at once instead of with kafkajs' "This server does not host this
 * topic-partition" after its retries; KafkaUnavailableError when the cluster cannot be asked.
 */
export async function requireTopics(kafka: Kafka, topics: readonly RequiredTopic[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = kafka.admin();
  let existing: Set<string>;
  try {
    await admin.connect();
    existing = new Set(await admin.listTopics());
  } catch (e) {
    throw wrapKafkaError(e, 'list topics', { topics: topics.map((t) => t.topic) });
  } finally {
    await admin.disconnect().catch(() => {});
  }
  for (const { topic, field } of topics) {
    if (!existing.has(topic))
      throw new ConfigError(`${field}: topic "${topic}" does not exist on the brokers; create it first (sas never creates topics)`, { field, got: topic, expected: 'an existing topic' });
  }
}

/**
 * Waits until the broker can coordinate consumer group `groupId`, polling with a group lookup.
 * A fresh broker creates its offsets topic on the first group request and answers "coordinator not
 * available" until that topic's partitions have leaders, which can take longer than kafkajs' own
 * retries on a loaded machine; kafkajs then fails the join with a non-retriable
 * KafkaJSGroupCoordinatorNotFound and does not restart the consumer. Call this before a consumer
 * joins. Throws KafkaUnavailableError (context: operation, groupId, waitedMs) when the coordinator is
 * still missing after `timeoutMs`, or at once on a non-retriable error.
 */
export async function awaitGroupCoordinator(kafka: Kafka, groupId: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  const admin = kafka.admin();
  try {
    for (let backoff = 250; ; backoff = Math.min(backoff * 2, 2000)) {
      try {
        await admin.connect();
        await admin.describeGroups([groupId]);
        return;
      } catch (e) {
        const waitedMs = Date.now() - t0;
        if (!isRetriableKafkaError(e) || waitedMs + backoff > timeoutMs) throw wrapKafkaError(e, 'find group coordinator', { groupId, waitedMs });
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
