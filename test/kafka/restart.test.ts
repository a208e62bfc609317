// Integration test: the broker is stopped and restarted mid-run; producer and consumer resume with no loss.
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createKafkaSink, createKafkaSource } from '../../src/connectors/index.js';
import { announceSkip, brokerCommandAsync, countKeys, createTopic, ensureBroker, freePortPair, kafkaSkipReason, stopBroker, topicMessageCount, uniqueTopic, waitFor, zipfRecords } from './broker.js';

const skip = kafkaSkipReason();
announceSkip('kafka broker restart', skip);

const NUM_KEYS = 500;

describe.skipIf(skip !== null)('kafka broker restart (real broker on its own port)', () => {
  let kafka: Kafka;
  let producerKafka: Kafka;
  // A broker of its own on free ports, so the restart disturbs no other suite and no other checkout.
  let PORT = 0;

  beforeAll(async () => {
    PORT = await freePortPair();
    const brokers = ensureBroker(PORT);
    kafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-restart-test', logLevel: 'nothing' });
    // The sink's client has few kafkajs retries (~1 s): kafkajs gives up during the outage, so the
    // sink's own resend is what brings the producer back.
    producerKafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-restart-test-p', logLevel: 'nothing', retries: 2 });
  });

  afterAll(() => {
    if (PORT > 0) stopBroker(PORT, 'clean');
  });

  it('producer and consumer resume after a restart: every record id arrives, per-key counts exact after dedupe', async () => {
    const topic = uniqueTopic('restart');
    await createTopic(kafka, topic, 2);
    const N = 12_000;
    const CHUNK = 200;
    const recs = zipfRecords(N, NUM_KEYS, 21);

    const seen = new Uint8Array(N); // deliveries per record id (payload id = record index)
    const dedupedCounts = new Int32Array(NUM_KEYS);
    let distinct = 0;
    let deliveries = 0;
    const errors: string[] = [];
    const src = createKafkaSource(
      kafka,
      { topic, groupId: `g-${topic}`, numKeys: NUM_KEYS, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 },
      {
        onBatch(b) {
          deliveries += b.length;
          for (let i = 0; i < b.length; i++) {
            const id = b.payloads[i];
            if (seen[id]++ === 0) {
              distinct++;
              dedupedCounts[b.keys[i]]++;
            }
          }
        },
        onError: (e) => void errors.push(`${e.name}: ${e.message}`),
      },
    );
    const sink = createKafkaSink(producerKafka, { topic, numKeys: NUM_KEYS, chunkRecords: CHUNK });
    await sink.connect();
    await src.start();

    // Sends records [from, to) chunk by chunk.
    const produce = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += CHUNK) await sink.sendRecords(recs, Math.min(CHUNK, to - i), i);
    };
    const A = N / 3;
    const B = (2 * N) / 3;

    try {
      // 1. A third is produced with the broker up; wait until half of it is consumed.
      await produce(0, A);
      await waitFor(() => distinct >= A / 2, 60_000, 'half of the first third consumed').catch((e: Error) => {
        throw new Error(`${e.message}; consumer errors: ${errors.join(' | ') || 'none'}`);
      });
      // 2. The second third is produced while the broker shuts down (some requests may be cut off).
      const stopping = brokerCommandAsync('stop', PORT);
      const middle = produce(A, B);
      middle.catch(() => {}); // awaited below; keeps a failure from being reported as unhandled first
      await stopping;
      const distinctAtStop = distinct;
      // 3. The last third is sent while the broker is down: kafkajs gives up (retries: 2) and the
      //    sink resends until the broker is back.
      const last = produce(B, N);
      last.catch(() => {});
      await brokerCommandAsync('start', PORT);
      await middle;
      await last;
      await waitFor(() => distinct >= N, 120_000, 'every record id after the restart').catch((e: Error) => {
        throw new Error(`${e.message} (${distinct} of ${N}); consumer errors: ${errors.join(' | ') || 'none'}`);
      });
      expect(distinctAtStop).toBeLessThan(N);
      expect(distinct).toBe(N);
      expect(Array.from(dedupedCounts)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
      // Idempotent producer: requests resent across the restart were written once.
      expect(await topicMessageCount(kafka, topic)).toBe(N);
      expect(deliveries).toBeGreaterThanOrEqual(N);
      expect(sink.stats().retries).toBeGreaterThan(0); // the producer really lived through the outage
      console.info(
        `[kafka restart] ${N} records; ${distinctAtStop} consumed when the broker stopped; ` +
          `${deliveries - N} redelivered; sink retries ${sink.stats().retries}`,
      );
    } finally {
      await src.stop().catch(() => {});
      await sink.disconnect().catch(() => {});
    }
  });
});
