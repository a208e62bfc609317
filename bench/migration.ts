// Issue 7 benchmark: move half of the bins (the hot key's included) during steady load; compare the max
// latency during migration of fluid, batched and chunked (16 bins per step) against all-at-once (virtual clock, or worker threads with
// --real). A last row `none` runs the same job without migration: its max latency over a window as long as
// batched's (from the same start) is the noise floor. Writes results/bench/migration.json
// (migration-real.json with --real) plus a latency timeline and CCDF per strategy.
// Usage: node dist/bench/migration.js [--real] [--quick] [--keys N] [--preload | --no-preload] [--at MS] [--bin-bits B] [--replicate F] [--threads T] [--shift S] [--only S,...] [--young-gen MB]
// --preload: every key is seen once at the start (zipf `preload`, at 1M records/s), as Megaphone preloads
// its keys, so the state moved is half of all N keys whatever the Zipf draws reach.
// --replicate F (0 < F ≤ 1) adds rows fluid+replicas and batched+replicas: standby copies for the last F of the moves.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadJobConfig } from '../src/engine/config.js';
import { buildJob, runJob } from '../src/engine/job.js';
import { bucketUpper } from '../src/engine/metrics/histogram.js';
import { createBinning } from '../src/engine/migration/index.js';
import { ZipfWorkload } from '../src/tasks/index.js';

const quick = process.argv.includes('--quick');
const real = process.argv.includes('--real');

/** `--name N`: a positive integer option, or `fallback`; anything else exits with an error naming the option. */
function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`${name}: expected a positive integer, got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
    process.exit(2);
  }
  return v;
}

const P = 8;
// --keys and --at scale the state that moves (more distinct keys seen before the migration);
// --bin-bits sets the bin count (2^bits). Defaults: virtual clock 1M keys, migration at 5000 ms
// (≈ 2.6 MB moved), 2^10 bins. Real clock: 4M keys, all preloaded (`--preload`, as Megaphone preloads
// its keys; `--no-preload` turns it off), 2^12 bins (Megaphone's), migration at 15000 ms: 48 MB move,
// so that all-at-once's pause (≈ 300 ms) stands far above the real clock's 5–15 ms of GC and
// scheduling jitter and a 10× comparison means something (docs/migration.md). --quick: 200k keys at
// 5000 ms, 2^10 bins, on both clocks.
const numKeys = intArg('--keys', quick ? 200_000 : real ? 4_000_000 : 1_000_000);
const binBits = intArg('--bin-bits', real && !quick ? 12 : 10);
const atMs = intArg('--at', real && !quick ? 15_000 : 5000);
/**
 * Worker threads of the real clock (default 1: with the router on the main thread, one worker thread
 * gives every thread its own core on a 2-core machine, as Megaphone runs one worker per core).
 */
const threads = intArg('--threads', 1);
/** A moving bin goes from worker w to w + shift (mod P); default P/2 = 4. With T threads worker w lives on thread w mod T, so an odd shift with T = 2 makes every move cross threads. */
const shift = intArg('--shift', P / 2);
const replicate = (() => {
  const i = process.argv.indexOf('--replicate');
  if (i < 0) return 0;
  const v = Number(process.argv[i + 1]);
  if (!(v > 0 && v <= 1)) {
    console.error(`--replicate: expected a share in (0, 1], got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
    process.exit(2);
  }
  return v;
})();
/**
 * --young-gen N: the worker threads' V8 young generation, MB (job `threadYoungGenMb`); default 0 = V8's.
 * At 1 MB a real-clock migration's scavenges take under 5 ms instead of 10–14 ms, but the max latency
 * during migration did not change measurably (docs/migration.md), so the default stays V8's.
 */
const youngGenMb = (() => {
  const i = process.argv.indexOf('--young-gen');
  if (i < 0) return 0;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--young-gen: expected a whole number of MB (0 = V8's default), got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
    process.exit(2);
  }
  return v;
})();
const preload = process.argv.includes('--preload') || (real && !quick && !process.argv.includes('--no-preload'));
/** Preload phase: every key once at PRELOAD_RATE, then the steady rate; `before` latencies start 2 s after it. */
const PRELOAD_RATE = 1_000_000;
const steadyRate = real ? 200000 : 300000;
const preloadMs = preload ? Math.ceil((numKeys / PRELOAD_RATE) * 1000) : 0;
if (preloadMs + 2000 >= atMs) {
  console.error(`--at: preloading ${numKeys} keys takes ${preloadMs} ms at ${PRELOAD_RATE}/s, and --at must leave 2 s of steady load after it (got --at ${atMs}; raise it, lower --keys, or pass --no-preload)`);
  process.exit(2);
}
const rateSet = preload ? `source.rate=[{durationMs: ${preloadMs}, rate: ${PRELOAD_RATE}}, {durationMs: 1, rate: ${steadyRate}}]` : `source.rate=${steadyRate}`;
const durationMs = atMs + (quick ? 3000 : 7000);
const sets = [`clock=${real ? 'real' : 'virtual'}`, `threads=${threads}`, 'task.name=keyedcount', `workers=${P}`, `workload.params.numKeys=${numKeys}`, 'workload.params.exponent=1.0', `workload.params.preload=${preload}`, 'capacity=200000', rateSet, 'slideMs=50', 'window={sizeMs: 50, slideMs: 50}', `durationMs=${durationMs}`, `migration.binBits=${binBits}`, 'migration.minRecords=1000000000', 'queueCapacity=2000', ...(real && youngGenMb > 0 ? [`threadYoungGenMb=${youngGenMb}`] : [])];

// The hot key's bin, so that the plan surely moves it.
const zipf = new ZipfWorkload({ numKeys, exponent: 1.0, seed: 1 });
const hotBin = createBinning({ binBits }).binOf(zipf.rankToKey[0]);

/** One run; `strategy` 'none' = no migration, judged over [atMs, atMs + noneWindowMs]. */
async function once(label: string, noneWindowMs = 0, replicas = 0) {
  const none = label === 'none';
  const strategy = label.replace('+replicas', '');
  const cfg = loadJobConfig(undefined, [...sets, `migration.strategy=${none ? 'batched' : strategy}`, `migration.replicate=${replicas}`]);
  const job = buildJob(cfg);
  const numBins = 2 ** binBits;
  // Every bin owned by a worker in the first half moves to the worker `shift` further (half of the state).
  const owners = (b: number) => b % P;
  const target = Array.from({ length: numBins }, (_, b) => (owners(b) < P / 2 || b === hotBin ? (owners(b) + shift) % P : owners(b)));
  const res = await runJob({ ...job, params: { ...job.params, migrationSchedule: none ? [] : [{ atMs, owners: target }] } });
  const m = res.migrations[0];
  const end = m ? Math.max(...m.steps.map((s) => s.endMs)) : atMs + noneWindowMs;
  const during = res.reports.filter((r) => r.slideStartMs + r.slideMs > atMs && r.slideStartMs <= end + 200);
  const before = res.reports.filter((r) => r.slideStartMs >= (preload ? preloadMs + 2000 : 1000) && r.slideStartMs + r.slideMs <= atMs);
  const maxOf = (rs: typeof res.reports) => Math.max(...rs.flatMap((r) => r.workers.map((w) => w.latencyMaxMs)).filter(Number.isFinite));
  const timeline = res.reports.map((r) => ({ tMs: r.slideStartMs, p50: r.job.latencyP50Ms, p99: r.job.latencyP99Ms, max: Math.max(...r.workers.map((w) => w.latencyMaxMs).filter(Number.isFinite)) }));
  const h = res.latency;
  const ccdf: string[] = [];
  let above = h.total;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i] === 0) continue;
    above -= h.counts[i];
    ccdf.push(`${(bucketUpper(i) / 1000).toFixed(3)} ${(above / h.total).toExponential(4)} ${h.counts[i]}`);
  }
  mkdirSync('results/bench/migration', { recursive: true });
  const tag = `${real ? 'real-' : ''}${label}`;
  writeFileSync(`results/bench/migration/${tag}-timeline.json`, JSON.stringify(timeline) + '\n');
  writeFileSync(`results/bench/migration/${tag}-ccdf.txt`, '# latency_ms fraction_greater count\n' + ccdf.join('\n') + '\n');
  return {
    strategy: label,
    replicate: replicas,
    steps: m?.steps.length ?? 0,
    moves: m?.moves ?? 0,
    bytes: m?.bytes ?? 0,
    replicaBytes: m?.replicaBytes ?? 0,
    durationMs: m?.durationMs ?? NaN,
    spanMs: m?.spanMs ?? NaN,
    maxLatencyDuringMs: maxOf(during),
    maxLatencyBeforeMs: maxOf(before),
    records: res.records,
  };
}

const STRATEGIES = ['all-at-once', 'fluid', 'batched', 'chunked'];
/** `--only a,b`: run only these strategies (all-at-once always runs: it is the yardstick); `none` is kept unless left out. */
const only = (() => {
  const i = process.argv.indexOf('--only');
  if (i < 0) return null;
  const names = String(process.argv[i + 1] ?? '').split(',').filter((x) => x !== '');
  const bad = names.filter((x) => !STRATEGIES.includes(x) && x !== 'none');
  if (names.length === 0 || bad.length > 0) {
    console.error(`--only: expected a comma-separated list of ${[...STRATEGIES, 'none'].join(', ')}, got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
    process.exit(2);
  }
  return new Set(['all-at-once', ...names]);
})();
const rows = [];
for (const s of STRATEGIES) if (only === null || only.has(s)) rows.push(await once(s));
const batchedRow = rows.find((r) => r.strategy === 'batched');
if (only === null || only.has('none')) rows.push(await once('none', batchedRow?.spanMs ?? Math.max(...rows.map((r) => r.spanMs))));
if (replicate > 0) for (const s of ['fluid', 'batched']) rows.push(await once(`${s}+replicas`, 0, replicate));
const aao = rows[0].maxLatencyDuringMs;
const out = {
  bench: 'migration',
  clock: real ? 'real' : 'virtual',
  at: new Date().toISOString(),
  setup: { P, threads: real ? threads : undefined, youngGenMb: real ? youngGenMb || 'v8-default' : undefined, shift, numKeys, preloadMs: preload ? preloadMs : undefined, binBits, migrateAtMs: atMs, rate: steadyRate, replicate, note: 'half of the bins (and the hot key\'s bin) move; latency = combiner finish − event time; none: no migration, window as long as batched\'s span; +replicas: standby copies for the last `replicate` of the moves, only changed keys move at the step (bytes), the copies are replicaBytes' },
  rows: rows.map((r) => ({ ...r, maxLatencyRatioVsAllAtOnce: r.maxLatencyDuringMs / aao })),
};
mkdirSync('results/bench', { recursive: true });
writeFileSync(`results/bench/migration${real ? '-real' : ''}.json`, JSON.stringify(out, null, 2) + '\n');
console.table(out.rows.map((r) => ({ strategy: r.strategy, steps: r.steps, moves: r.moves, MB: (r.bytes / 1e6).toFixed(1), replicaMB: (r.replicaBytes / 1e6).toFixed(1), durationMs: r.durationMs.toFixed(1), maxLatMs: r.maxLatencyDuringMs.toFixed(2), beforeMs: r.maxLatencyBeforeMs.toFixed(2), ratio: r.maxLatencyRatioVsAllAtOnce.toFixed(3) })));
