// Bench: records/s end to end in distributed mode: driver → Kafka (P = 8) → 3 `sas worker` processes → Kafka → driver.
// Run: npx tsc -p tsconfig.json && npx tsx bench/kafka-distributed.ts [records=150000] [producers=1] ; writes results/bench/kafka-distributed.json.
// Starts the repo's broker unless KAFKA_BROKERS is set. Workers run the compiled CLI (bin/sas). Never asserts on time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokersFromEnv, createKafkaClient } from '../src/connectors/index.js';
import { createRunTopics, makeSpec, runDistributed } from '../src/connectors/distributed/index.js';
import { loadJobConfig } from '../src/engine/config.js';
import { CountingSink } from '../src/engine/sink.js';
import { repoRoot } from './repo-root.js';

const ROOT = repoRoot(import.meta.url);
const P = 8;
const W = 3;
const N = Number(process.argv[2] ?? 150_000);
const PRODUCERS = Number(process.argv[3] ?? 1);

function brokers(): string[] {
  const env = brokersFromEnv();
  if (env) return env;
  const r = spawnSync('bash', [join(ROOT, 'scripts/kafka/broker.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/kafka/broker.sh start failed');
  return [r.stdout.trim().split('\n').pop()!];
}

async function main(): Promise<void> {
  const b = brokers();
  // Word count over Zipf(1.2) keys, 1 s tumbling windows on real (wall-clock) event time, unthrottled source.
  const cfg = loadJobConfig(undefined, [
    `workers=${P}`,
    'reducers=2',
    `maxRecords=${N}`,
    'durationMs=100000000',
    'source.rate=unthrottled',
    'slideMs=1000',
    'window={sizeMs: 1000, slideMs: 1000}',
    'task.name=wordcount',
    'workload.params={numKeys: 10000, exponent: 1.2}',
    'partitioner.name=pkg',
  ]);
  const spec = makeSpec(cfg, { brokers: b, runId: `bench-${randomUUID().slice(0, 8)}` });
  await createRunTopics(createKafkaClient({ brokers: b, logLevel: 'nothing' }), spec);
  const tmp = mkdtempSync(join(tmpdir(), 'sas-bench-dist-'));
  const jobFile = join(tmp, 'job.json');
  writeFileSync(jobFile, JSON.stringify(spec));

  // Start the workers and wait until each joined its group, so the timing excludes process start-up.
  const children: ChildProcess[] = [];
  let joined = 0;
  const allJoined = new Promise<void>((resolve) => {
    for (let i = 0; i < W; i++) {
      const c = spawn(process.execPath, [join(ROOT, 'bin', 'sas'), 'worker', '--job', jobFile, '--index', String(i), '--of', String(W)], { stdio: ['ignore', 'pipe', 'pipe'] });
      c.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('joined group') && ++joined === W) resolve();
      });
      children.push(c);
    }
  });
  const exits = children.map((c) => new Promise<number | null>((r) => c.on('exit', (code) => r(code))));
  await allJoined;

  const t0 = Date.now();
  let producedAt = 0;
  const res = await runDistributed(cfg, spec, { sink: new CountingSink(), producers: PRODUCERS, onProduced: (n) => (n === N ? (producedAt = Date.now()) : undefined) });
  const codes = await Promise.all(exits);
  rmSync(tmp, { recursive: true, force: true });
  if (codes.some((c) => c !== 0)) throw new Error(`worker exit codes ${codes.join(',')}`);

  const steady = res.reports.slice(1, -1);
  const result = {
    bench: 'kafka-distributed',
    date: new Date().toISOString(),
    records: res.records,
    partitions: P,
    workerProcesses: W,
    inputProducers: PRODUCERS,
    task: 'wordcount',
    partitioner: 'pkg',
    window: spec.window,
    endToEndRecordsPerSec: Math.round(res.records / (res.wallMs / 1000)),
    produceRecordsPerSec: Math.round(res.records / (res.produceMs / 1000)),
    wallMs: res.wallMs,
    produceMs: res.produceMs,
    drainMsAfterLastRecord: producedAt > 0 ? Date.now() - producedAt : null,
    driverWallMs: Date.now() - t0,
    windows: res.windows,
    results: res.results,
    merged: res.merged,
    duplicates: res.duplicates,
    meanLatencyP50Ms: steady.length ? steady.reduce((a, r) => a + (Number.isFinite(r.job.latencyP50Ms) ? r.job.latencyP50Ms : 0), 0) / steady.length : null,
    machine: { cpus: cpus().length, node: process.version, loadavg: loadavg() },
    note: 'one driver process + 3 worker processes + the broker on the same machine; compare runs side by side, never against a constant',
  };
  mkdirSync(join(ROOT, 'results', 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'results', 'bench', 'kafka-distributed.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
  console.log('wrote results/bench/kafka-distributed.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
