// Calibration of the cost model, in two parts (docs/tasks.md, "Merge-stage costs"; never asserts):
//  1. the real CPU cost of one add, one emitted partial and one merge, per task: their ratios (in each
//     task's cost units) are the defaults of `merge.emitCost` and `merge.mergeCost` (src/tasks/registry.ts);
//  2. the virtual model's predicted max throughput against the real clock's measured one, for hash,
//     shuffle and w-choices at P = 8, Zipf 1.5, word count, with slot capacities far below what the
//     cores can do (the real clock is slot-bound): both ramps in this run, the same ramp on both clocks.
// Writes results/bench/calibration.json.
//
//   npx tsx bench/calibration.ts [--quick] [--rounds N] [--no-costs] [--no-model] [--partitioners a,b]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { reducerOf } from '../src/engine/combiner.js';
import { loadJobConfig, type JobConfig } from '../src/engine/config.js';
import { physicalIdeal } from '../src/engine/ideal.js';
import { buildJob } from '../src/engine/job.js';
import { runMaxThroughput } from '../src/engine/max-throughput.js';
import { buildPayloads, createTask, createWorkload, type TaskOperator } from '../src/tasks/index.js';
import { repoRoot } from './repo-root.js';

const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 3 : 7;
const partArg = process.argv.indexOf('--partitioners');
const MODEL_PARTITIONERS = partArg > 0 ? process.argv[partArg + 1].split(',') : ['hash', 'shuffle', 'w-choices'];

/** The default comparison's setting (params/compare.yaml): P = 64, R = 4, 20k keys, Zipf 1.5, 1 s windows. */
const P = 64;
const R = 4;
const NUM_KEYS = 20_000;

interface Setting {
  readonly task: { name: string; params: Record<string, unknown> };
  /** Records in one 1 s window at the compare's max-throughput scale. */
  readonly windowRecords: number;
}

const settings: Setting[] = [
  { task: { name: 'wordcount', params: {} }, windowRecords: 18_000 },
  { task: { name: 'tdigest', params: { valuesPerRecord: 10 } }, windowRecords: 3_000 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * One window of the setting, routed round robin (every key split over the workers it lands on, as a
 * splitting partitioner does). Measures per record the add, and per partial the emit (encode, then a
 * one structured clone per (worker, reducer) group: the partials crossing to a reducer thread in one
 * message) and the merge (decode, merge into the
 * reducer's accumulator). Returns ns per cost unit of add, ns per partial emitted and merged.
 */
function measure(op: TaskOperator, keys: Int32Array, payloads: Int32Array): { nsPerUnit: number; nsPerEmit: number; nsPerMerge: number; partials: number; units: number } {
  const n = keys.length;
  const parts: Array<Map<number, unknown>> = Array.from({ length: P }, () => new Map());
  let units = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const m = parts[i % P];
    let p = m.get(keys[i]);
    if (p === undefined) m.set(keys[i], (p = op.create()));
    op.add(p, keys[i], payloads[i]);
  }
  const addNs = Number(process.hrtime.bigint() - t0);
  for (let i = 0; i < n; i++) units += op.cost(payloads[i]);
  // Emit: encode every partial, grouped per reducer, and send each (worker, reducer) group as one
  // message (one structured clone per group, as a batched channel would).
  let partials = 0;
  const sent: Array<Array<[number, unknown]>> = Array.from({ length: R }, () => []);
  const t1 = process.hrtime.bigint();
  for (const m of parts) {
    const groups: Array<Array<[number, unknown]>> = Array.from({ length: R }, () => []);
    for (const [key, p] of m) {
      groups[reducerOf(key, R)].push([key, op.encode(p)]);
      partials++;
    }
    for (let r = 0; r < R; r++) if (groups[r].length > 0) for (const e of structuredClone(groups[r])) sent[r].push(e);
  }
  const emitNs = Number(process.hrtime.bigint() - t1);
  const t2 = process.hrtime.bigint();
  for (const list of sent) {
    const acc = new Map<number, unknown>();
    for (const [key, data] of list) {
      const p = op.decode(data);
      const a = acc.get(key);
      if (a === undefined) acc.set(key, p);
      else op.merge(a, p);
    }
  }
  const mergeNs = Number(process.hrtime.bigint() - t2);
  return { nsPerUnit: addNs / units, nsPerEmit: emitNs / partials, nsPerMerge: mergeNs / partials, partials, units };
}

const rows: Record<string, unknown>[] = [];
for (const s of process.argv.includes('--no-costs') ? [] : settings) {
  const workload = { name: 'zipf', params: { exponent: 1.5, numKeys: NUM_KEYS, seed: 1 } };
  const payloadStore = buildPayloads(s.task, workload);
  const op = createTask(s.task, payloadStore);
  const wl = createWorkload(workload, payloadStore);
  const keys = new Int32Array(s.windowRecords);
  const payloads = new Int32Array(s.windowRecords);
  const runs: ReturnType<typeof measure>[] = [];
  for (let r = 0; r < ROUNDS + 2; r++) {
    wl.fill(keys, payloads, 0, keys.length, r * 1000);
    const m = measure(op, keys, payloads);
    if (r >= 2) runs.push(m); // two warm-up rounds
  }
  const nsPerUnit = median(runs.map((m) => m.nsPerUnit));
  const nsPerEmit = median(runs.map((m) => m.nsPerEmit));
  const nsPerMerge = median(runs.map((m) => m.nsPerMerge));
  const row = {
    task: s.task.name,
    params: s.task.params,
    windowRecords: s.windowRecords,
    partialsPerWindow: runs[0].partials,
    unitsPerRecord: runs[0].units / s.windowRecords,
    nsPerUnit,
    nsPerEmit,
    nsPerMerge,
    /** The defaults: emit and merge in the task's cost units. */
    emitCostUnits: nsPerEmit / nsPerUnit,
    mergeCostUnits: nsPerMerge / nsPerUnit,
    rounds: runs.length,
  };
  rows.push(row);
  process.stdout.write(`${row.task}: ${nsPerUnit.toFixed(1)} ns/unit, emit ${nsPerEmit.toFixed(0)} ns (${row.emitCostUnits.toFixed(2)} units), merge ${nsPerMerge.toFixed(0)} ns (${row.mergeCostUnits.toFixed(2)} units), ${row.partialsPerWindow} partials/window\n`);
}

// Part 2: the model against the real clock.
/**
 * P = 8 word-count workers at 20000 units/s each (~2300 records/s, ~2 ms of CPU per second of a core:
 * the emulated slot is ~500 times slower than the CPU, so the real clock is slot-bound), R = 4 reducers
 * at the workers' capacity, the measured merge costs, Zipf 1.5 over 20k keys, 1 s tumbling windows.
 */
const MODEL_BASE = [
  'task.name=wordcount',
  'workload.name=zipf',
  'workload.params={exponent: 1.5, numKeys: 20000}',
  'workers=8',
  'reducers=4',
  'capacity=20000',
  'queueCapacity=1000',
  'slideMs=1000',
  'threads=2',
];
/** How close the two clocks must agree (issue 15, "Calibration"). */
const AGREE = 0.15;

interface ClockRun {
  readonly maxThroughput: number;
  readonly backpressured: boolean;
  /** Judged intervals, with the source's mean backpressured ms/s (credits exhausted): a shortfall without it is a slow source, not backpressure. */
  readonly steps: Array<{ rate: number; achieved: number; maxBusyMs: number; maxQueueGrowth: number; sustained: boolean; sourceBackpressuredMs: number }>;
  readonly wallMs: number;
  /** Process CPU (all threads) per wall ms, over the run: well below the 2 cores = slot-bound. */
  readonly cpuPerWallMs: number;
  /** Busiest worker's and busiest reducer's mean busy ms/s over the last sustained interval. */
  readonly busiestWorkerMs: number;
  readonly busiestReducerMs: number;
}

async function ramp(cfg: JobConfig): Promise<ClockRun> {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const res = await runMaxThroughput(cfg);
  const wallMs = performance.now() - w0;
  const c = process.cpuUsage(c0);
  // The last sustained interval's slides (they follow its rate's start).
  const steps = res.steps;
  const lastOk = steps.filter((x) => x.sustained).length;
  const reports = res.run.reports;
  const iv = cfg.ramp.intervalMs;
  const warm = cfg.ramp.warmup.reduce((a, x) => a + x.durationMs, 0);
  const from = warm + (lastOk - 1) * iv + cfg.slideMs;
  const judged = reports.filter((r) => lastOk > 0 && r.slideStartMs >= from && r.slideStartMs < warm + lastOk * iv);
  const mean = (f: (r: (typeof reports)[number]) => number): number => (judged.length > 0 ? judged.reduce((a, r) => a + f(r), 0) / judged.length : Number.NaN);
  return {
    maxThroughput: res.maxThroughput,
    backpressured: res.backpressured,
    steps: steps.map((x, i) => {
      const slides = reports.filter((r) => r.slideStartMs >= warm + i * iv + cfg.slideMs && r.slideStartMs < warm + (i + 1) * iv);
      return { ...x, sourceBackpressuredMs: slides.reduce((a, r) => a + r.job.sourceBackpressuredMs, 0) / Math.max(1, slides.length) };
    }),
    wallMs,
    cpuPerWallMs: (c.user + c.system) / 1000 / wallMs,
    busiestWorkerMs: mean((r) => Math.max(...r.workers.map((w) => w.busyMs))),
    busiestReducerMs: mean((r) => Math.max(0, ...(r.reducers ?? []).map((x) => x.busyMs))),
  };
}

const model: Record<string, unknown>[] = [];
for (const name of process.argv.includes('--no-model') ? [] : MODEL_PARTITIONERS) {
  const sets = [...MODEL_BASE, `partitioner.name=${name}`];
  const base = loadJobConfig(undefined, sets);
  const ideal = physicalIdeal({ params: buildJob(base).params, op: buildJob(base).parts.op, workload: buildJob(base).parts.workload });
  // A virtual probe finds the scale; then one ramp around it, the same on both clocks: a warm-up at
  // half the probe's rate, judged steps from 0.7 of it, the finest step 2 % of it.
  const probeCfg = loadJobConfig(undefined, [...sets, `ramp={initialRate: ${Math.max(10, Math.round(ideal.ideal / 20))}, rateStep: ${Math.max(5, Math.round(ideal.ideal / 200))}, maxStep: ${Math.round(ideal.ideal / 5)}, stepDivisor: 2, intervalMs: 4000}`]);
  const probe = await runMaxThroughput(probeCfg);
  const v0 = Math.max(probe.maxThroughput, 100);
  const unit = Math.max(5, Math.round(v0 / 50));
  const rampSpec = `ramp={warmup: [{rate: ${Math.round(v0 / 2)}, durationMs: 2000}], initialRate: ${Math.round((0.7 * v0) / unit) * unit}, rateStep: ${unit}, maxStep: ${5 * unit}, stepDivisor: 2, intervalMs: ${quick ? 3000 : 4000}, maxDurationMs: 200000}`;
  const virtual = await ramp(loadJobConfig(undefined, [...sets, 'clock=virtual', rampSpec]));
  const real = await ramp(loadJobConfig(undefined, [...sets, 'clock=real', rampSpec]));
  const ratio = real.maxThroughput / virtual.maxThroughput;
  const row = { partitioner: name, ideal: ideal.ideal, idealBound: ideal.bound, probe: probe.maxThroughput, ramp: rampSpec, virtual, real, ratio, agree: Math.abs(ratio - 1) <= AGREE };
  model.push(row);
  process.stdout.write(
    `${name}: ideal ${ideal.ideal.toFixed(0)} rec/s (${ideal.bound}); virtual ${virtual.maxThroughput} rec/s, real ${real.maxThroughput} rec/s: real/virtual ${ratio.toFixed(3)} ${row.agree ? 'within' : 'NOT within'} ${AGREE * 100} %` +
      ` (real: ${(real.wallMs / 1000).toFixed(0)} s wall, ${real.cpuPerWallMs.toFixed(2)} CPU ms per ms; busiest worker ${real.busiestWorkerMs.toFixed(0)} vs ${virtual.busiestWorkerMs.toFixed(0)} ms/s, reducer ${real.busiestReducerMs.toFixed(0)} vs ${virtual.busiestReducerMs.toFixed(0)})\n`,
  );
}

const out = {
  bench: 'calibration',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  quick,
  costs: rows,
  modelVsReal: { setting: MODEL_BASE, tolerance: AGREE, runs: model, allAgree: model.every((m) => m.agree === true) },
};
const dir = join(repoRoot(import.meta.url), 'results', 'bench');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'calibration.json'), JSON.stringify(out, null, 2) + '\n');
process.stdout.write(`wrote ${join(dir, 'calibration.json')}\n`);
