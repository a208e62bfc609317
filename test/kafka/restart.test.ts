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
  // A broker of its own on free ports, so the restart disturbs no other suite and no other checkout.
  let PORT = 0;

  beforeAll(async () => {
    PORT = await freePortPair();
    const brokers = ensureBroker(PORT);
    // Few kafkajs retries (~1 s): kafkajs gives up during the outage, so the sink's own retry and the
    // consumer's restart are what bring the pipeline back.
    kafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-restart-test', logLevel: 'nothing', retries: 2 });
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
      },
    );
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS, chunkRecords: CHUNK });
    await sink.connect();
    await src.start();

    // The producer sends chunk by chunk while the broker goes away and comes back.
    let sent = 0;
    const producing = (async () => {
      for (let from = 0; from < N; from += CHUNK) {
        await sink.sendRecords(recs, Math.min(CHUNK, N - from), from);
        sent = from + CHUNK;
      }
    })();
    producing.catch(() => {}); // awaited below; keeps a failure from being reported as unhandled first

    try {
      await waitFor(() => distinct >= N / 4, 60_000, 'a quarter of the records consumed');
      await brokerCommandAsync('stop', PORT);
      const sentAtStop = sent;
      const distinctAtStop = distinct;
      await brokerCommandAsync('start', PORT);
      await producing;
      await waitFor(() => distinct >= N, 120_000, 'every record id after the restart');
      expect(sentAtStop).toBeLessThan(N); // the restart really happened mid-run
      expect(distinctAtStop).toBeLessThan(N);
      expect(distinct).toBe(N);
      expect(Array.from(dedupedCounts)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
      // Idempotent producer: retried requests were written once.
      expect(await topicMessageCount(kafka, topic)).toBe(N);
      expect(deliveries).toBeGreaterThanOrEqual(N);
      expect(sink.stats().retries).toBeGreaterThan(0); // the producer really lived through the outage
      console.info(
        `[kafka restart] ${N} records; at stop: ${sentAtStop} sent, ${distinctAtStop} consumed; ` +
          `${deliveries - N} redelivered; sink retries ${sink.stats().retries}`,
      );
    } finally {
      await src.stop().catch(() => {});
      await sink.disconnect().catch(() => {});
    }
  });
});
