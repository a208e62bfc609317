// Distributed mode against the real broker: worker OS processes, crash + restart, malformed input; exact vs the reference.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, encodeRecordKey, encodeRecordValue } from '../../src/connectors/index.js';
import { CONTROL_HEADER, createRunTopics, makeSpec, runDistributed, type DistributedSpec, type WorkerSummary } from '../../src/connectors/distributed/index.js';
import { loadJobConfig } from '../../src/engine/config.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { buildPayloads, createTask, createWorkload, outputsMatch, referenceGlobal, referenceWindowed } from '../../src/tasks/index.js';
import { announceSkip, ensureBroker, kafkaSkipReason, uniqueTopic } from './broker.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'sas');
const START_MS = 1_700_000_000_000; // event time of record 0: a multiple of every window and slide below

const skip = kafkaSkipReason();
announceSkip('distributed mode', skip);

/** Newest mtime under `dir` of files ending in `ext`. */
function newest(dir: string, ext: string): number {
  let t = 0;
  for (const f of readdirSync(dir)) if (f.endsWith(ext)) t = Math.max(t, statSync(join(dir, f)).mtimeMs);
  return t;
}

/** Worker processes run the compiled CLI; a build older than the sources would test stale code. */
function buildProblem(): string | null {
  const built = join(ROOT, 'dist', 'src', 'connectors', 'distributed');
  if (!existsSync(join(built, 'worker.js'))) return 'dist/ has no distributed worker: run `npx tsc -p tsconfig.json` first';
  if (newest(built, '.js') + 1 < newest(join(ROOT, 'src', 'connectors', 'distributed'), '.ts')) return 'dist/ is older than src/connectors/distributed: run `npx tsc -p tsconfig.json`';
  return null;
}

/** One `sas worker` OS process and how it ended. */
interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function spawnWorker(jobFile: string, index: number, of: number, extra: string[] = []): Proc {
  // kafkajs' own warnings and errors go to stderr (kafkajs reads KAFKAJS_LOG_LEVEL): shown if a run fails.
  const env = { ...process.env, KAFKAJS_LOG_LEVEL: process.env.KAFKAJS_LOG_LEVEL ?? 'WARN' };
  const child = spawn(process.execPath, [BIN, 'worker', '--job', jobFile, '--index', String(index), '--of', String(of), ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited };
}

function summaryOf(r: { code: number | null; stdout: string; stderr: string }): WorkerSummary {
  if (r.code !== 0) throw new Error(`worker exited with ${r.code}:\n${r.stderr}`);
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerSummary;
  } catch {
    throw new Error(`worker printed no summary (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/**
 * Awaits the driver; if it fails, stops the workers (SIGTERM, then SIGKILL after 10 s) and rethrows
 * with each worker's exit and the tail of its stderr, so that a failure on CI says what the workers did.
 */
async function withWorkers<T>(workers: readonly Proc[], run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (e) {
    const ends = await Promise.all(
      workers.map(async (w, i) => {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
        const r = await w.exited;
        clearTimeout(timer);
        return `worker ${i}: exit ${r.code ?? r.signal}\n${r.stderr.split('\n').slice(-30).join('\n')}`;
      }),
    );
    throw new Error(`${(e as Error).message}\n${ends.join('\n')}`, { cause: e });
  }
}

describe.skipIf(skip !== null)('distributed mode over Kafka (real broker, worker OS processes)', () => {
  let kafka: Kafka;
  let brokers: string;
  let tmp: string;
  const procs: Proc[] = [];
  const topics = new Set<string>();

  beforeAll(() => {
    const problem = buildProblem();
    if (problem) throw new Error(problem);
    brokers = ensureBroker();
    kafka = createKafkaClient({ brokers: [brokers], clientId: 'sas-test-distributed', logLevel: 'nothing' });
    tmp = mkdtempSync(join(tmpdir(), 'sas-distributed-'));
  });

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    // Keep the shared broker light: drop this suite's topics (sas.dist-*.in/out).
    if (kafka) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const mine = (await admin.listTopics()).filter((t) => topics.has(t));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine });
      } catch {
        // best effort
      } finally {
        await admin.disconnect().catch(() => {});
      }
    }
  });

  /** A word-count job over Zipf keys; `sets` override the defaults below. */
  function setup(sets: string[], P: number) {
    const cfg = loadJobConfig(undefined, [
      `workers=${P}`,
      'reducers=2',
      'durationMs=100000000',
      'source.rate=20000',
      'slideMs=200',
      'task.name=wordcount',
      'workload.name=zipf',
      'workload.params={numKeys: 500, exponent: 1.2}',
      'partitioner.name=pkg',
      ...sets,
    ]);
    const spec: DistributedSpec = makeSpec(cfg, { brokers: [brokers], runId: uniqueTopic('dist').replace('sas-test-', '') });
    topics.add(spec.topics.input).add(spec.topics.output);
    const jobFile = join(tmp, `${spec.runId}.json`);
    writeFileSync(jobFile, JSON.stringify(spec));
    return { cfg, spec, jobFile };
  }

  /** The records the driver must have produced, regenerated independently of it. */
  function records(spec: DistributedSpec, n: number, rate: number) {
    const payloadStore = buildPayloads(spec.task, spec.workload);
    const op = createTask(spec.task, payloadStore);
    const workload = createWorkload(spec.workload, payloadStore);
    const keys = new Int32Array(n);
    const payloads = new Int32Array(n);
    for (let i = 0; i < n; i += 1024) workload.fill(keys, payloads, i, Math.min(1024, n - i), 0);
    const timesMs = Float64Array.from({ length: n }, (_, i) => START_MS + (i * 1000) / rate);
    return { op, stream: { keys, payloads, timesMs } };
  }

  /** The single-threaded windowed reference of those records. */
  function reference(spec: DistributedSpec, n: number, rate: number) {
    const { op, stream } = records(spec, n, rate);
    return { op, ref: referenceWindowed(op, stream, spec.window) };
  }

  /** Every reference (window, key) result is in the sink with the same output, and nothing else is. */
  function expectExact(sink: CollectingSink, ref: ReturnType<typeof reference>['ref']): void {
    expect(sink.windows.size).toBe(ref.length);
    let mismatches = 0;
    for (const r of ref) {
      const got = sink.windows.get(`${r.windowStart}:${r.key}`);
      if (got === undefined || !outputsMatch('wordcount', r.output, got)) mismatches++;
    }
    expect(mismatches).toBe(0);
  }

  it('word count with 3 worker processes equals the single-threaded reference exactly', async () => {
    const N = 30_000;
    const { cfg, spec, jobFile } = setup([`maxRecords=${N}`, 'window={sizeMs: 200, slideMs: 200}'], 8);
    await createRunTopics(kafka, spec);
    const ws = [0, 1, 2].map((i) => spawnWorker(jobFile, i, 3)); // progress on stderr: shown if the run fails
    procs.push(...ws);
    const sink = new CollectingSink();
    // A grace longer than the run: every slide waits for all P entries (or the end), so none arrives late.
    // Two input producers (partition p → producer p mod 2): per-partition order must still hold.
    const res = await withWorkers(ws, runDistributed(cfg, spec, { sink, pace: false, startMs: START_MS, metricsGraceMs: 600_000, producers: 2 }));
    const sums = (await Promise.all(ws.map((w) => w.exited))).map(summaryOf);

    expect(res.records).toBe(N);
    expect(res.perPartition.reduce((a, b) => a + b, 0)).toBe(N);
    expect(res.perPartition.every((n) => n > 0)).toBe(true);
    // Each process owns p mod 3 = i and applied exactly the records routed there (no restart, no redelivery).
    for (const s of sums) expect(s.records).toBe(s.partitions.reduce((a, p) => a + res.perPartition[p], 0));
    expect(sums.map((s) => s.partitions)).toEqual([[0, 3, 6], [1, 4, 7], [2, 5]]);
    const { ref } = reference(spec, N, 20000);
    expectExact(sink, ref);
    expect(res.merged).toBeGreaterThan(0); // pkg splits hot keys: reducers merged partials
    expect(sink.merged).toBe(res.merged);
    expect(res.duplicates).toBe(0);
    // Metrics: one report per slide with P entries; records in over all slides = N.
    expect(res.reports.length).toBeGreaterThanOrEqual(Math.ceil((N / 20000) * 1000 / 200));
    expect(res.reports.every((r) => r.workers.length === 8)).toBe(true);
    expect(res.lateMetrics).toBe(0);
    const recordsIn = res.reports.reduce((a, r) => a + r.workers.reduce((b, w) => b + w.recordsIn, 0), 0);
    expect(recordsIn).toBe(N);
    const routed = res.reports.reduce((a, r) => a + r.partitioner.routed.reduce((b, x) => b + x, 0), 0);
    expect(routed).toBe(N);
    for (let p = 0; p < 8; p++) expect(res.reports.reduce((a, r) => a + r.workers[p].recordsIn, 0)).toBe(res.perPartition[p]);
    expect(res.reports.map((r) => r.slideIndex)).toEqual(res.reports.map((_, i) => i));
  }, 180_000);

  it('workers SIGKILLed mid-window, between acks and commit, and from outside restart without loss or duplicates', async () => {
    const N = 30_000;
    // Sliding windows (2 panes): a restart must re-read from the start of the oldest pane still needed.
    const { cfg, spec, jobFile } = setup([`maxRecords=${N}`, 'window={sizeMs: 400, slideMs: 200}'], 8);
    await createRunTopics(kafka, spec);
    // 4 processes over 8 partitions (2 each):
    // - worker 0 kills itself at its 3rd window close after sending the window's results but not its
    //   closed marker (the window cannot be final yet: the driver must keep one copy per key);
    // - worker 1 kills itself after its 5th window close, after the acks and before the commit
    //   (4 commits over 2 partitions put one partition at least 2 windows past offset 0);
    // - worker 2 is SIGKILLed from outside once one of its partitions closed a window;
    // - worker 3 is left alone.
    const first = [
      spawnWorker(jobFile, 0, 4, ['--crash-before-marker-at', '3']),
      spawnWorker(jobFile, 1, 4, ['--crash-before-commit-after', '5']),
      spawnWorker(jobFile, 2, 4, ['--quiet']),
      spawnWorker(jobFile, 3, 4, ['--quiet']),
    ];
    procs.push(...first);
    const restarted: (Proc | undefined)[] = [undefined, undefined, undefined];
    const restart = (i: number): void => {
      void first[i].exited.then(() => {
        restarted[i] = spawnWorker(jobFile, i, 4, ['--quiet']);
        procs.push(restarted[i]!);
      });
    };
    restart(0);
    restart(1);
    let killed = false;
    const onMarker = (kind: string, p: number): void => {
      if (killed || kind !== 'closed' || p % 4 !== 2) return;
      killed = true;
      first[2].child.kill('SIGKILL');
      restart(2);
    };
    const sink = new CollectingSink(); // throws on a duplicate (window, key) result
    const res = await withWorkers([...first, ...restarted.filter((w) => w !== undefined)], runDistributed(cfg, spec, { sink, pace: false, startMs: START_MS, metricsGraceMs: 1000, onMarker }));

    const ends = await Promise.all(first.slice(0, 3).map((w) => w.exited));
    expect(ends.map((e) => e.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    expect(ends[0].stderr).toContain('before its closed marker');
    expect(ends[1].stderr).toContain('before committing');
    expect(killed).toBe(true);
    const [s0, s1, s2] = await Promise.all(restarted.map(async (w) => summaryOf(await w!.exited)));
    const s3 = summaryOf(await first[3].exited);

    expect(res.records).toBe(N);
    const { ref } = reference(spec, N, 20000);
    expectExact(sink, ref);
    // Restarts wrote acknowledged outputs again and the driver dropped the copies.
    expect(res.duplicates).toBeGreaterThan(0);
    // Untouched worker: exactly its partitions' records, nothing re-read.
    expect(s3.records).toBe(s3.partitions.reduce((a, p) => a + res.perPartition[p], 0));
    expect(s3.redelivered).toBe(0);
    expect(s3.replayedControls).toBe(0);
    for (const s of [s0, s1, s2]) {
      expect(s.records).toBeGreaterThan(0);
      expect(s.records).toBeLessThanOrEqual(s.partitions.reduce((a, p) => a + res.perPartition[p], 0));
    }
    // Worker 1 committed windows before its crash: the restart resumed there (not at 0) and, the window
    // being 2 panes long, re-read the last committed window's control record and skipped it.
    expect(Object.values(s1.startOffsets).some((o) => o > 0)).toBe(true);
    expect(s1.replayedControls).toBeGreaterThan(0);
  }, 200_000);

  it('keyed count (global state): a worker killed mid-run replays its partitions from offset 0; final counts exact', async () => {
    const N = 10_000;
    const { cfg, spec, jobFile } = setup([`maxRecords=${N}`, 'task.name=keyedcount', 'task.params={}'], 4);
    await createRunTopics(kafka, spec);
    const w0 = spawnWorker(jobFile, 0, 2); // not quiet: the test waits for its join line
    const w1 = spawnWorker(jobFile, 1, 2, ['--quiet']);
    procs.push(w0, w1);
    let w0b: Proc | undefined;
    let produced = 0;
    let killed = false;
    const maybeKill = (): void => {
      if (killed || produced < N / 2 || !w0.child.stderr) return;
      killed = true;
      w0.child.kill('SIGKILL');
      void w0.exited.then(() => {
        w0b = spawnWorker(jobFile, 0, 2, ['--quiet']);
        procs.push(w0b);
      });
    };
    // Start producing only once worker 0 consumes, so that it holds state when it is killed.
    await new Promise<void>((resolve, reject) => {
      w0.child.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('joined group')) resolve();
      });
      void w0.exited.then((r) => reject(new Error(`worker 0 exited before joining: ${r.stderr}`)));
    });
    const sink = new CollectingSink();
    const res = await withWorkers(
      [w0, w1],
      runDistributed(cfg, spec, {
        sink,
        pace: false,
        startMs: START_MS,
        metricsGraceMs: 1000,
        onProduced: (n) => {
          produced = n;
          maybeKill();
        },
      }),
    );
    expect(killed).toBe(true);
    expect((await w0.exited).signal).toBe('SIGKILL');
    const s0 = summaryOf(await w0b!.exited);
    summaryOf(await w1.exited);
    // Global state is not checkpointed: the restart started every partition at offset 0 and applied all of it.
    expect(Object.values(s0.startOffsets)).toEqual([0, 0]);
    expect(s0.records).toBe(res.perPartition[0] + res.perPartition[2]);
    const { op, stream } = records(spec, N, 20000);
    const ref = referenceGlobal(op, stream);
    expect(sink.state.size).toBe(ref.length);
    expect(ref.every((r) => sink.state.get(r.key) === r.output)).toBe(true);
    expect(ref.reduce((a, r) => a + (r.output as number), 0)).toBe(N);
  }, 150_000);

  it('`sas distributed` spawns its workers, waits for them, and delivers every (window, key) of the reference once', async () => {
    const N = 6000;
    const out = join(tmp, 'cli');
    const runId = uniqueTopic('cli').replace('sas-test-', '');
    topics.add(`sas.${runId}.in`).add(`sas.${runId}.out`);
    const args = [BIN, 'distributed', '--workers', '2', '--no-pace', '--json', '-q', '--brokers', brokers, '--run-id', runId, '--set', 'workers=4', '--set', `maxRecords=${N}`, '--set', 'durationMs=100000000'];
    for (const kv of ['source.rate=20000', 'slideMs=200', 'window={sizeMs: 400, slideMs: 200}', 'workload.params={numKeys: 500, exponent: 1.2}', 'partitioner.name=pkg', `output.dir=${out}`]) args.push('--set', kv);
    const cli = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    cli.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => cli.on('close', (c) => resolve(c)));
    if (code !== 0) throw new Error(`sas distributed exited with ${code}:\n${stderr}`);
    const res = JSON.parse(stdout) as { runId: string; records: number; startMs: number; results: number; duplicates: number; windows: number };
    expect(res.runId).toBe(runId);
    expect(res.records).toBe(N);
    // The CLI's sink only counts: the number of (window, key) results must be the reference's.
    const cfgSpec = { ...setup([], 4).spec, window: { sizeMs: 400, slideMs: 200 } };
    const { op, stream } = records(cfgSpec, N, 20000);
    const shifted = { ...stream, timesMs: stream.timesMs.map((t) => t - START_MS + res.startMs) };
    const ref = referenceWindowed(op, shifted, cfgSpec.window);
    expect(res.results).toBe(ref.length);
    expect(res.windows).toBe(new Set(ref.map((r) => r.windowStart)).size);
    expect(existsSync(join(out, `distributed-${res.runId}`, 'metrics.jsonl'))).toBe(true);
    expect(existsSync(join(out, `distributed-${res.runId}`, 'worker-job.json'))).toBe(true);
  }, 150_000);

  it('malformed messages on the input topic are counted and skipped; results stay exact', async () => {
    const N = 8000;
    const { cfg, spec, jobFile } = setup([`maxRecords=${N}`, 'window={sizeMs: 200, slideMs: 200}', 'partitioner.name=hash'], 4);
    await createRunTopics(kafka, spec);
    // Idempotent: a retried request on a loaded broker must not write a malformed message twice.
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: spec.topics.input,
      acks: -1,
      messages: [
        { partition: 0, key: null, value: Buffer.from([1, 2, 3]) }, // value_length
        { partition: 1, key: encodeRecordKey(spec.numKeys), value: encodeRecordValue(spec.numKeys, 0, START_MS) }, // key_range
        { partition: 1, key: '7', value: encodeRecordValue(8, 0, START_MS) }, // key_mismatch
        { partition: 2, key: '5', value: encodeRecordValue(5, buildPayloads(spec.task, spec.workload).size, START_MS) }, // payload_range (one past the corpus)
        { partition: 3, value: Buffer.from('not a control record'), headers: { [CONTROL_HEADER]: 'window' } }, // control_invalid
      ],
    });
    await producer.disconnect();
    const ws = [0, 1].map((i) => spawnWorker(jobFile, i, 2));
    procs.push(...ws);
    const sink = new CollectingSink();
    const res = await withWorkers(ws, runDistributed(cfg, spec, { sink, pace: false, startMs: START_MS, metricsGraceMs: 1000 }));
    const sums = (await Promise.all(ws.map((w) => w.exited))).map(summaryOf);

    expect(res.skipped).toEqual({ value_length: 1, key_range: 1, key_mismatch: 1, payload_range: 1, control_invalid: 1 });
    const byReason: Record<string, number> = {};
    for (const s of sums) for (const [r, n] of Object.entries(s.skipped)) byReason[r] = (byReason[r] ?? 0) + n;
    expect(byReason).toEqual({ value_length: 1, key_range: 1, key_mismatch: 1, payload_range: 1, control_invalid: 1 });
    expect(sums.reduce((a, s) => a + s.records, 0)).toBe(N);
    const { ref } = reference(spec, N, 20000);
    expectExact(sink, ref);
    expect(res.merged).toBe(0); // hash never splits a key: every result was forwarded
  }, 150_000);
});
