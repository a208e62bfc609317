// Connector errors: Kafka failures as SasErrors with code KAFKA_UNAVAILABLE (src/common/errors.ts).
import { SasError } from '../common/errors.js';

/**
 * Kafka could not be reached or refused an operation. `retriable` mirrors the kafkajs error's own flag
 * (true for connection loss, leader changes, timeouts); `context` names the topic, group and operation.
 */
export class KafkaUnavailableError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('KAFKA_UNAVAILABLE', message, { retriable: options.retriable ?? true, context, cause: options.cause });
    this.name = 'KafkaUnavailableError';
  }
}

/** Wraps any error thrown by kafkajs during `operation` into a KafkaUnavailableError (SasErrors pass through). */
export function wrapKafkaError(e: unknown, operation: string, context: Record<string, unknown> = {}): SasError {
  if (e instanceof SasError) return e;
  const retriable = typeof e === 'object' && e !== null && 'retriable' in e ? Boolean((e as { retriable: unknown }).retriable) : true;
  const msg = e instanceof Error ? e.message : String(e);
  return new KafkaUnavailableError(`kafka ${operation} failed: ${msg}`, { operation, ...context }, { retriable, cause: e });
}
