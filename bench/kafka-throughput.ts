// Bench: records/s through Kafka source → keyed count → Kafka sink at P = 8: a hand-wired pipeline and the engine (`sas run`).
// Run: npx tsx bench/kafka-throughput.ts [records=400000] ; writes results/bench/kafka.json.
// Starts the repo's broker (scripts/kafka/broker.sh) unless KAFKA_BROKERS is set. Never asserts on time.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { brokersFromEnv, createKafkaClient, createKafkaSink, createKafkaSource } from '../src/connectors/index.js';
import { ZipfWorkload } from '../src/tasks/workloads/zipf.js';
import { runCommand } from '../src/cli/run.js';
import { validateJob } from '../src/engine/config.js';
import { repoRoot } from './repo-root.js';

const ROOT = repoRoot(import.meta.url);
const P = 8;
const NUM_KEYS = 10_000;
const N = Number(process.argv[2] ?? 400_000);

function brokers(): string[] {
  const env = brokersFromEnv();
  if (env) return env;
  const r = spawnSync('bash', [join(ROOT, 'scripts/kafka/broker.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/kafka/broker.sh start failed');
  return [r.stdout.trim().split('\n').pop()!];
}

async function createTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: P, replicationFactor: 1 })), waitForLeaders: true });
  await admin.disconnect();
}

async function messageCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const offs = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offs.reduce((s, o) => s + Number(o.high), 0);
}

/** Source → per-key count only (no sink): the consuming side's share of the pipeline's cost. */
async function consumeOnly(kafka: Kafka, input: string): Promise<{ seconds: number; recordsPerSec: number }> {
  const counts = new Int32Array(NUM_KEYS);
  let processed = 0;
  let t0 = 0;
  let t1 = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const source = createKafkaSource(
    kafka,
    { topic: input, groupId: `bench-${randomUUID().slice(0, 8)}`, numKeys: NUM_KEYS, maxBatchRecords: 20_000, maxBytesPerPartition: 4 << 20 },
    {
      onBatch(b) {
        for (let i = 0; i < b.length; i++) counts[b.keys[i]]++;
        processed += b.length;
        if (processed >= N) {
          t1 = performance.now();
          finish();
        }
      },
    },
  );
  // Timed from the group join (fetching and decoding start then), to the last record processed.
  void source.joined().then(() => (t0 = performance.now()));
  await source.start();
  await done;
  await source.stop();
  const seconds = (t1 - t0) / 1000;
  return { seconds, recordsPerSec: processed / seconds };
}

interface PipelineResult {
  readonly partitionsConsumedConcurrently: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly outputMessages: number;
  readonly countsExact: boolean;
}

/** Consumes the input topic with a fresh group, counts per key, forwards each record (payload = running count) to the output topic. */
async function pipeline(kafka: Kafka, input: string, refCounts: Int32Array, concurrency: number): Promise<PipelineResult> {
  const output = `bench-out-${randomUUID().slice(0, 8)}`;
  await createTopics(kafka, [output]);
  const counts = new Int32Array(NUM_KEYS);
  const sink = createKafkaSink(kafka, { topic: output, numKeys: NUM_KEYS, partitioner: 'hash' });
  await sink.connect();
  let processed = 0;
  let t0 = 0;
  let t1 = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const source = createKafkaSource(
    kafka,
    { topic: input, groupId: `bench-${randomUUID().slice(0, 8)}`, numKeys: NUM_KEYS, partitionsConsumedConcurrently: concurrency, maxBatchRecords: 20_000, maxBytesPerPartition: 4 << 20 },
    {
      async onBatch(b) {
        for (let i = 0; i < b.length; i++) b.payloads[i] = ++counts[b.keys[i]];
        await sink.sendRecords(b, b.length);
        processed += b.length;
        if (processed >= N) {
          t1 = performance.now();
          finish();
        }
      },
    },
  );
  // Timed from the group join (fetching and decoding start then), to the last record processed.
  void source.joined().then(() => (t0 = performance.now()));
  await source.start();
  await done;
  await source.stop();
  await sink.disconnect();
  const seconds = (t1 - t0) / 1000;
  let exact = true;
  for (let k = 0; k < NUM_KEYS; k++) if (counts[k] !== refCounts[k]) exact = false;
  return {
    partitionsConsumedConcurrently: concurrency,
    records: processed,
    seconds,
    recordsPerSec: processed / seconds,
    outputMessages: await messageCount(kafka, output),
    countsExact: exact,
  };
}

interface EngineResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly commandSeconds: number;
  readonly outputMessages: number;
  readonly countsExact: boolean;
}

/**
 * 4. The engine itself, as `sas run` runs it: Kafka source → hash → P = 8 workers (keyed count, real
 * clock, worker threads) → final state → Kafka sink, offsets committed after the sink's flush.
 * `seconds` is the engine's wall time (first record taken to drained); `commandSeconds` adds the group
 * join and the producer connect.
 */
async function engineRun(kafka: Kafka, brokerList: string[], input: string, refCounts: Int32Array): Promise<EngineResult> {
  const output = `bench-out-${randomUUID().slice(0, 8)}`;
  await createTopics(kafka, [output]);
  const cfg = validateJob({
    clock: 'real',
    workers: P,
    capacity: 'unlimited',
    durationMs: 600_000,
    task: { name: 'keyedcount' },
    workload: { name: 'zipf', params: { numKeys: NUM_KEYS } },
    partitioner: { name: 'hash' },
    source: { kind: 'kafka', rate: 'unthrottled', kafka: { brokers: brokerList, topic: input, groupId: `bench-engine-${randomUUID().slice(0, 8)}`, stopAtEnd: true, maxQueuedRecords: 200_000, maxBatchRecords: 20_000 } },
    sink: { kind: 'kafka', kafka: { brokers: brokerList, topic: output } },
    output: { metrics: false },
  });
  const c0 = performance.now();
  const r = await runCommand(cfg, { quiet: true });
  const commandSeconds = (performance.now() - c0) / 1000;
  const records = r.kafka?.source?.taken ?? 0;
  const seconds = r.result.durationMs / 1000;
  // Final states: one message per key, value {"final":true,"key":k,"output":count}.
  const counts = new Int32Array(NUM_KEYS);
  const consumer = kafka.consumer({ groupId: `bench-read-${randomUUID().slice(0, 8)}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [output], fromBeginning: true });
  const want = r.kafka?.sink?.results ?? 0;
  let got = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const v = JSON.parse(message.value!.toString()) as { key: number; output: number };
        counts[v.key] = v.output;
        if (++got >= want) resolve();
      },
    });
  });
  await consumer.disconnect();
  let exact = true;
  for (let k = 0; k < NUM_KEYS; k++) if (counts[k] !== refCounts[k]) exact = false;
  return { records, seconds, recordsPerSec: records / seconds, commandSeconds, outputMessages: got, countsExact: exact };
}

async function main(): Promise<void> {
  const brokerList = brokers();
  const kafka = createKafkaClient({ brokers: brokerList, clientId: 'sas-bench', logLevel: 'error' });
  const input = `bench-in-${randomUUID().slice(0, 8)}`;
  await createTopics(kafka, [input]);

  const keys = new Int32Array(N);
  const payloads = new Int32Array(N);
  const eventTimes = new Float64Array(N);
  new ZipfWorkload({ numKeys: NUM_KEYS, exponent: 1.2, seed: 1 }).fill(keys, payloads, 0, N, 0);
  for (let i = 0; i < N; i++) eventTimes[i] = i;
  const ref = new Int32Array(NUM_KEYS);
  for (let i = 0; i < N; i++) ref[keys[i]]++;

  // 1. Produce the input (idempotent sink, hash partitioner).
  const sink = createKafkaSink(kafka, { topic: input, numKeys: NUM_KEYS });
  await sink.connect();
  const p0 = performance.now();
  await sink.sendRecords({ keys, payloads, eventTimes }, N);
  const produceSec = (performance.now() - p0) / 1000;
  await sink.disconnect();
  console.log(`produce: ${N} records in ${produceSec.toFixed(2)} s = ${Math.round(N / produceSec)} records/s`);

  // 2. Source → keyed count, no sink.
  const consume = await consumeOnly(kafka, input);
  console.log(`consume only: ${N} records in ${consume.seconds.toFixed(2)} s = ${Math.round(consume.recordsPerSec)} records/s`);

  // 3. Source → keyed count → sink, at 1 and 4 partitions consumed concurrently.
  const runs: PipelineResult[] = [];
  for (const c of [1, 4]) {
    const r = await pipeline(kafka, input, ref, c);
    runs.push(r);
    console.log(
      `pipeline (concurrency ${c}): ${r.records} records in ${r.seconds.toFixed(2)} s = ${Math.round(r.recordsPerSec)} records/s; ` +
        `output ${r.outputMessages} messages; counts exact: ${r.countsExact}`,
    );
  }

  const engine = await engineRun(kafka, brokerList, input, ref);
  console.log(
    `engine (sas run, P=${P} workers, keyed count): ${engine.records} records in ${engine.seconds.toFixed(2)} s = ${Math.round(engine.recordsPerSec)} records/s ` +
      `(${engine.commandSeconds.toFixed(2)} s with group join); output ${engine.outputMessages} final states; counts exact: ${engine.countsExact}`,
  );

  const result = {
    bench: 'kafka-throughput',
    date: new Date().toISOString(),
    // Load average at the end: other processes on the machine depress the figures; compare runs side by side.
    machine: { cpus: cpus().length, node: process.version, loadavg: loadavg() },
    broker: 'Kafka 4.1.0 single-node KRaft, 127.0.0.1, heap 512 MiB (scripts/kafka/broker.sh)',
    partitions: P,
    numKeys: NUM_KEYS,
    zipfExponent: 1.2,
    records: N,
    recordBytes: 16,
    produce: { seconds: produceSec, recordsPerSec: N / produceSec },
    consumeOnly: consume,
    pipeline: runs,
    engine,
  };
  mkdirSync(join(ROOT, 'results', 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'results', 'bench', 'kafka.json'), JSON.stringify(result, null, 2) + '\n');
  console.log('wrote results/bench/kafka.json');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
