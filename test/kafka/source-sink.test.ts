// Integration tests against a real Kafka broker: sink → topic → source, exact per-key counts, malformed
// messages, manual assignment, redelivery after a failed batch, rate limit and backpressure pauses.
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awaitGroupCoordinator,
  createKafkaClient,
  createKafkaPartitioner,
  createKafkaSink,
  createKafkaSource,
  encodeRecordKey,
  encodeRecordValue,
} from '../../src/connectors/index.js';
import type { KafkaRecordBatch, KafkaSource, SourceClock } from '../../src/connectors/index.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import { announceSkip, countKeys, createTopic, ensureBroker, freePortPair, kafkaSkipReason, topicMessageCount, uniqueTopic, waitFor, zipfRecords } from './broker.js';

const skip = kafkaSkipReason();
announceSkip('kafka source/sink', skip);

const NUM_KEYS = 1000;

describe.skipIf(skip !== null)('kafka source/sink (real broker)', () => {
  let kafka: Kafka;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(() => {
    const brokers = ensureBroker();
    kafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-test', logLevel: 'nothing' });
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  /** A clock whose time moves only when the source waits on it; timers fire on the next turn. */
  function virtualClock(): SourceClock {
    let t = 0;
    return {
      now: () => t,
      setTimeout: (fn, ms) => {
        t += ms;
        return setImmediate(fn);
      },
      clearTimeout: (h) => clearImmediate(h as ReturnType<typeof setImmediate>),
    };
  }

  /** A source that accumulates per-key counts and the payload ids it saw. */
  function countingSource(topic: string, groupId: string, extra: Record<string, unknown> = {}, clock?: SourceClock) {
    const counts = new Int32Array(NUM_KEYS);
    const seen = new Map<number, number>();
    const batches: KafkaRecordBatch[] = [];
    const src: KafkaSource = createKafkaSource(
      kafka,
      { topic, groupId, numKeys: NUM_KEYS, ...extra },
      {
        onBatch(b) {
          batches.push(b);
          for (let i = 0; i < b.length; i++) {
            counts[b.keys[i]]++;
            seen.set(b.payloads[i], (seen.get(b.payloads[i]) ?? 0) + 1);
          }
        },
      },
      clock,
    );
    cleanups.push(() => src.stop());
    return { src, counts, seen, batches };
  }

  async function rawProducer(): Promise<Producer> {
    const p = kafka.producer({ createPartitioner: createKafkaPartitioner('hash', {}, { numKeys: NUM_KEYS }) });
    await p.connect();
    cleanups.push(() => p.disconnect());
    return p;
  }

  it('sink routes by the sas partitioner; source counts every key exactly', async () => {
    const topic = uniqueTopic('roundtrip');
    const P = 4;
    const N = 20_000;
    await createTopic(kafka, topic, P);
    const recs = zipfRecords(N, NUM_KEYS, 11);
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS, partitioner: 'hash' });
    await sink.connect();
    cleanups.push(() => sink.disconnect());
    await sink.sendRecords(recs, N);
    expect(sink.stats().sent).toBe(N);
    expect(await topicMessageCount(kafka, topic)).toBe(N);

    const { src, counts, seen, batches } = countingSource(topic, `g-${topic}`);
    await src.start();
    await waitFor(() => src.stats().records >= N, 60_000, `${N} records`);
    expect(src.stats().records).toBe(N);
    expect(src.stats().malformedTotal).toBe(0);
    expect(Array.from(counts)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
    expect(seen.size).toBe(N);
    // Every record sits in the partition our hash partitioner chose for its key.
    const ref = createPartitioner('hash', { numWorkers: P, seed: 0, numKeys: NUM_KEYS, slideMs: 1000, clock: { nowMs: 0 } });
    let misplaced = 0;
    for (const b of batches) for (let i = 0; i < b.length; i++) if (ref.route(b.keys[i]) !== b.partition) misplaced++;
    expect(misplaced).toBe(0);
    expect(new Set(batches.map((b) => b.partition)).size).toBe(P);
  });

  it('shuffle adapter: 4000 records land exactly 1000 per partition', async () => {
    const topic = uniqueTopic('shuffle');
    await createTopic(kafka, topic, 4);
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS, partitioner: 'shuffle', chunkRecords: 500 });
    await sink.connect();
    cleanups.push(() => sink.disconnect());
    await sink.sendRecords(zipfRecords(4000, NUM_KEYS, 3), 4000);
    const admin = kafka.admin();
    await admin.connect();
    const offs = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(offs.map((o) => Number(o.high)).sort()).toEqual([1000, 1000, 1000, 1000]);
  });

  it('counts and skips malformed messages, keeps consuming, and can dead-letter them', async () => {
    const topic = uniqueTopic('malformed');
    const dlt = `${topic}-dlt`;
    await createTopic(kafka, topic, 2);
    await createTopic(kafka, dlt, 1);
    const p = await rawProducer();
    const N = 3000;
    const recs = zipfRecords(N, NUM_KEYS, 5);
    const good = (i: number) => ({ key: encodeRecordKey(recs.keys[i]), value: encodeRecordValue(recs.keys[i], recs.payloads[i], recs.eventTimes[i]) });
    const bad = [
      { key: '1', value: Buffer.from('{"key":1}') }, // value_length
      { key: '1', value: null }, // value_missing (tombstone)
      { key: '2000', value: encodeRecordValue(2000, 1, 1) }, // key_range (numKeys 1000)
      { key: '4', value: encodeRecordValue(4, -5, 1) }, // payload_range
      { key: '4', value: encodeRecordValue(4, 5, Number.POSITIVE_INFINITY) }, // event_time
      { key: '5', value: encodeRecordValue(4, 5, 1) }, // key_mismatch
      { key: '6', value: Buffer.from('garbage!') }, // value_length
    ];
    const half = N / 2;
    await p.send({ topic, messages: Array.from({ length: half }, (_, i) => good(i)) });
    await p.send({ topic, messages: bad });
    await p.send({ topic, messages: Array.from({ length: N - half }, (_, i) => good(half + i)) });

    const a = countingSource(topic, `g-${topic}-a`);
    const b = countingSource(topic, `g-${topic}-b`, { deadLetterTopic: dlt });
    await Promise.all([a.src.start(), b.src.start()]);
    await waitFor(() => a.src.stats().records >= N && b.src.stats().records >= N, 60_000, 'all valid records');
    for (const s of [a, b]) {
      const st = s.src.stats();
      expect(st.records).toBe(N);
      expect(st.malformedTotal).toBe(bad.length);
      expect(st.malformed).toEqual({ value_missing: 1, value_length: 2, key_range: 1, payload_range: 1, event_time: 1, key_mismatch: 1 });
      expect(Array.from(s.counts)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
    }
    expect(a.src.stats().deadLettered).toBe(0);
    expect(b.src.stats().deadLettered).toBe(bad.length);

    // The dead-letter topic holds exactly the malformed messages, reason in a header.
    const reasons: string[] = [];
    const c = kafka.consumer({ groupId: `g-${dlt}` });
    await c.connect();
    cleanups.push(() => c.disconnect());
    await c.subscribe({ topics: [dlt], fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => void reasons.push(String(message.headers?.['sas-reason'])) });
    await waitFor(() => reasons.length >= bad.length, 30_000, 'dead letters');
    expect(reasons.sort()).toEqual(['event_time', 'key_mismatch', 'key_range', 'payload_range', 'value_length', 'value_length', 'value_missing']);
    expect(await topicMessageCount(kafka, dlt)).toBe(bad.length);
  });

  it('manual assignment: two members of one group read exactly the partitions they claimed', async () => {
    const topic = uniqueTopic('assign');
    await createTopic(kafka, topic, 4);
    const group = `g-${topic}`;
    const x = countingSource(topic, group, { partitions: [0, 1] });
    const y = countingSource(topic, group, { partitions: [3, 2] });
    await x.src.start();
    expect(await x.src.joined()).toEqual([0, 1]);
    await y.src.start();
    await waitFor(
      () => x.src.stats().assigned.join() === '0,1' && y.src.stats().assigned.join() === '2,3',
      30_000,
      'both members assigned',
    );
    const N = 8000;
    const recs = zipfRecords(N, NUM_KEYS, 8);
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS });
    await sink.connect();
    cleanups.push(() => sink.disconnect());
    await sink.sendRecords(recs, N);
    await waitFor(() => x.src.stats().records + y.src.stats().records >= N, 60_000, 'all records over both members');
    expect(x.batches.every((b) => b.partition === 0 || b.partition === 1)).toBe(true);
    expect(y.batches.every((b) => b.partition === 2 || b.partition === 3)).toBe(true);
    expect(x.src.stats().records + y.src.stats().records).toBe(N);
    expect(x.src.stats().records).toBeGreaterThan(0);
    expect(y.src.stats().records).toBeGreaterThan(0);
    const total = new Int32Array(NUM_KEYS);
    for (let k = 0; k < NUM_KEYS; k++) total[k] = x.counts[k] + y.counts[k];
    expect(Array.from(total)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
  });

  it('a batch whose processing fails is delivered again; offsets are committed only after processing', async () => {
    const topic = uniqueTopic('redeliver');
    await createTopic(kafka, topic, 1);
    const N = 2000;
    const recs = zipfRecords(N, NUM_KEYS, 9);
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS });
    await sink.connect();
    cleanups.push(() => sink.disconnect());
    await sink.sendRecords(recs, N);
    const deliveries = new Map<number, number>(); // offset → times delivered
    const done = new Set<number>();
    const errors: Error[] = [];
    let failed = false;
    const src = createKafkaSource(
      kafka,
      { topic, groupId: `g-${topic}`, numKeys: NUM_KEYS, maxBatchRecords: 250 },
      {
        onBatch(b) {
          for (let i = 0; i < b.length; i++) deliveries.set(b.offsets[i], (deliveries.get(b.offsets[i]) ?? 0) + 1);
          if (!failed && b.offsets[0] <= 1000 && 1000 <= b.offsets[b.length - 1]) {
            failed = true;
            throw new Error('processing failed');
          }
          for (let i = 0; i < b.length; i++) done.add(b.offsets[i]);
        },
        onError: (e) => void errors.push(e),
      },
    );
    cleanups.push(() => src.stop());
    await src.start();
    await waitFor(() => done.size >= N, 60_000, 'all offsets processed');
    expect(done.size).toBe(N);
    expect(deliveries.get(1000)).toBe(2); // in the failed chunk: delivered again
    expect(deliveries.get(0)).toBe(1); // committed before the failure: not again
    expect(deliveries.get(N - 1)).toBe(1);
    expect(errors.some((e) => e.message === 'processing failed')).toBe(true);
    expect(src.stats().records).toBe(N);
    await src.stop();
    // Committed offset = end of the topic: a new member of the group reads nothing.
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: `g-${topic}`, topics: [topic] });
    await admin.disconnect();
    expect(committed[0].partitions[0].offset).toBe(String(N));
  });

  it('target rate: batches never exceed the burst and partitions are paused', async () => {
    const topic = uniqueTopic('rate');
    await createTopic(kafka, topic, 2);
    const N = 3000;
    const recs = zipfRecords(N, NUM_KEYS, 10);
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS });
    await sink.connect();
    cleanups.push(() => sink.disconnect());
    await sink.sendRecords(recs, N);
    // Virtual clocks: time advances only by the waits the source asks for, so tokens come only from
    // waiting and the counts below are exact lower bounds whatever the machine's load.
    // s waits for tokens inside the handler; q (maxInlineWaitMs 0) pauses the partition instead.
    const s = countingSource(topic, `g-${topic}`, { targetRate: 5000, burst: 250 }, virtualClock());
    const q = countingSource(topic, `g-${topic}-q`, { targetRate: 5000, burst: 500, maxInlineWaitMs: 0 }, virtualClock());
    await Promise.all([s.src.start(), q.src.start()]);
    await waitFor(() => s.src.stats().records >= N && q.src.stats().records >= N, 60_000, 'all records at the target rate');
    for (const [x, burst] of [[s, 250], [q, 500]] as const) {
      expect(x.src.stats().records).toBe(N);
      expect(Math.max(...x.batches.map((b) => b.length))).toBeLessThanOrEqual(burst);
      expect(Array.from(x.counts)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
    }
    // 3000 records through a full 250-record bucket refilled only by waits (each wait yields <= 250
    // tokens): at least 11 waits; through a 500-record bucket: at least 5 pauses.
    expect(s.src.stats().rateWaits).toBeGreaterThanOrEqual(11);
    expect(s.src.stats().ratePauses).toBe(0); // every wait (<= 50 ms) is within maxInlineWaitMs
    expect(q.src.stats().ratePauses).toBeGreaterThanOrEqual(5);
    expect(q.src.stats().rateWaits).toBe(0);
  });

  it('backpressure: no batch is delivered between pause() and resume()', async () => {
    const topic = uniqueTopic('pause');
    await createTopic(kafka, topic, 3);
    const N = 6000;
    const recs = zipfRecords(N, NUM_KEYS, 12);
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS });
    await sink.connect();
    cleanups.push(() => sink.disconnect());
    await sink.sendRecords(recs, N);
    let whilePaused = 0;
    let calls = 0;
    let records = 0;
    let src: KafkaSource | null = null;
    src = createKafkaSource(
      kafka,
      { topic, groupId: `g-${topic}`, numKeys: NUM_KEYS, maxBatchRecords: 100 },
      {
        onBatch(b) {
          if (src!.backpressured) whilePaused++;
          calls++;
          records += b.length;
          if (calls === 1) src!.pause();
        },
      },
    );
    cleanups.push(() => src!.stop());
    await src.start();
    await waitFor(() => calls >= 1, 30_000, 'first batch');
    expect(src.backpressured).toBe(true);
    // Several fetch cycles (maxWaitTime 500 ms) pass while paused.
    await new Promise((r) => setTimeout(r, 1500));
    expect(calls).toBe(1);
    src.resume();
    await waitFor(() => records >= N, 60_000, 'all records after resume');
    expect(records).toBe(N);
    expect(whilePaused).toBe(0);
  });

  it('awaitGroupCoordinator: resolves for a new group on the running broker; a dead broker fails with KAFKA_UNAVAILABLE naming the group', async () => {
    await awaitGroupCoordinator(kafka, `sas-test-coord-${Date.now()}`, 60_000);
    const port = await freePortPair(); // nothing listens there
    const dead = createKafkaClient({ brokers: [`127.0.0.1:${port}`], clientId: 'sas-test-dead', logLevel: 'nothing', retries: 0, connectionTimeoutMs: 500 });
    const err = await awaitGroupCoordinator(dead, 'g-dead', 1500).then(
      () => null,
      (e: unknown) => e as { code?: string; retriable?: boolean; context?: Record<string, unknown> },
    );
    expect(err?.code).toBe('KAFKA_UNAVAILABLE');
    expect(err?.retriable).toBe(true);
    expect(err?.context).toMatchObject({ operation: 'find group coordinator', groupId: 'g-dead' });
  });
});
