// Unit tests (no broker): connector options are validated up front and errors name the field.
import { describe, expect, it } from 'vitest';
import { ConfigError, SasError, UnknownNameError } from '../../src/common/errors.js';
import { brokersFromEnv, createKafkaClient, createKafkaSink, createKafkaSource, isRetriableKafkaError, KafkaUnavailableError, wrapKafkaError } from '../../src/connectors/index.js';

const kafka = createKafkaClient({ brokers: ['127.0.0.1:1'], logLevel: 'nothing' });

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).context.field as string;
  }
  throw new Error('expected a ConfigError');
}

describe('connector options', () => {
  it('client: brokers must be host:port', () => {
    expect(fieldOf(() => createKafkaClient({ brokers: ['localhost'] }))).toBe('kafka.brokers.0');
    expect(fieldOf(() => createKafkaClient({ brokers: [] }))).toBe('kafka.brokers');
    expect(fieldOf(() => createKafkaClient({ brokers: ['a:1'], logLevel: 'loud' as 'info' }))).toBe('kafka.logLevel');
  });

  it('source: names the bad field', () => {
    const h = { onBatch: () => {} };
    expect(fieldOf(() => createKafkaSource(kafka, { topic: '', groupId: 'g' }, h))).toBe('source.topic');
    expect(fieldOf(() => createKafkaSource(kafka, { topic: 't', groupId: 'g', targetRate: -1 }, h))).toBe('source.targetRate');
    expect(fieldOf(() => createKafkaSource(kafka, { topic: 't', groupId: 'g', partitions: [] }, h))).toBe('source.partitions');
    expect(fieldOf(() => createKafkaSource(kafka, { topic: 't', groupId: 'g', partitions: [-1] }, h))).toBe('source.partitions.0');
    expect(fieldOf(() => createKafkaSource(kafka, { topic: 't', groupId: 'g', extra: 1 } as never, h))).toBe('source');
  });

  it('sink: names the bad field and rejects unknown partitioners', () => {
    expect(fieldOf(() => createKafkaSink(kafka, { topic: 't', chunkRecords: 0 }))).toBe('sink.chunkRecords');
    expect(() => createKafkaSink(kafka, { topic: 't', partitioner: 'nope' })).toThrow(UnknownNameError);
  });

  it('KAFKA_BROKERS parsing', () => {
    expect(brokersFromEnv({ KAFKA_BROKERS: ' a:1, b:2 ,' })).toEqual(['a:1', 'b:2']);
    expect(brokersFromEnv({ KAFKA_BROKERS: ' ' })).toBeUndefined();
    expect(brokersFromEnv({})).toBeUndefined();
  });

  it('wrapKafkaError keeps the retriable flag and context; SasErrors pass through', () => {
    const e = wrapKafkaError(Object.assign(new Error('boom'), { retriable: false }), 'produce', { topic: 't' });
    expect(e).toBeInstanceOf(KafkaUnavailableError);
    expect(e.code).toBe('KAFKA_UNAVAILABLE');
    expect(e.retriable).toBe(false);
    expect(e.context).toMatchObject({ operation: 'produce', topic: 't' });
    expect(wrapKafkaError(new Error('x'), 'connect').retriable).toBe(false);
    // kafkajs gives up with a non-retriable wrapper around a retriable cause (ECONNREFUSED): retriable.
    const conn = Object.assign(new Error('ECONNREFUSED'), { name: 'KafkaJSConnectionError', retriable: true });
    const gaveUp = Object.assign(new Error('ECONNREFUSED'), { name: 'KafkaJSNonRetriableError', retriable: false, cause: conn });
    expect(isRetriableKafkaError(gaveUp)).toBe(true);
    expect(isRetriableKafkaError(Object.assign(new Error('n'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false }))).toBe(true);
    const fatal = Object.assign(new Error('bad'), { name: 'KafkaJSNonRetriableError', retriable: false, cause: Object.assign(new Error('auth'), { retriable: false }) });
    expect(isRetriableKafkaError(fatal)).toBe(false);
    expect(wrapKafkaError(gaveUp, 'produce').retriable).toBe(true);
    const own = new SasError('DATA_INVALID', 'x');
    expect(wrapKafkaError(own, 'y')).toBe(own);
  });
});
