// Builds the kafkajs client from validated options; the one place the connectors construct `Kafka`.
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { z } from 'zod';
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
