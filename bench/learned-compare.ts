// Bench: steady-state busy imbalance of saspartitioner vs the baselines (virtual clock, P=64, Zipf 1.5) and recovery after a shift → results/bench/learned.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadJobConfig, type JobConfig } from '../src/engine/config.js';
import { buildJob, runJob } from '../src/engine/job.js';
import { imbalance } from '../src/common/metrics.js';
import type { SlideReport } from '../src/common/metrics.js';
import { prepareLearnedPartitioner } from '../src/partitioners/learned/prepare.js';

/** Env: DURATION_MS (default 30000), WARMUP_SLIDES (5), SEED (job seed, default 1; checkpoint selection uses another one), PARTITIONERS (comma list), CHECKPOINTS (label=dir,…), SHIFT (0 = steady only), OUT (file), MERGE (an earlier OUT whose rows are kept unless re-measured). */
const DURATION = Number(process.env.DURATION_MS ?? 30_000);
const WARMUP = Number(process.env.WARMUP_SLIDES ?? 5);
const BASELINES = (process.env.PARTITIONERS ?? 'hash,pkg,d-choices,w-choices,cam,dagreedy,flexd,dalton,dalton-metrics').split(',').filter(Boolean);
/** CHECKPOINTS entries "label=dir": split at the first '=', so a directory may contain '='; a label may not. */
const CHECKPOINTS = (process.env.CHECKPOINTS ?? 'uniform=none,default=default')
  .split(',')
  .filter(Boolean)
  .map((s): [string, string] => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) {
      console.error(`CHECKPOINTS: expected "label=dir" entries separated by commas, got ${JSON.stringify(s)}`);
      process.exit(2);
    }
    return [s.slice(0, i), s.slice(i + 1)];
  });
const SHIFT = process.env.SHIFT !== '0';
const SEED = Number(process.env.SEED ?? 1);
/** VARIANTS: JSON list of {label, params} — saspartitioner runs with explicit partitioner params (added to the CHECKPOINTS runs). */
const VARIANTS = JSON.parse(process.env.VARIANTS ?? '[]') as { label: string; params: Record<string, unknown> }[];

const BASE = [
  'clock=virtual',
  `seed=${SEED}`, // 1 = params/default.yaml, the deployment checkpoints/default was trained on
  'workers=64',
  'capacity=100000',
  'slideMs=1000',
  'source.rate=100000',
  'task.name=wordcount',
  'output.metrics=false',
];

interface Row {
  readonly label: string;
  readonly workload: string;
  /** Mean over steady slides of the per-slide busy imbalance (max/mean − 1). */
  readonly meanSlideImbalance: number;
  /** Median of the per-slide busy imbalance over steady slides. */
  readonly medianSlideImbalance: number;
  /** Imbalance of the per-worker busy time averaged over the steady slides. */
  readonly imbalanceOfMeanBusy: number;
  /** Records per second that reached the combiners, mean over steady slides. */
  readonly throughput: number;
  /** Slides after the shift until busy imbalance < 0.1 (shift runs only; -1 = never). */
  readonly recoverySlides?: number;
  readonly slides: number[];
  readonly wallMs: number;
}

function summarise(label: string, workload: string, reports: SlideReport[], eventTimeMs: number, wallMs: number, shiftAt?: number): Row {
  const steady = reports.filter((r) => r.slideStartMs + r.slideMs <= eventTimeMs + 1e-9).slice(WARMUP);
  const imb = steady.map((r) => r.job.imbalanceBusy);
  const P = reports[0].workers.length;
  const mean = new Array<number>(P).fill(0);
  for (const r of steady) for (const w of r.workers) mean[w.worker] += w.busyMs / steady.length;
  const sorted = [...imb].sort((a, b) => a - b);
  let recoverySlides: number | undefined;
  if (shiftAt !== undefined) {
    const after = reports.filter((r) => r.slideStartMs >= shiftAt && r.slideStartMs + r.slideMs <= eventTimeMs + 1e-9);
    const i = after.findIndex((r) => r.job.imbalanceBusy < 0.1);
    recoverySlides = i < 0 ? -1 : i;
  }
  return {
    label,
    workload,
    meanSlideImbalance: imb.reduce((a, b) => a + b, 0) / Math.max(1, imb.length),
    medianSlideImbalance: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    imbalanceOfMeanBusy: imbalance(mean),
    throughput: steady.reduce((a, r) => a + r.job.throughput, 0) / Math.max(1, steady.length),
    ...(recoverySlides !== undefined ? { recoverySlides } : {}),
    slides: reports.map((r) => Number(r.job.imbalanceBusy.toFixed(4))),
    wallMs,
  };
}

async function runOne(label: string, cfg: JobConfig, learned: boolean, shiftAt?: number): Promise<Row> {
  const t0 = Date.now();
  const prep = learned ? await prepareLearnedPartitioner(cfg) : undefined;
  const job = buildJob(cfg, prep ? { partitioner: prep.partitioner } : {});
  const res = await runJob(job, {});
  await prep?.close();
  const row = summarise(label, cfg.workload.name, res.reports, res.eventTimeMs, Date.now() - t0, shiftAt);
  process.stderr.write(`${label.padEnd(28)} ${cfg.workload.name.padEnd(14)} mean ${row.meanSlideImbalance.toFixed(4)} median ${row.medianSlideImbalance.toFixed(4)} of-mean ${row.imbalanceOfMeanBusy.toFixed(4)} thr ${Math.round(row.throughput)}${row.recoverySlides !== undefined ? ` recovery ${row.recoverySlides}` : ''} (${(row.wallMs / 1000).toFixed(0)} s)\n`);
  return row;
}

const steady = ['workload.name=zipf', 'workload.params={numKeys: 100000, exponent: 1.5}', `durationMs=${DURATION}`];
const shiftMs = Math.round(DURATION / 2 / 1000) * 1000;
const shift = ['workload.name=zipf-sequence', `workload.params={numKeysSequence: [100000], exponentSequence: [1.5, 1.5], shiftIntervalMs: ${shiftMs}}`, `durationMs=${DURATION}`];

const OUT = process.env.OUT ?? 'results/bench/learned.json';
const rows: Row[] = [];
for (const [wlName, wl] of SHIFT ? ([['zipf', steady], ['shift', shift]] as const) : ([['zipf', steady]] as const)) {
  const shiftAt = wlName === 'shift' ? shiftMs : undefined;
  for (const name of BASELINES) rows.push(await runOne(name, loadJobConfig(undefined, [...BASE, ...wl, `partitioner.name=${name}`]), false, shiftAt));
  for (const [label, ckpt] of CHECKPOINTS) {
    rows.push(await runOne(`saspartitioner[${label}]`, loadJobConfig(undefined, [...BASE, ...wl, 'partitioner.name=saspartitioner', `partitioner.params={checkpoint: "${ckpt}"}`]), true, shiftAt));
  }
  for (const v of VARIANTS) {
    rows.push(await runOne(`saspartitioner[${v.label}]`, loadJobConfig(undefined, [...BASE, ...wl, 'partitioner.name=saspartitioner', `partitioner.params=${JSON.stringify(v.params)}`]), true, shiftAt));
  }
}
if (process.env.MERGE && existsSync(process.env.MERGE)) {
  const old = JSON.parse(readFileSync(process.env.MERGE, 'utf8')) as { rows: Row[] };
  for (const r of old.rows) if (!rows.some((x) => x.label === r.label && x.workload === r.workload)) rows.push(r);
}
mkdirSync('results/bench', { recursive: true });
writeFileSync(
  OUT,
  JSON.stringify({ bench: 'learned-compare', config: { seed: SEED, P: 64, numKeys: 100000, exponent: 1.5, capacity: 100000, rate: 100000, durationMs: DURATION, warmupSlides: WARMUP, shiftAtMs: shiftMs }, rows, when: new Date().toISOString() }, null, 2) + '\n',
);
process.stderr.write(`wrote ${OUT}\n`);
