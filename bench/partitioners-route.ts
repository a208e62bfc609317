// Benchmark: route() ns/record of every registered partitioner on Zipf 1.5 keys (writes results/bench/partitioners-route.json).
// Each partitioner runs in its own child process (fresh JIT state, one partitioner per call site).
// Usage: npx tsx bench/partitioners-route.ts [--records N] [--only NAME]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SlideReport, WorkerSlideMetrics } from '../src/common/metrics.js';
import { imbalance } from '../src/common/metrics.js';
import { createPartitioner, partitionerNames } from '../src/partitioners/index.js';
import { ZipfWorkload } from '../src/tasks/workloads/zipf.js';

const P = 64;
const K = 100_000;
const EXPONENT = 1.5;
const RATE_PER_MS = 1000; // 1M records/s of emulated event time
const BATCH = 1000;
const SLIDE_MS = 1000;

interface Row {
  name: string;
  records: number;
  /** CPU ns per route() (process user + system time over the loop, onSlide excluded). */
  nsPerRecord: number;
  /** Median and minimum over the 1M-record slides of CPU ns per route() (robust to bursts of load from other processes). */
  medianSlideNs: number;
  minSlideNs: number;
  /** Wall-clock ns per route() (includes time descheduled on a busy machine). */
  wallNsPerRecord: number;
  imbalanceCount: number;
  hotKeys: number;
  heapDeltaMB: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function syntheticReport(slideIndex: number, busy: Float64Array, routed: Float64Array): SlideReport {
  const workers: WorkerSlideMetrics[] = [];
  for (let w = 0; w < P; w++) {
    const b = Math.min(1000, busy[w]);
    workers.push({ worker: w, recordsIn: routed[w], busyMs: b, backpressuredMs: 0, idleMs: 1000 - b, queueLength: 0, latencyP50Ms: NaN, latencyP99Ms: NaN, latencyMaxMs: NaN });
  }
  return {
    slideIndex,
    slideStartMs: slideIndex * SLIDE_MS,
    slideMs: SLIDE_MS,
    workers,
    partitioner: { records: 0, routeNs: 0, routed: Array.from(routed), hotKeys: 0, maxSplit: 0, tableVersion: 0 },
    job: { throughput: 0, targetRate: Infinity, achievedRate: 0, sourceBackpressuredMs: 0, imbalanceBusy: 0, nmadBusy: 0, imbalanceCount: 0, nmadCount: 0, replication: 0, latencyP50Ms: NaN, latencyP99Ms: NaN },
  };
}

/** Runs one partitioner in this process and prints its Row as JSON. */
function runOne(name: string, records: number): Row {
  const keys = new Int32Array(records);
  new ZipfWorkload({ numKeys: K, exponent: EXPONENT, seed: 42 }).fill(keys, new Int32Array(records), 0, records, 0);
  const clock = { nowMs: 0 };
  const q = createPartitioner(name, { numWorkers: P, seed: 1, numKeys: K, slideMs: SLIDE_MS, clock }, {});
  const counts = new Float64Array(P);
  const slideCounts = new Float64Array(P);
  const busy = new Float64Array(P);
  const perSlide = RATE_PER_MS * SLIDE_MS;
  const heap0 = process.memoryUsage().heapUsed;
  // Wall time around each batch; CPU time (user + system) over the whole loop minus the onSlide calls.
  // The CPU figure is the one to read on a shared machine: it excludes time the process was descheduled.
  let wall = 0n;
  let slideCpu = 0;
  let slide = 0;
  const perSlideNs: number[] = [];
  let chunkStart = process.cpuUsage();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < records; i += BATCH) {
    clock.nowMs = i / RATE_PER_MS;
    const e = Math.min(records, i + BATCH);
    const t0 = process.hrtime.bigint();
    for (let j = i; j < e; j++) slideCounts[q.route(keys[j])]++;
    wall += process.hrtime.bigint() - t0;
    if (e % perSlide === 0) {
      const c0 = process.cpuUsage();
      const chunk = process.cpuUsage(chunkStart);
      perSlideNs.push(((chunk.user + chunk.system) * 1000) / perSlide);
      // Synthetic busy time: proportional to the share of records, 1000 ms/s at twice the mean.
      for (let w = 0; w < P; w++) {
        busy[w] = (slideCounts[w] / (perSlide / P)) * 500;
        counts[w] += slideCounts[w];
      }
      q.onSlide?.(syntheticReport(slide++, busy, slideCounts));
      slideCounts.fill(0);
      const c1 = process.cpuUsage(c0);
      slideCpu += c1.user + c1.system;
      chunkStart = process.cpuUsage();
    }
  }
  const cpu1 = process.cpuUsage(cpu0);
  for (let w = 0; w < P; w++) counts[w] += slideCounts[w];
  const heap1 = process.memoryUsage().heapUsed;
  return {
    name,
    records,
    nsPerRecord: ((cpu1.user + cpu1.system - slideCpu) * 1000) / records,
    medianSlideNs: median(perSlideNs),
    minSlideNs: perSlideNs.length ? Math.min(...perSlideNs) : NaN,
    wallNsPerRecord: Number(wall) / records,
    imbalanceCount: imbalance(counts),
    hotKeys: q.stats().hotKeys,
    heapDeltaMB: (heap1 - heap0) / 2 ** 20,
  };
}

const records = Number(arg('--records') ?? 10_000_000);
const child = arg('--child');
if (child) {
  process.stdout.write(JSON.stringify(runOne(child, records)) + '\n');
} else {
  const only = arg('--only');
  const names = only ? [only] : partitionerNames();
  const self = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  for (const name of names) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', name, '--records', String(records)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const row = JSON.parse(out.trim().split('\n').pop()!) as Row;
    rows.push(row);
    const ok = row.medianSlideNs <= (row.name === 'hash' ? 50 : 250) ? 'ok' : 'OVER';
    const f = (x: number): string => x.toFixed(1).padStart(7);
    console.log(
      `${row.name.padEnd(16)} cpu mean ${f(row.nsPerRecord)} median ${f(row.medianSlideNs)} min ${f(row.minSlideNs)}  wall ${f(row.wallNsPerRecord)} ns/rec  ${ok.padEnd(4)} imbalance(count) ${row.imbalanceCount.toFixed(3).padStart(7)}  hot keys ${row.hotKeys}`,
    );
  }
  const result = {
    benchmark: 'partitioners-route',
    setup: { records, numWorkers: P, numKeys: K, zipfExponent: EXPONENT, recordsPerSecond: RATE_PER_MS * 1000, batch: BATCH, slideMs: SLIDE_MS },
    goals: { maxNsPerRecord: 250, hashMaxNsPerRecord: 50, checkedOn: 'medianSlideNs' },
    node: process.version,
    date: new Date().toISOString(),
    rows,
  };
  mkdirSync('results/bench', { recursive: true });
  writeFileSync('results/bench/partitioners-route.json', JSON.stringify(result, null, 2) + '\n');
  console.log('wrote results/bench/partitioners-route.json');
}
