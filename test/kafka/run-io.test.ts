// `sas run` with a Kafka source and sink, against a real broker: exact results, commits after the
// outputs are flushed (a second run of the group reads nothing, a third exactly the new records),
// malformed input counted and skipped, and a run that fails mid-way loses nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
import { createKafkaClient, createKafkaSink, KafkaPullSource } from '../../src/connectors/index.js';
import type { RecordColumns } from '../../src/connectors/index.js';
import { validateJob, type JobConfig } from '../../src/engine/config.js';
import { buildJob, runJob, withIO } from '../../src/engine/job.js';
import type { Sink } from '../../src/engine/sink.js';
import { referenceGlobal, referenceWindowed } from '../../src/tasks/reference.js';
import { announceSkip, createTopic, ensureBroker, kafkaSkipReason, uniqueTopic } from './broker.js';

const skip = kafkaSkipReason();
announceSkip('kafka run source/sink', skip);

const NUM_KEYS = 500;

describe.skipIf(skip !== null)('sas run with a kafka source and sink (real broker)', () => {
  let kafka: Kafka;
  let brokers: string;

  beforeAll(() => {
    brokers = ensureBroker();
    kafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-test-run-io', logLevel: 'nothing' });
  });

  function config(task: 'keyedcount' | 'wordcount', input: string, output: string | undefined, extra: Record<string, unknown> = {}): JobConfig {
    return validateJob({
      clock: 'real',
      workers: 4,
      threads: 2,
      capacity: 'unlimited',
      durationMs: 60_000,
      task: { name: task },
      workload: { name: 'zipf', params: { numKeys: NUM_KEYS, exponent: 1.2 } },
      partitioner: { name: task === 'wordcount' ? 'shuffle' : 'hash' },
      source: { kind: 'kafka', rate: 'unthrottled', kafka: { brokers: [brokers], topic: input, groupId: `g-${input}`, stopAtEnd: true, maxQueuedRecords: 5000, maxBatchRecords: 1000 } },
      ...(output ? { sink: { kind: 'kafka', kafka: { brokers: [brokers], topic: output } } } : {}),
      output: { metrics: false },
      ...extra,
    });
  }

  /** `n` records from the job's own generator (payload ids valid for its task). */
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

  /** Every message of `topic`, parsed, read from the beginning until `expect` messages arrived. */
  async function readAll(topic: string, count: number): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    const consumer = kafka.consumer({ groupId: `reader-${topic}-${out.length}-${Math.random()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${count} messages of ${topic}`)), 60_000);
      if (count === 0) {
        clearTimeout(timer);
        resolve();
        return;
      }
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

  /** Per-key totals of word-count outputs ([word, count] pairs) summed over windows. */
  function wordTotals(outputs: Iterable<{ key: number; output: unknown }>): Map<string, number> {
    const m = new Map<string, number>();
    for (const { key, output } of outputs) for (const [w, c] of output as [number, number][]) m.set(`${key}:${w}`, (m.get(`${key}:${w}`) ?? 0) + c);
    return m;
  }

  it('keyed count: Kafka in, Kafka out, exact; a second run reads nothing, a third exactly the new records', async () => {
    const input = uniqueTopic('run-in');
    const output = uniqueTopic('run-out');
    await createTopic(kafka, input, 3);
    await createTopic(kafka, output, 1); // one partition: the runs' outputs stay in order
    const cfg = config('keyedcount', input, output);
    const first = records(cfg, 20_000, 7);
    await produce(input, first);

    const r1 = await runCommand(cfg, { quiet: true });
    expect(r1.text).toContain('20,000 records from');
    const job = buildJob(cfg);
    const expected = referenceGlobal(job.parts.op, { keys: first.keys, payloads: first.payloads, timesMs: new Float64Array(20_000) });
    const got1 = await readAll(output, expected.length);
    expect(got1.every((m) => m.final === true)).toBe(true);
    expect(new Map(got1.map((m) => [m.key, m.output]))).toEqual(new Map(expected.map((e) => [e.key, e.output])));

    // The group committed everything: nothing is read again.
    const r2 = await runCommand(cfg, { quiet: true });
    expect(r2.text).toContain('0 records from');

    const more = records(cfg, 3_000, 8);
    await produce(input, more);
    const r3 = await runCommand(cfg, { quiet: true });
    expect(r3.text).toContain('3,000 records from');
    const expected3 = referenceGlobal(job.parts.op, { keys: more.keys, payloads: more.payloads, timesMs: new Float64Array(3_000) });
    const all = await readAll(output, expected.length + expected3.length);
    expect(new Map(all.slice(expected.length).map((m) => [m.key, m.output]))).toEqual(new Map(expected3.map((e) => [e.key, e.output])));
  }, 180_000);

  it('word count: windows by ingestion time, per-key word totals equal the reference; malformed messages are counted and skipped', async () => {
    const input = uniqueTopic('run-wc-in');
    const output = uniqueTopic('run-wc-out');
    await createTopic(kafka, input, 2);
    await createTopic(kafka, output, 1);
    const cfg = config('wordcount', input, output, { source: { kind: 'kafka', rate: 20_000, kafka: { brokers: [brokers], topic: input, groupId: `g-${input}`, stopAtEnd: true } } });
    const cols = records(cfg, 40_000, 3);
    await produce(input, cols);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: input, messages: [{ key: '1', value: 'not a record' }, { key: '9999999', value: Buffer.alloc(16) }, { value: null }] });
    await producer.disconnect();

    const r = await runCommand(cfg, { quiet: true });
    expect(r.kafka?.source?.taken).toBe(40_000);
    expect(r.kafka?.source?.malformedTotal).toBe(3);
    expect(r.text).toContain('3 malformed skipped');
    const job = buildJob(cfg);
    const ref = referenceWindowed(job.parts.op, { keys: cols.keys, payloads: cols.payloads, timesMs: new Float64Array(40_000) }, { sizeMs: 1000 });
    const all = await readAll(output, r.kafka!.sink!.results);
    // 40k records at 20k/s span several ingestion-time windows; summed over them, every key's word counts are exact.
    expect(new Set(all.map((m) => m.window)).size).toBeGreaterThanOrEqual(2);
    expect(wordTotals(all.map((m) => ({ key: m.key as number, output: m.output })))).toEqual(wordTotals(ref));
  }, 180_000);

  it('a run that fails after its first flushed window commits only what was output; the rerun reads exactly the rest', async () => {
    const input = uniqueTopic('run-fail-in');
    await createTopic(kafka, input, 2);
    const cfg = config('wordcount', input, undefined, { source: { kind: 'kafka', rate: 10_000, kafka: { brokers: [brokers], topic: input, groupId: `g-${input}`, stopAtEnd: true, maxBatchRecords: 1000 } } });
    const cols = records(cfg, 40_000, 5);
    await produce(input, cols);

    /** Keeps outputs; the second flush fails (a sink that dies mid-run). */
    class FailingSink implements Sink {
      readonly outputs: { key: number; output: unknown }[] = [];
      flushed = 0;
      private handed = 0;
      private flushes = 0;
      window(_w: number, key: number, output: unknown): void {
        this.outputs.push({ key, output });
        this.handed++;
      }
      finalState(): void {}
      async flush(): Promise<void> {
        if (++this.flushes >= 2) throw new Error('sink died');
        this.flushed = this.handed;
      }
    }
    const failing = new FailingSink();
    const job = buildJob(cfg);
    const pull = await KafkaPullSource.open(kafka, { ...cfg.source.kafka!, numKeys: NUM_KEYS });
    await expect(runJob(withIO(job, { pull, sink: failing }))).rejects.toThrow('sink died');
    const s1 = pull.stats();
    await pull.close();
    expect(s1.commits).toBe(1);
    const committed = Object.values(s1.committed).reduce((a, o) => a + Number(o), 0);
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(40_000);

    const rerun: { key: number; output: unknown }[] = [];
    const collecting: Sink = { window: (_w, key, output) => void rerun.push({ key, output }), finalState: () => undefined, flush: async () => undefined };
    const pull2 = await KafkaPullSource.open(kafka, { ...cfg.source.kafka!, numKeys: NUM_KEYS });
    await runJob(withIO(buildJob(cfg), { pull: pull2, sink: collecting }));
    const s2 = pull2.stats();
    await pull2.close();
    // Exactly the uncommitted records are read again: none lost, none of the committed ones twice.
    expect(s2.taken).toBe(40_000 - committed);
    // The first run's flushed outputs plus the rerun's cover every record (at-least-once: a chunk taken
    // across the window boundary may count twice, never zero times).
    const ref = wordTotals(referenceWindowed(job.parts.op, { keys: cols.keys, payloads: cols.payloads, timesMs: new Float64Array(40_000) }, { sizeMs: 1000 }));
    const got = wordTotals([...failing.outputs.slice(0, failing.flushed), ...rerun]);
    for (const [kw, n] of ref) expect(got.get(kw) ?? 0, kw).toBeGreaterThanOrEqual(n);
  }, 180_000);

  it('from the YAML config and a real `sas run` process: results, kafka.json, exit 0', async () => {
    const input = uniqueTopic('run-cli-in');
    const output = uniqueTopic('run-cli-out');
    await createTopic(kafka, input, 2);
    await createTopic(kafka, output, 1);
    const cfg = config('keyedcount', input, output);
    await produce(input, records(cfg, 5_000, 11));
    const dir = mkdtempSync(join(tmpdir(), 'sas-run-kafka-'));
    const yaml = [
      'clock: real',
      'workers: 4',
      'threads: 2',
      'capacity: unlimited',
      'durationMs: 60000',
      'task: { name: keyedcount }',
      `workload: { name: zipf, params: { numKeys: ${NUM_KEYS} } }`,
      'source:',
      '  kind: kafka',
      '  rate: unthrottled',
      `  kafka: { topic: ${input}, groupId: cli-${input}, stopAtEnd: true }`,
      'sink:',
      '  kind: kafka',
      `  kafka: { topic: ${output} }`,
      `output: { dir: ${join(dir, 'results')}, name: kafka-run }`,
    ].join('\n');
    writeFileSync(join(dir, 'job.yaml'), yaml);
    const root = join(import.meta.dirname, '../..');
    // Brokers from the environment, as a user would set them.
    const p = spawnSync(process.execPath, [join(root, 'bin/sas'), 'run', '-c', join(dir, 'job.yaml')], { cwd: dir, encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: brokers }, timeout: 120_000 });
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toContain('5,000 records from');
    const stats = JSON.parse(readFileSync(join(dir, 'results', 'kafka-run', 'kafka.json'), 'utf8')) as { source: { taken: number; commits: number }; sink: { results: number } };
    expect(stats.source.taken).toBe(5_000);
    expect(stats.source.commits).toBe(1);
    expect(stats.sink.results).toBe((await readAll(output, stats.sink.results)).length);
    expect(existsSync(join(dir, 'results', 'kafka-run', 'summary.json'))).toBe(true);
  }, 180_000);
});
