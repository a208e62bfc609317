// Connector errors: Kafka failures as SasErrors with code KAFKA_UNAVAILABLE (src/common/errors.ts).
import { SasError } from '../common/errors.js';

/**
 * Kafka could not be reached or refused an operation. `retriable` says whether the same call may
 * succeed later (connection loss, leader change, timeout); `context` names the topic, group and operation.
 */
export class KafkaUnavailableError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('KAFKA_UNAVAILABLE', message, { retriable: options.retriable ?? true, context, cause: options.cause });
    this.name = 'KafkaUnavailableError';
  }
}

/**
 * Whether a kafkajs error is worth retrying: kafkajs wraps a retriable failure (e.g. ECONNREFUSED while
 * the broker restarts) into a non-retriable one once its own retries are spent, so, as kafkajs'
 * consumer does, look at the original cause and treat "retries exceeded" as retriable. Unlike kafkajs,
 * "group coordinator not found" counts as retriable too: kafkajs raises it after its retries on
 * COORDINATOR_NOT_AVAILABLE, which a fresh broker answers until its offsets topic has leaders.
 */
export function isRetriableKafkaError(e: unknown): boolean {
  let cur: unknown = e;
  for (let depth = 0; depth < 8 && typeof cur === 'object' && cur !== null; depth++) {
    const o = cur as { name?: unknown; retriable?: unknown; cause?: unknown };
    if (o.name === 'KafkaJSNumberOfRetriesExceeded' || o.name === 'KafkaJSGroupCoordinatorNotFound') return true;
    if (o.cause === undefined || o.cause === cur) return o.retriable === true;
    cur = o.cause;
  }
  return false;
}

/** Wraps any error thrown by kafkajs during `operation` into a KafkaUnavailableError (SasErrors pass through). */
export function wrapKafkaError(e: unknown, operation: string, context: Record<string, unknown> = {}): SasError {
  if (e instanceof SasError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new KafkaUnavailableError(`kafka ${operation} failed: ${msg}`, { operation, ...context }, { retriable: isRetriableKafkaError(e), cause: e });
}
