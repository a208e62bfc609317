// `sas compare`: every partitioner × workload × task × repetition, max throughput plus a fixed-rate run, and a report.
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, SasError } from '../common/errors.js';
import { parseOrThrow } from '../common/validate.js';
import { readYamlFile, validateJob, type JobConfig } from '../engine/config.js';
import { buildJob, runJob } from '../engine/job.js';
import { runMaxThroughput } from '../engine/max-throughput.js';
import { physicalIdeal } from '../engine/ideal.js';
import { writeReport, type Cell, type CompareResults, type RunResult } from '../report/index.js';
import { ResultsDir } from './output.js';
import { createProgress } from './progress.js';
import { toRunResult } from './run.js';
import { writeCorpusTrace } from './trace.js';
import { preloadLearned } from './learned.js';

/** A partitioner entry: a name, or `{name, params, label}`; `label` (default the name) tells two entries of one partitioner apart in the report. */
const partitionerEntry = z.union([z.string().min(1), z.strictObject({ name: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}), label: z.string().regex(/^[A-Za-z0-9._=,()+-]+$/, 'letters, digits and ._=,()+- only').optional() })]);

/** The experiment file schema (params/compare.yaml; every field documented in docs/compare.md). */
export const compareSchema = z.strictObject({
  /** Job config fields shared by every run (see docs/params.md). */
  base: z.record(z.string(), z.unknown()).default({}),
  partitioners: z.array(partitionerEntry).min(1, 'list at least one partitioner'),
  /**
   * Workloads; an entry may carry a hidden per-key cost (`hiddenCost`, as `workload.hiddenCost` of a
   * job) and override base job fields for its runs (`base`, e.g. `cluster` for uneven speeds).
   */
  workloads: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        params: z.record(z.string(), z.unknown()).default({}),
        label: z.string().min(1).optional(),
        hiddenCost: z.record(z.string(), z.unknown()).optional(),
        base: z.record(z.string(), z.unknown()).default({}),
      }),
    )
    .min(1, 'list at least one workload'),
  /** Tasks; an entry may override base fields (`base`) and the fixed rate for its runs, e.g. a lower capacity for a costlier task. */
  tasks: z
    .array(
      z.union([
        z.string().min(1),
        z.strictObject({
          name: z.string().min(1),
          params: z.record(z.string(), z.unknown()).default({}),
          base: z.record(z.string(), z.unknown()).default({}),
          fixedRate: z.strictObject({ rate: z.number().positive().optional(), durationMs: z.number().positive().optional() }).optional(),
        }),
      ]),
    )
    .min(1, 'list at least one task'),
  repetitions: z.number().int().min(1).max(100).default(1),
  /** Seed of repetition i is seeds[i] (default: base seed + i). */
  seeds: z.array(z.number().int().nonnegative()).optional(),
  /** Run the max-throughput ramp for every combination. Default true. */
  maxThroughput: z.boolean().default(true),
  /** The fixed-rate run that gives imbalance and latency over time. */
  fixedRate: z.strictObject({ rate: z.number().positive().default(20_000), durationMs: z.number().positive().default(10_000) }).prefault({}),
  output: z.strictObject({ dir: z.string().min(1).default('results'), name: z.string().regex(/^[A-Za-z0-9._-]+$/).optional() }).prefault({}),
});
export type CompareConfig = z.infer<typeof compareSchema>;

interface Combo {
  readonly task: { name: string; params: Record<string, unknown> };
  readonly fixedRate: { rate: number; durationMs: number };
  readonly workload: { name: string; params: Record<string, unknown>; label: string };
  readonly partitioner: { name: string; params: Record<string, unknown>; label: string };
  readonly repetition: number;
  readonly seed: number;
  readonly job: JobConfig;
}

const asPartitioner = (x: z.infer<typeof partitionerEntry>) => (typeof x === 'string' ? { name: x, params: {}, label: x } : { name: x.name, params: x.params, label: x.label ?? x.name });

type TaskEntry = CompareConfig['tasks'][number];
const taskOf = (t: TaskEntry) => (typeof t === 'string' ? { name: t, params: {}, base: {}, fixedRate: undefined } : t);

/** `over` merged into `base`, one level deep for nested mappings (so `ramp: {…}` overrides single ramp fields). */
function mergeBase(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? { ...(b as object), ...(v as object) } : v;
  }
  return out;
}

/**
 * Workload label used in ids and the report: `label`; else the name when no other entry has that
 * name (so the `uniform` ideal is found by name); else name plus params.
 */
function labelOf(w: { name: string; params: Record<string, unknown>; label?: string }, all: ReadonlyArray<{ name: string }>): string {
  if (w.label) return w.label;
  if (all.filter((x) => x.name === w.name).length === 1) return w.name;
  const ps = Object.entries(w.params).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return ps.length ? `${w.name}(${ps.join(',')})` : w.name;
}

/**
 * Expands the experiment into validated job configs, building each job once so that an unknown name, a
 * bad parameter or a missing file fails before anything runs. The `trace` workload is a CSV trace made
 * from the bundled corpus, written into `traceDir`.
 */
export function expandCompare(cfg: CompareConfig, traceDir: string, file?: string): Combo[] {
  const combos: Combo[] = [];
  const labels = new Map<string, number>();
  cfg.partitioners.map(asPartitioner).forEach((p, pi) => {
    const first = labels.get(p.label);
    if (first !== undefined) {
      throw new ConfigError(`partitioners[${pi}].label: "${p.label}" is already the label of partitioners[${first}]; give each entry of the same partitioner its own label`, { field: `partitioners[${pi}].label`, got: p.label });
    }
    labels.set(p.label, pi);
  });
  const traces = new Map<string, string>();
  cfg.tasks.forEach((entry, ti) => {
    const te = taskOf(entry);
    const task = { name: te.name, params: te.params };
    const base = mergeBase(cfg.base, te.base);
    const baseSeed = typeof base.seed === 'number' ? base.seed : 1;
    const fixedRate = { rate: te.fixedRate?.rate ?? cfg.fixedRate.rate, durationMs: te.fixedRate?.durationMs ?? cfg.fixedRate.durationMs };
    cfg.workloads.forEach((w, wi) => {
      let wl: { name: string; params: Record<string, unknown>; hiddenCost?: Record<string, unknown> } = { name: w.name, params: { ...w.params } };
      if (w.name === 'trace') {
        const format = task.name === 'wordcount' ? 'text' : 'values';
        let path = traces.get(format);
        if (!path) {
          path = join(traceDir, `trace-${format}.csv`);
          writeCorpusTrace(path, format);
          traces.set(format, path);
        }
        wl = { name: 'csv', params: { ...w.params, path, format } };
      }
      if (w.hiddenCost) wl = { ...wl, hiddenCost: w.hiddenCost };
      const wbase = mergeBase(base, w.base);
      cfg.partitioners.map(asPartitioner).forEach((p, pi) => {
        for (let rep = 0; rep < cfg.repetitions; rep++) {
          const seed = cfg.seeds ? cfg.seeds[rep % cfg.seeds.length] : baseSeed + rep;
          const raw = { ...wbase, seed, task, workload: wl, partitioner: { name: p.name, params: p.params }, output: { metrics: false } };
          let job: JobConfig;
          try {
            job = validateJob(raw, file);
            buildJob(job);
          } catch (e) {
            if (e instanceof SasError) {
              const where = `tasks[${ti}], workloads[${wi}], partitioners[${pi}]`;
              throw new SasError(e.code, `${file ?? 'compare config'} (${where}): ${e.message}`, { context: { ...e.context, where } });
            }
            throw e;
          }
          // The report shows the workload as listed (a trace's generated path is an implementation detail).
          combos.push({ task, fixedRate, workload: { name: wl.name, params: w.params, label: labelOf(w, cfg.workloads) }, partitioner: p, repetition: rep, seed, job });
        }
      });
    });
  });
  return combos;
}

/**
 * One cell per (task, workload label, P, clock), with the physical ideal of its first combination's
 * job (every partitioner of a cell shares the cluster, the workload and the costs).
 */
export function cellsOf(combos: readonly Combo[]): Cell[] {
  const cells = new Map<string, Cell>();
  for (const c of combos) {
    const key = JSON.stringify([c.task.name, c.workload.label, c.job.workers, c.job.clock]);
    if (cells.has(key)) continue;
    // The ramp runs for up to ramp.maxDurationMs: sample the workload over the span a ramp covers.
    const job = buildJob({ ...c.job, durationMs: Math.min(c.job.ramp.maxDurationMs, 120_000) });
    const fresh = buildJob({ ...c.job, durationMs: job.config.durationMs });
    const ideal = physicalIdeal({ params: job.params, op: job.parts.op, workload: fresh.parts.workload });
    cells.set(key, { task: c.task.name, workload: c.workload.label, P: c.job.workers, clock: c.job.clock, ideal: Number.isFinite(ideal.ideal) ? ideal.ideal : null, bound: ideal.bound, emitShare: ideal.emitShare });
  }
  return [...cells.values()];
}

/** The experiment config with every partitioner entry's `token` (remote mode) replaced by "(redacted)". */
export function redactCompareSecrets(cfg: CompareConfig): CompareConfig {
  const partitioners = cfg.partitioners.map((p) => (typeof p === 'object' && p.params && 'token' in p.params ? { ...p, params: { ...p.params, token: '(redacted)' } } : p));
  return { ...cfg, partitioners };
}

/** Loads and validates a compare file. */
export function loadCompareConfig(file: string): CompareConfig {
  return parseOrThrow(compareSchema, readYamlFile(file), '', file);
}

/**
 * Runs every combination (ramp, then fixed-rate run) and writes results.json/csv, report.md and
 * report.html to `<output.dir>/<name>/` atomically. Returns the folder.
 */
export async function compareCommand(cfg: CompareConfig, opts: { file?: string; quiet?: boolean; name?: string } = {}): Promise<{ dir: string; results: CompareResults }> {
  const name = opts.name ?? cfg.output.name ?? `compare-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
  const out = new ResultsDir(cfg.output.dir, name, { explicit: opts.name !== undefined || cfg.output.name !== undefined, field: 'output.dir (--out)' });
  try {
    const combos = expandCompare(cfg, out.tmpPath, opts.file);
    if (combos.length === 0) throw new ConfigError('nothing to run: the experiment expands to no combination', { field: 'partitioners' });
    const progress = createProgress(`compare (${combos.length} runs)`, opts.quiet);
    const runs: RunResult[] = [];
    for (let i = 0; i < combos.length; i++) {
      const c = combos[i];
      const tag = `${c.task.name}/${c.workload.label}/${c.partitioner.label}${cfg.repetitions > 1 ? ` #${c.repetition}` : ''}`;
      progress.update(i / combos.length, tag);
      // Let the event loop turn between runs (each virtual-clock run is synchronous), so that SIGINT and
      // SIGTERM are acted on between runs rather than only at the end.
      await new Promise((res) => setImmediate(res));
      const started = new Date();
      await preloadLearned(c.job); // the learned partitioners' checkpoints (no-op for the others)
      const max = cfg.maxThroughput ? await runMaxThroughput(c.job) : undefined;
      const fixed = { ...c.job, source: { ...c.job.source, rate: c.fixedRate.rate }, durationMs: c.fixedRate.durationMs };
      const res = await runJob(buildJob(fixed));
      const id = `${c.task.name}-${c.workload.label}-${c.partitioner.label}-r${c.repetition}`.replace(/[^A-Za-z0-9._=,()-]/g, '_');
      const r = toRunResult(fixed, res, started, id, c.repetition);
      runs.push({
        ...r,
        partitioner: c.partitioner.label,
        workload: { name: c.workload.label, params: c.workload.params },
        workloadLabel: c.workload.label,
        summary: { ...r.summary, ...(max ? { maxThroughput: max.maxThroughput } : {}) },
      });
    }
    progress.update(1, 'writing report');
    progress.stop();
    const results: CompareResults = { createdAt: new Date().toISOString(), config: redactCompareSecrets(cfg) as unknown as Record<string, unknown>, runs, cells: cellsOf(combos) };
    await writeReport(results, out.tmpPath);
    const wanted = out.finalPath;
    const dir = await out.commit();
    if (dir !== wanted && !opts.quiet) process.stderr.write(`warning: ${wanted} appeared while this comparison ran; its results are in ${dir}\n`);
    return { dir, results };
  } catch (e) {
    await out.abort();
    throw e;
  }
}

