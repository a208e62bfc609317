// Integration test: the broker is stopped and restarted mid-run; producer and consumer resume with no loss.
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createKafkaSink, createKafkaSource, openKafkaRunIO } from '../../src/connectors/index.js';
import { validateJob } from '../../src/engine/config.js';
import { buildJob, runJob, withIO } from '../../src/engine/job.js';
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
    // Phase log with times, printed on failure too: a stall names its phase.
    const t0 = Date.now();
    const phases: string[] = [];
    const phase = (what: string): void => void phases.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what} (distinct ${distinct}, sink retries ${sink.stats().retries})`);

    // On a stall, the error names the phase and lists the phases reached, with times.
    const fail = (e: Error): never => {
      throw new Error(`${e.message}; consumer errors: ${errors.join(' | ') || 'none'}; phases: ${phases.join('; ')}`);
    };
    try {
      // 1. A third is produced with the broker up; wait until half of it is consumed.
      await produce(0, A);
      phase('first third produced');
      await waitFor(() => distinct >= A / 2, 60_000, 'half of the first third consumed').catch(fail);
      phase('half of it consumed; stopping the broker');
      // 2. The second third is produced while the broker shuts down (some requests may be cut off).
      const stopping = brokerCommandAsync('stop', PORT);
      const middle = produce(A, B);
      middle.catch(() => {}); // awaited below; keeps a failure from being reported as unhandled first
      await stopping.catch(fail);
      phase('broker stopped');
      const distinctAtStop = distinct;
      // 3. The last third is sent while the broker is down: kafkajs gives up (retries: 2) and the
      //    sink resends until the broker is back.
      const last = produce(B, N);
      last.catch(() => {});
      await brokerCommandAsync('start', PORT).catch(fail);
      phase('broker started');
      await middle.catch(fail);
      phase('second third acknowledged');
      await last.catch(fail);
      phase('last third acknowledged');
      await waitFor(() => distinct >= N, 120_000, `every record id after the restart (${N})`).catch(fail);
      phase('every record consumed');
      expect(distinctAtStop).toBeLessThan(N);
      expect(distinct).toBe(N);
      expect(Array.from(dedupedCounts)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
      // Idempotent producer: requests resent across the restart were written once.
      expect(await topicMessageCount(kafka, topic)).toBe(N);
      expect(deliveries).toBeGreaterThanOrEqual(N);
      expect(sink.stats().retries).toBeGreaterThan(0); // the producer really lived through the outage
      console.info(
        `[kafka restart] ${N} records; ${distinctAtStop} consumed when the broker stopped; ` +
          `${deliveries - N} redelivered; sink retries ${sink.stats().retries}; phases: ${phases.join('; ')}`,
      );
    } finally {
      await src.stop().catch(() => {});
      await sink.disconnect().catch(() => {});
    }
  }, 480_000);

  it('a `sas run` job (Kafka source → keyed count → Kafka sink) lives through a broker restart: exact final counts', async () => {
    const input = uniqueTopic('restart-run-in');
    const output = uniqueTopic('restart-run-out');
    await createTopic(kafka, input, 2);
    await createTopic(kafka, output, 1);
    const N = 16_000;
    const recs = zipfRecords(N, NUM_KEYS, 33);
    for (let i = 0; i < N; i++) recs.payloads[i] = 0;
    const sink0 = createKafkaSink(kafka, { topic: input, numKeys: NUM_KEYS });
    await sink0.connect();
    await sink0.sendRecords(recs, N);
    await sink0.disconnect();

    const cfg = validateJob({
      clock: 'real',
      workers: 4,
      threads: 2,
      capacity: 'unlimited',
      durationMs: 240_000,
      task: { name: 'keyedcount' },
      workload: { name: 'zipf', params: { numKeys: NUM_KEYS } },
      // 4000 records/s with a small read-ahead: the consumer is still fetching when the broker goes away.
      source: { kind: 'kafka', rate: 4000, kafka: { topic: input, groupId: `g-${input}`, stopAtEnd: true, maxQueuedRecords: 1000, maxBatchRecords: 500 } },
      sink: { kind: 'kafka', kafka: { topic: output } },
      output: { metrics: false },
    });
    const job = buildJob(cfg);
    const brokers = [`127.0.0.1:${PORT}`];
    const io = await openKafkaRunIO({ ...cfg, source: { ...cfg.source, kafka: { ...cfg.source.kafka!, brokers } }, sink: { ...cfg.sink, kafka: { ...cfg.sink.kafka!, brokers } } }, NUM_KEYS);
    const running = runJob(withIO(job, io));
    running.catch(() => {});
    await waitFor(() => io.pull!.stats().taken >= 3000, 60_000, 'the job under way');
    await brokerCommandAsync('stop', PORT);
    const takenDuringOutage = io.pull!.stats().taken;
    await brokerCommandAsync('start', PORT);
    await running;
    const stats = await io.close();
    expect(takenDuringOutage).toBeLessThan(N);
    expect(stats.source!.taken).toBe(N);
    // Final state: one message per key on the output topic; every count exact (redeliveries dropped).
    const counts = new Int32Array(NUM_KEYS);
    const consumer = kafka.consumer({ groupId: `read-${output}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [output], fromBeginning: true });
    let got = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const v = JSON.parse(message.value!.toString()) as { key: number; output: number };
          counts[v.key] += v.output;
          if (++got >= stats.sink!.results) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(Array.from(counts)).toEqual(Array.from(countKeys(recs.keys, NUM_KEYS)));
    console.info(`[kafka restart, sas run] ${N} records; ${takenDuringOutage} taken when the broker stopped; ${stats.source!.redelivered} redelivered and dropped`);
  }, 300_000);
});
