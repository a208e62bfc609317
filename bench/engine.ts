// Engine benchmarks for issue 2: virtual-clock word count speed, real-clock keyed count speed and p99, hash route ns.
// Writes results/bench/engine.json. Never asserts: compare runs as ratios on the same machine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { loadJobConfig } from '../src/engine/config.js';
import { buildJob, runJob } from '../src/engine/job.js';
import { createPartitioner } from '../src/partitioners/index.js';
import { ZipfWorkload } from '../src/tasks/index.js';
import { packageRoot } from '../src/report/index.js';
import { join } from 'node:path';

const quick = process.argv.includes('--quick');

async function virtualWordcount(): Promise<Record<string, number>> {
  const cfg = loadJobConfig(undefined, ['clock=virtual', 'workers=64', 'task.name=wordcount', 'capacity=2000000', 'source.rate=1000000', `maxRecords=${quick ? 1_000_000 : 5_000_000}`, 'durationMs=1000000', 'output.metrics=false']);
  const job = buildJob(cfg);
  const res = await runJob(job);
  return { records: res.records, wallMs: res.wallMs, simulatedRecordsPerSec: (res.records / res.wallMs) * 1000, eventTimeMs: res.eventTimeMs };
}

async function realKeyedcount(): Promise<Record<string, number>> {
  const cfg = loadJobConfig(join(packageRoot(), 'params/real-keyedcount.yaml'), [`durationMs=${quick ? 3000 : 10000}`]);
  const res = await runJob(buildJob(cfg));
  const steady = res.reports.slice(1, -1);
  const tput = steady.map((r) => r.job.throughput);
  const p99 = steady.map((r) => r.job.latencyP99Ms).filter(Number.isFinite).sort((a, b) => a - b);
  return {
    records: res.records,
    wallMs: res.wallMs,
    recordsPerSec: (res.records / res.wallMs) * 1000,
    meanSlideThroughput: tput.reduce((a, b) => a + b, 0) / Math.max(1, tput.length),
    latencyP99MsMedianSlide: p99[Math.floor(p99.length / 2)] ?? NaN,
    latencyP99MsWorstSlide: p99[p99.length - 1] ?? NaN,
    threads: Math.min(availableParallelism(), 8),
  };
}

function hashRoute(): Record<string, number> {
  const N = 10_000_000;
  const keys = new Int32Array(N);
  new ZipfWorkload({ numKeys: 100_000, exponent: 1.5, seed: 1 }).fill(keys, new Int32Array(N), 0, N, 0);
  const p = createPartitioner('hash', { numWorkers: 64, seed: 1, numKeys: 100_000, slideMs: 1000, clock: { nowMs: 0 } });
  let best = Infinity;
  let sink = 0;
  for (let rep = 0; rep < 5; rep++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += p.route(keys[i]);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / N);
  }
  return { nsPerRecordBestOf5: best, checksum: sink };
}

const out = {
  bench: 'engine',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  quick,
  virtualWordcountHashP64: await virtualWordcount(),
  realKeyedcountHashP8: await realKeyedcount(),
  hashRoute: hashRoute(),
  targets: { virtualSimulatedRecordsPerSec: 2_000_000, realRecordsPerSec: 1_000_000, hashRouteNs: 50 },
};
mkdirSync('results/bench', { recursive: true });
writeFileSync('results/bench/engine.json', JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 2));
