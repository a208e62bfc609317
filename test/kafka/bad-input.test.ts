// `sas run` on Kafka with bad input, against a real broker: a record whose payload id lies past the
// payload store is dead-lettered (payload_range) while the rest is counted exactly and committed; a
// missing topic fails at once with a ConfigError naming the field (exit 2 from the CLI).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
import { ConfigError } from '../../src/common/errors.js';
import type { SlideReport } from '../../src/common/metrics.js';
import { createKafkaClient, createKafkaSink, encodeRecordKey, encodeRecordValue, type RecordColumns } from '../../src/connectors/index.js';
import { validateJob, type JobConfig } from '../../src/engine/config.js';
import { buildJob } from '../../src/engine/job.js';
import { referenceWindowed } from '../../src/tasks/reference.js';
import { buildPayloads } from '../../src/tasks/index.js';
import { announceSkip, createTopic, ensureBroker, kafkaSkipReason, topicMessageCount, uniqueTopic } from './broker.js';

const skip = kafkaSkipReason();
announceSkip('kafka bad input', skip);

const NUM_KEYS = 300;
const ROOT = join(import.meta.dirname, '../..');

describe.skipIf(skip !== null)('sas run on Kafka: bad input (real broker)', () => {
  let kafka: Kafka;
  let brokers: string;

  beforeAll(() => {
    brokers = ensureBroker();
    kafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-test-bad-input', logLevel: 'nothing' });
  });

  function config(input: string, kafkaExtra: Record<string, unknown>, extra: Record<string, unknown> = {}): JobConfig {
    return validateJob({
      clock: 'real',
      workers: 2,
      threads: 2,
      capacity: 'unlimited',
      durationMs: 60_000,
      task: { name: 'wordcount' },
      workload: { name: 'zipf', params: { numKeys: NUM_KEYS, exponent: 1.2 } },
      partitioner: { name: 'hash' },
      source: { kind: 'kafka', rate: 'unthrottled', kafka: { brokers: [brokers], topic: input, groupId: `g-${input}`, stopAtEnd: true, ...kafkaExtra } },
      output: { metrics: false },
      ...extra,
    });
  }

  function records(cfg: JobConfig, n: number, seed: number): RecordColumns {
    const job = buildJob({ ...cfg, seed });
    const keys = new Int32Array(n);
    const payloads = new Int32Array(n);
    job.parts.workload.fill(keys, payloads, 0, n, 0);
    return { keys, payloads, eventTimes: new Float64Array(n).fill(5) };
  }

  async function produce(topic: string, cols: RecordColumns): Promise<void> {
    const sink = createKafkaSink(kafka, { topic, numKeys: NUM_KEYS });
    await sink.connect();
    await sink.sendRecords(cols, cols.keys.length);
    await sink.disconnect();
  }

  /** Every message of `topic` from the beginning, parsed, once `count` arrived. */
  async function readAll(topic: string, count: number): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${count} messages of ${topic}`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          out.push(JSON.parse(message.value!.toString()) as Record<string, unknown>);
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    return out;
  }

  function wordTotals(outputs: Iterable<{ key: number; output: unknown }>): Map<string, number> {
    const m = new Map<string, number>();
    for (const { key, output } of outputs) for (const [w, c] of output as [number, number][]) m.set(`${key}:${w}`, (m.get(`${key}:${w}`) ?? 0) + c);
    return m;
  }

  it('payload ids past the payload store are dead-lettered as payload_range; the rest is exact, every offset committed', async () => {
    const input = uniqueTopic('bad-payload-in');
    const output = uniqueTopic('bad-payload-out');
    const dlq = uniqueTopic('bad-payload-dlq');
    await createTopic(kafka, input, 2);
    await createTopic(kafka, output, 1);
    await createTopic(kafka, dlq, 1);
    const dir = mkdtempSync(join(tmpdir(), 'sas-bad-payload-'));
    const cfg = config(input, { deadLetterTopic: dlq }, { sink: { kind: 'kafka', kafka: { brokers: [brokers], topic: output } }, output: { metrics: true, dir, name: 'run' } });
    const size = buildPayloads({ name: 'wordcount' }, { name: 'zipf' }).size;
    const before = records(cfg, 3000, 3);
    const after = records(cfg, 2000, 4);
    await produce(input, before);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: [
        { partition: 0, key: encodeRecordKey(7), value: encodeRecordValue(7, size, 5) }, // one past the last sentence
        { partition: 1, key: encodeRecordKey(8), value: encodeRecordValue(8, 2 ** 31 - 1, 5) },
        { partition: 1, key: encodeRecordKey(9), value: encodeRecordValue(9, size - 1, 5) }, // the last sentence: valid
      ],
    });
    await producer.disconnect();
    await produce(input, after);
    const valid = 3000 + 1 + 2000;

    const r = await runCommand(cfg, { quiet: true });
    const src = r.kafka!.source!;
    expect(src.malformed.payload_range).toBe(2);
    expect(src.malformedTotal).toBe(2);
    expect(src.deadLettered).toBe(2);
    expect(src.taken).toBe(valid);
    expect(await topicMessageCount(kafka, dlq)).toBe(2);
    // Every offset, the dead-lettered ones included, is committed: the next run of the group reads nothing.
    expect(Object.values(src.committed).reduce((a, o) => a + Number(o), 0)).toBe(valid + 2);
    const again = await runCommand({ ...cfg, output: { ...cfg.output, metrics: false } }, { quiet: true });
    expect(again.kafka!.source!.taken).toBe(0);
    expect(again.kafka!.source!.malformedTotal).toBe(0);

    // The valid records' word counts are exact (summed over the ingestion-time windows) ...
    const keys = Int32Array.from([...before.keys, 9, ...after.keys]);
    const payloads = Int32Array.from([...before.payloads, size - 1, ...after.payloads]);
    const ref = referenceWindowed(buildJob(cfg).parts.op, { keys, payloads, timesMs: new Float64Array(valid) }, { sizeMs: 1000 });
    const outs = await readAll(output, r.kafka!.sink!.results);
    expect(wordTotals(outs.map((m) => ({ key: m.key as number, output: m.output })))).toEqual(wordTotals(ref));
    // ... and the slides count each of them once (throughput × slide length, and records in).
    const slides = readFileSync(join(r.dir!, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SlideReport);
    expect(slides.reduce((a, s) => a + Math.round((s.job.throughput * s.slideMs) / 1000), 0)).toBe(valid);
    expect(slides.reduce((a, s) => a + s.workers.reduce((b, w) => b + w.recordsIn, 0), 0)).toBe(valid);
  }, 180_000);

  it('a missing input, dead-letter or output topic is a ConfigError naming the field, before anything runs', async () => {
    const input = uniqueTopic('present');
    await createTopic(kafka, input, 1);
    const missing = uniqueTopic('missing');
    const cases: Array<[JobConfig, string]> = [
      [config(missing, {}), 'source.kafka.topic'],
      [config(input, { deadLetterTopic: missing }), 'source.kafka.deadLetterTopic'],
      [config(input, {}, { sink: { kind: 'kafka', kafka: { brokers: [brokers], topic: missing } } }), 'sink.kafka.topic'],
    ];
    for (const [cfg, field] of cases) {
      const err = await runCommand(cfg, { quiet: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('CONFIG_INVALID');
      expect((err as ConfigError).context).toMatchObject({ field, got: missing });
    }
    // Nothing was created on the way.
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.listTopics()).not.toContain(missing);
    await admin.disconnect();
  }, 120_000);

  it('`sas run` with a missing input topic exits 2 naming the topic and the field', () => {
    const missing = uniqueTopic('missing-cli');
    const dir = mkdtempSync(join(tmpdir(), 'sas-missing-topic-'));
    const yaml = [
      'clock: real',
      'workers: 2',
      'task: { name: keyedcount }',
      `workload: { name: zipf, params: { numKeys: ${NUM_KEYS} } }`,
      'source:',
      '  kind: kafka',
      `  kafka: { topic: ${missing}, groupId: g-${missing}, stopAtEnd: true }`,
      `output: { dir: ${join(dir, 'results')} }`,
    ].join('\n');
    writeFileSync(join(dir, 'job.yaml'), yaml);
    const p = spawnSync(process.execPath, [join(ROOT, 'bin/sas'), 'run', '-c', join(dir, 'job.yaml')], { cwd: dir, encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: brokers }, timeout: 120_000 });
    expect(p.status, p.stderr).toBe(2);
    expect(p.stderr).toContain('error [CONFIG_INVALID]');
    expect(p.stderr).toContain('source.kafka.topic');
    expect(p.stderr).toContain(missing);
  }, 150_000);
});
