// Unit tests (no broker): connector options are validated up front and errors name the field.
import { describe, expect, it } from 'vitest';
import { ConfigError, SasError, UnknownNameError } from '../../src/common/errors.js';
import { brokersFromEnv, createKafkaClient, createKafkaSink, createKafkaSource, isRetriableKafkaError, KafkaPullSource, KafkaUnavailableError, openKafkaRunIO, wrapKafkaError } from '../../src/connectors/index.js';
import type { KafkaRecordBatch } from '../../src/connectors/index.js';
import { validateJob } from '../../src/engine/config.js';
import { buildJob, runJob } from '../../src/engine/job.js';

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
    // A fresh broker's coordinator shows up late; kafkajs calls the lookup's failure non-retriable.
    expect(isRetriableKafkaError(Object.assign(new Error('c'), { name: 'KafkaJSGroupCoordinatorNotFound', retriable: false }))).toBe(true);
    const fatal = Object.assign(new Error('bad'), { name: 'KafkaJSNonRetriableError', retriable: false, cause: Object.assign(new Error('auth'), { retriable: false }) });
    expect(isRetriableKafkaError(fatal)).toBe(false);
    expect(wrapKafkaError(gaveUp, 'produce').retriable).toBe(true);
    const own = new SasError('DATA_INVALID', 'x');
    expect(wrapKafkaError(own, 'y')).toBe(own);
  });
});

describe('job config: kafka source and sink of `sas run`', () => {
  const field = (raw: Record<string, unknown>): string | undefined => fieldOf(() => validateJob(raw));

  it('needs the real clock, a kafka section, and a fixed rate', () => {
    expect(field({ source: { kind: 'kafka', kafka: { topic: 't' } } })).toBe('clock');
    expect(field({ clock: 'real', source: { kind: 'kafka' } })).toBe('source.kafka');
    expect(field({ clock: 'real', sink: { kind: 'kafka' } })).toBe('sink.kafka');
    expect(field({ clock: 'real', source: { kind: 'kafka', rate: [{ rate: 1, durationMs: 1 }], kafka: { topic: 't' } } })).toBe('source.rate');
    expect(field({ clock: 'real', source: { kind: 'kafka', kafka: { topic: 't', brokers: ['nohost'] } } })).toBe('source.kafka.brokers.0');
    expect(field({ clock: 'real', source: { kind: 'kafka', kafka: { topic: '' } } })).toBe('source.kafka.topic');
    expect(field({ clock: 'real', source: { kind: 'files' } })).toBe('source.kind');
  });

  it('defaults: group sas-run, from the beginning, run for durationMs', () => {
    const cfg = validateJob({ clock: 'real', source: { kind: 'kafka', kafka: { topic: 't' } }, sink: { kind: 'kafka', kafka: { topic: 'o' } } });
    expect(cfg.source.kafka).toEqual({ topic: 't', groupId: 'sas-run', fromBeginning: true, stopAtEnd: false, maxQueuedRecords: 100_000, maxBatchRecords: 10_000 });
    expect(cfg.sink.kafka).toEqual({ topic: 'o', partitioner: 'hash', chunkRecords: 1000, maxPendingResults: 50_000 });
    expect(validateJob({}).source.kind).toBe('generator');
    expect(validateJob({}).sink.kind).toBe('count');
  });

  it('no brokers anywhere: the error names source.kafka.brokers, before anything connects', async () => {
    const saved = process.env.KAFKA_BROKERS;
    delete process.env.KAFKA_BROKERS;
    try {
      const cfg = validateJob({ clock: 'real', source: { kind: 'kafka', kafka: { topic: 't' } } });
      await expect(openKafkaRunIO(cfg, 10)).rejects.toMatchObject({ context: { field: 'source.kafka.brokers' } });
    } finally {
      if (saved !== undefined) process.env.KAFKA_BROKERS = saved;
    }
  });

  it('jobs other than `sas run` refuse a kafka source or sink instead of silently generating', async () => {
    const cfg = validateJob({ clock: 'real', maxRecords: 10, source: { kind: 'kafka', kafka: { topic: 't' } } });
    await expect(runJob(buildJob(cfg))).rejects.toMatchObject({ context: { field: 'source.kind' } });
    const cfg2 = validateJob({ clock: 'real', maxRecords: 10, sink: { kind: 'kafka', kafka: { topic: 't' } } });
    await expect(runJob(buildJob(cfg2))).rejects.toMatchObject({ context: { field: 'sink.kind' } });
  });
});

describe('KafkaPullSource queue (no broker): redeliveries dropped, positions tagged with the pane', () => {
  type Internals = {
    onBatch(b: KafkaRecordBatch): void;
    onChunkDone(partition: number, next: string): void;
    positions: { pane: number; partition: number; next: string }[];
  };
  const open = (): Pick<KafkaPullSource, 'take' | 'stats'> & Internals => {
    const Ctor = KafkaPullSource as unknown as new (k: unknown, o: unknown) => Pick<KafkaPullSource, 'take' | 'stats'> & Internals;
    return new Ctor(kafka, { topic: 't', groupId: 'g', fromBeginning: true, stopAtEnd: false, maxQueuedRecords: 1000, maxBatchRecords: 100, numKeys: 1000 });
  };
  const batch = (partition: number, first: number, n: number): KafkaRecordBatch => ({
    topic: 't',
    partition,
    length: n,
    keys: Int32Array.from({ length: n }, (_, i) => first + i),
    payloads: new Int32Array(n),
    eventTimes: new Float64Array(n),
    offsets: Float64Array.from({ length: n }, (_, i) => first + i),
    malformed: 0,
  });

  it('offsets already received in this run are dropped; each record is taken once; positions carry the pane', () => {
    const s = open();
    s.onBatch(batch(0, 0, 10));
    s.onChunkDone(0, '10');
    s.onBatch(batch(1, 0, 5));
    s.onChunkDone(1, '5');
    // The consumer restarts from offset 4 on partition 0 (a rebalance): 4..9 again, then 10..14 new.
    s.onBatch(batch(0, 4, 11));
    s.onChunkDone(0, '15');
    s.onBatch(batch(0, 4, 6)); // fully redelivered chunk
    s.onChunkDone(0, '10');
    const keys = new Int32Array(100);
    const got = s.take(keys, new Int32Array(100), 12, 7);
    const got2 = s.take(keys.subarray(12), new Int32Array(100), 100, 8);
    expect(got + got2).toBe(20);
    expect(Array.from(keys.subarray(0, 20)).sort((a, b) => a - b)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(s.stats().redelivered).toBe(12);
    // 12 taken in pane 7: partition 0's first chunk (10) and 2 of partition 1's; the rest in pane 8.
    expect(s.positions).toEqual([
      { pane: 7, partition: 0, next: '10' },
      { pane: 8, partition: 1, next: '5' },
      { pane: 8, partition: 0, next: '15' },
    ]);
  });
});
