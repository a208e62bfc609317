// `sas run --verify` (issue 15 §7): real `sas run` processes on both clocks, with keyed-state
// migrations and with a Kafka source and sink, compared with the single-threaded reference; a
// deliberately corrupted result (SAS_TEST_CORRUPT_RESULT) fails with exit 3 and names the difference.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { checkVerifiable, corruptModeFromEnv, Verifier, VERIFY_RECORD_LIMIT, VERIFY_SHOWN, verifyRecordBound, type Verified } from '../../src/cli/verify.js';
import { runCommand } from '../../src/cli/run.js';
import { SasError } from '../../src/common/errors.js';
import { createKafkaClient, createKafkaSink } from '../../src/connectors/index.js';
import { loadJobConfig } from '../../src/engine/config.js';
import { buildJob } from '../../src/engine/job.js';
import { announceSkip, createTopic, ensureBroker, kafkaSkipReason, topicMessageCount, uniqueTopic } from '../kafka/broker.js';

const root = new URL('../..', import.meta.url).pathname;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'sas-verify-'));

/** `sas run --verify …` as a real process; `env` is added to this process's environment. */
function sas(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(root, 'bin/sas'), 'run', '--verify', '-q', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, SAS_TEST_CORRUPT_RESULT: '', ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A small job: 300 Zipf keys, P = 4, a sliding window so every record lands in two windows. */
const SMALL = ['--set', 'workers=4', '--set', 'workload.params.numKeys=300', '--set', 'capacity=40000', '--set', 'window={sizeMs: 400, slideMs: 200}', '--set', 'slideMs=200'];
const sets = (...xs: string[]): string[] => xs.flatMap((x) => ['--set', x]);

/** The `verified` field of a `--json` summary. */
const verifiedOf = (stdout: string): Verified => (JSON.parse(stdout) as { verified: Verified }).verified;

describe('sas run --verify passes on exact runs (real processes)', () => {
  it('virtual clock, word count split by shuffle: exit 0, verified: exact, verify.json in the results', () => {
    const out = tmp();
    const r = sas([...SMALL, ...sets('partitioner.name=shuffle', 'durationMs=2000', 'source.rate=4000'), '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^verified: exact \(every result equals the single-threaded reference over 8,00\d records\)$/m);
    const [dir] = readdirSync(out);
    expect(JSON.parse(readFileSync(join(out, dir, 'verify.json'), 'utf8'))).toEqual({ verified: 'exact' });
    // The split really happened (shuffle replicates keys), so the reducers' merges were checked.
    expect(Number(/replication\s+([\d.]+)/.exec(r.stdout)![1])).toBeGreaterThan(1.5);
  });

  it('real clock (2 threads), word count with pkg: --json carries verified: "exact"', () => {
    const r = sas([...SMALL, ...sets('clock=real', 'threads=2', 'partitioner.name=pkg', 'durationMs=1200', 'source.rate=4000'), '--no-write', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { verified: Verified; sustainedThroughput: number };
    expect(s.verified).toBe('exact');
    expect(s.sustainedThroughput).toBeGreaterThan(0); // still the run's summary, with verified added
  });

  it('keyed count with migrations (dalton moves bins) on both clocks, t-digest on the virtual clock', () => {
    const keyed = sets('task.name=keyedcount', 'workers=8', 'workload.params.numKeys=2000', 'workload.params.exponent=1.5', 'partitioner.name=dalton', 'source.rate=20000', 'queueCapacity=200');
    const v = sas([...keyed, ...sets('capacity=30000', 'durationMs=3000'), '--no-write']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^verified: exact/m);
    const moved = /migrations\s+(\d+) plan\(s\), (\d+) bin\(s\) moved/.exec(v.stdout);
    expect(moved, v.stdout).not.toBeNull();
    expect(Number(moved![2])).toBeGreaterThan(0);
    const real = sas([...keyed, ...sets('clock=real', 'threads=2', 'capacity=unlimited', 'durationMs=1500'), '--no-write']);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^verified: exact/m);
    const td = sas([...SMALL, ...sets('task.name=tdigest', 'partitioner.name=shuffle', 'capacity=400000', 'durationMs=1000', 'source.rate=2000'), '--no-write', '--json']);
    expect(td.code).toBe(0);
    expect(verifiedOf(td.stdout)).toBe('exact');
  });
});

describe('sas run --verify fails on a corrupted result (SAS_TEST_CORRUPT_RESULT, test-only)', () => {
  it('an altered word count: exit 3, the difference names window, key, expected and got; results still written', () => {
    const out = tmp();
    const r = sas([...SMALL, ...sets('partitioner.name=shuffle', 'durationMs=2000', 'source.rate=4000'), '-o', out], { SAS_TEST_CORRUPT_RESULT: '1' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^verify: 1 of [\d,]+ results differ from the single-threaded reference\n$/);
    expect(r.stdout).toMatch(/^verified: FAILED, 1 of [\d,]+ results differ from the single-threaded reference \(first 1\):$/m);
    expect(r.stdout).toMatch(/^ {2}window -?\d+ key \d+: entry \d+ of \d+: expected \[\d+,(\d+)\], got \[\d+,\d+\]$/m);
    const [dir] = readdirSync(out);
    const v = (JSON.parse(readFileSync(join(out, dir, 'verify.json'), 'utf8')) as { verified: Exclude<Verified, 'exact'> }).verified;
    expect(v.differences).toBe(1);
    expect(v.first).toHaveLength(1);
    const d = v.first[0];
    expect(d.kind).toBe('differs');
    // alter adds 1 to the last [word, count] pair of the first result.
    expect((d.got as number[])[1]).toBe((d.expected as number[])[1] + 1);
    expect(d.entry).toBe(d.entries!.expected - 1);
  });

  it('a dropped final state on the real clock: exit 3, --json lists it as missing with its key', () => {
    const r = sas([...SMALL, ...sets('task.name=keyedcount', 'clock=real', 'threads=2', 'capacity=unlimited', 'durationMs=1000', 'source.rate=5000'), '--no-write', '--json'], { SAS_TEST_CORRUPT_RESULT: 'drop' });
    expect(r.code).toBe(3);
    const v = verifiedOf(r.stdout) as Exclude<Verified, 'exact'>;
    expect(v.differences).toBe(1);
    expect(v.first[0]).toMatchObject({ kind: 'missing', window: null, got: null });
    expect(v.first[0].expected).toBeGreaterThan(0);
  });

  it('SAS_TEST_CORRUPT_RESULT: 1 or alter, drop; unset, empty or 0 is none; anything else is exit 2 naming it', () => {
    expect(corruptModeFromEnv(undefined)).toBeUndefined();
    expect(corruptModeFromEnv('0')).toBeUndefined();
    expect(corruptModeFromEnv('1')).toBe('alter');
    expect(corruptModeFromEnv('drop')).toBe('drop');
    const r = sas([...SMALL, ...sets('durationMs=500', 'source.rate=1000'), '--no-write'], { SAS_TEST_CORRUPT_RESULT: 'yes' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error \[CONFIG_INVALID\]: SAS_TEST_CORRUPT_RESULT: /);
  });
});

describe('Verifier (unit): every kind of difference is counted, the first few listed in (window, key) order', () => {
  it('missing, extra, differing and duplicated results of a keyed count', () => {
    const job = buildJob(loadJobConfig(undefined, ['task.name=keyedcount', 'workers=2', 'workload.params.numKeys=50']));
    const v = new Verifier(job);
    for (const k of [1, 2, 2, 3, 4, 5, 6, 7]) (v.input.keys.push(k), v.input.payloads.push(0), v.input.times.push(0));
    const sink = v.sink();
    sink.finalState(1, 1); // right
    sink.finalState(2, 3); // differs (2 expected)
    sink.finalState(9, 1); // extra
    sink.finalState(1, 1); // duplicate
    for (const k of [4, 5, 6, 7]) sink.finalState(k, 1); // right; key 3 is missing
    const r = v.result() as Exclude<Verified, 'exact'>;
    expect(r.differences).toBe(4);
    expect(r.results).toBe(7);
    expect(r.records).toBe(8);
    expect(r.first.map((d) => [d.kind, d.key])).toEqual([['duplicate', 1], ['differs', 2], ['missing', 3], ['extra', 9]]);
    expect(r.first[1]).toMatchObject({ expected: 2, got: 3, window: null });
    expect(VERIFY_SHOWN).toBe(5);
  });
});

describe('sas run --verify refuses runs too big to keep in memory', () => {
  it('the bound is min(maxRecords, rate × durationMs), schedules integrated; unthrottled without maxRecords is unbounded', () => {
    expect(verifyRecordBound(loadJobConfig(undefined, ['durationMs=30000', 'source.rate=100000']))).toBe(3_000_000);
    expect(verifyRecordBound(loadJobConfig(undefined, ['durationMs=30000', 'source.rate=100000', 'maxRecords=5000']))).toBe(5000);
    // 1 s at 1000/s, then the last step (2000/s) lasts to the end: 1000 + 2 s × 2000.
    expect(verifyRecordBound(loadJobConfig(undefined, ['durationMs=3000', 'source.rate=[{rate: 1000, durationMs: 1000}, {rate: 2000, durationMs: 500}]']))).toBe(5000);
    expect(verifyRecordBound(loadJobConfig(undefined, ['source.rate=unthrottled']))).toBe(Infinity);
    const code = (sets: string[]): string | undefined => {
      try {
        checkVerifiable(loadJobConfig(undefined, sets));
      } catch (e) {
        return (e as SasError).code;
      }
      return undefined;
    };
    expect(code([`maxRecords=${VERIFY_RECORD_LIMIT}`, 'source.rate=unthrottled'])).toBeUndefined();
    expect(code([`maxRecords=${VERIFY_RECORD_LIMIT + 1}`, 'source.rate=unthrottled'])).toBe('CONFIG_INVALID');
  });

  it('a config implying more than 20M records exits 2 naming --verify before running or writing anything', async () => {
    const out = tmp();
    const r = sas(['--set', 'durationMs=1000000', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error \[CONFIG_INVALID\]: --verify keeps every record and result in memory and is for test-sized runs: this config may emit up to 100,000,000 records/);
    expect(readdirSync(out)).toEqual([]);
    const u = sas(['--set', 'source.rate=unthrottled', '--set', 'capacity=1000', '--no-write']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('no record bound');
    // The same check through the API.
    const err = await runCommand(loadJobConfig(undefined, ['durationMs=1000000', 'output.metrics=false']), { quiet: true, verify: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as SasError).code).toBe('CONFIG_INVALID');
    expect((err as SasError).context.field).toBe('--verify');
  });
});

const skip = kafkaSkipReason();
announceSkip('sas run --verify with kafka', skip);

describe.skipIf(skip !== null)('sas run --verify with a Kafka source and sink (real broker)', () => {
  it('params/kafka-run.yaml: consumed records and the Kafka sink\'s results are verified; a corrupted result fails', async () => {
    const brokers = ensureBroker();
    const kafka: Kafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-test-verify', logLevel: 'nothing' });
    const input = uniqueTopic('verify-in');
    const output = uniqueTopic('verify-out');
    await createTopic(kafka, input, 2);
    await createTopic(kafka, output, 1);
    const overrides = ['workers=4', 'threads=2', 'workload.params.numKeys=500', 'durationMs=60000', 'maxRecords=1000000', 'source.rate=20000', `source.kafka.topic=${input}`, `sink.kafka.topic=${output}`, 'partitioner.name=shuffle'];
    // 30k records from the job's own generator (payload ids valid for word count), produced to the input topic.
    const job = buildJob(loadJobConfig(join(root, 'params/kafka-run.yaml'), overrides));
    const n = 30_000;
    const keys = new Int32Array(n);
    const payloads = new Int32Array(n);
    job.parts.workload.fill(keys, payloads, 0, n, 0);
    const producer = createKafkaSink(kafka, { topic: input, numKeys: 500 });
    await producer.connect();
    await producer.sendRecords({ keys, payloads, eventTimes: new Float64Array(n) }, n);
    await producer.disconnect();

    const run = (group: string, env: Record<string, string> = {}) =>
      sas(['-c', 'params/kafka-run.yaml', ...sets(...overrides, `source.kafka.groupId=${group}`), '--no-write', '--json'], { KAFKA_BROKERS: brokers, ...env });
    const ok = run(`g-${input}-1`);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(verifiedOf(ok.stdout)).toBe('exact');
    // The sink really wrote the results it was verified on: at least one per distinct key (more when the
    // 30k records span several windows, which depends on how fast the source ran).
    const written = await topicMessageCount(kafka, output);
    expect(written).toBeGreaterThanOrEqual(new Set(keys).size);

    // Another group reads the same records again; the first result is altered before the tee.
    const bad = run(`g-${input}-2`, { SAS_TEST_CORRUPT_RESULT: '1' });
    expect(bad.code).toBe(3);
    const v = verifiedOf(bad.stdout) as Exclude<Verified, 'exact'>;
    expect(v.differences).toBe(1);
    expect(v.records).toBe(n);
    expect(v.first[0].kind).toBe('differs');
    expect(await topicMessageCount(kafka, output)).toBeGreaterThan(written); // the corrupted run wrote through the tee too
  }, 240_000);
});
