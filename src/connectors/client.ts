// Builds the kafkajs client from validated options; the one place the connectors construct `Kafka`.
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { z } from 'zod';
import { parseOrThrow } from '../common/validate.js';

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
