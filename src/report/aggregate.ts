// Groups runs into settings (task, P, clock) and workloads, computes the per-partitioner rows, the ideal
// of each workload (results.cells) and the verdict per workload (best partitioner, its lead).
import { canonicalJson, namedLabel } from './format.js';
import type { Cell, CompareResults, NamedParams, RunResult } from './types.js';

/**
 * Workload name whose runs define the ideal of a setting in results made before `cells` existed (the
 * old rule: mean throughput of the `uniform` runs). Results with `cells` use the physical ideal.
 */
export const IDEAL_WORKLOAD = 'uniform';
/** Partitioner name the "relative to hash" column divides by. */
export const HASH_PARTITIONER = 'hash';

/**
 * Which throughput a number is: `max` = `summary.maxThroughput` (ramp test), `sustained` =
 * `summary.sustainedThroughput` (no ramp was run), `mixed` = some runs of each.
 */
export type ThroughputMeasure = 'max' | 'sustained' | 'mixed';

/** A run's throughput as reported: the ramp's max throughput when it was run, else the sustained one. */
export function runThroughput(run: RunResult): number {
  return run.summary.maxThroughput ?? run.summary.sustainedThroughput;
}

/** The measure of a set of runs (see {@link ThroughputMeasure}). `runs` must not be empty. */
export function measureOf(runs: readonly RunResult[]): ThroughputMeasure {
  const withMax = runs.filter((r) => r.summary.maxThroughput !== undefined).length;
  return withMax === runs.length ? 'max' : withMax === 0 ? 'sustained' : 'mixed';
}

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/** One table row: a partitioner's runs (its repetitions) on one workload within one setting. */
export interface PartitionerRow {
  readonly partitioner: string;
  /** Number of runs (repetitions) averaged. */
  readonly runs: number;
  /** Mean of {@link runThroughput} over the runs, records/s. */
  readonly throughput: number;
  /** Sample standard deviation of the same. */
  readonly throughputSd: number;
  readonly measure: ThroughputMeasure;
  /** throughput / the workload's ideal; null when it has none (no cell, unlimited capacity, no uniform runs). */
  readonly relIdeal: number | null;
  /** throughput / the hash row's throughput on the same workload; null when hash was not run. */
  readonly relHash: number | null;
  /** Means over the runs of the summary fields of the same name. */
  readonly imbalanceBusy: number;
  readonly nmadBusy: number;
  /** Mean over the runs that measured it; null when none did. */
  readonly replication: number | null;
  /** Mean over runs that have a p99; null when none has. */
  readonly latencyP99Ms: number | null;
}

/**
 * The ideal a workload's throughputs are divided by:
 * - `physical`: its `results.cells` entry (src/engine/ideal.ts), the highest rate any exact plan could
 *   sustain on the simulated cluster; `throughput` null when the capacity is unlimited;
 * - `uniform-runs`: results without `cells` (made before it existed) fall back to the old rule, the mean
 *   throughput of the setting's `uniform` runs, whatever the workload. It is not a physical limit.
 */
export type Ideal =
  | { readonly kind: 'physical'; readonly throughput: number | null; readonly bound: Cell['bound']; readonly emitShare: number }
  | { readonly kind: 'uniform-runs'; readonly throughput: number; readonly runs: number; readonly measure: ThroughputMeasure };

/**
 * Who wins a workload: `leaders` = every partitioner with the highest mean throughput (more than one
 * on a tie), `second` = the best row below them (null when every row ties or there is one row), `lead`
 * = leader throughput / second throughput − 1 (null without a second).
 */
export interface Verdict {
  readonly leaders: readonly PartitionerRow[];
  readonly second: PartitionerRow | null;
  readonly lead: number | null;
  /** The rows below the second, best first. */
  readonly rest: readonly PartitionerRow[];
}

/** One workload within a setting: its runs and one row per partitioner (first-appearance order). */
export interface WorkloadGroup {
  /** Grouping key: the run's `workloadLabel` when it has one, else its canonical name + params. */
  readonly key: string;
  readonly workload: NamedParams;
  /** `workloadLabel` when the runs have one (`zipf-1.5`), else e.g. `zipf(s=1.5)`. */
  readonly label: string;
  readonly runs: readonly RunResult[];
  readonly rows: readonly PartitionerRow[];
  /** null when the workload has no ideal (results with cells but none for it; no uniform runs). */
  readonly ideal: Ideal | null;
  readonly verdict: Verdict;
}

/** Runs that are comparable: same task (name + params), P and clock. */
export interface Setting {
  readonly key: string;
  readonly task: NamedParams;
  /** e.g. `word-count · P=4 · virtual clock`. */
  readonly label: string;
  readonly P: number;
  readonly clock: RunResult['clock'];
  /** `physical` when the results have `cells`, else `uniform-runs` (see {@link Ideal}). */
  readonly idealRule: Ideal['kind'];
  readonly workloads: readonly WorkloadGroup[];
  /**
   * The setting's partitioners, best first: by mean {@link PartitionerRow.relIdeal} over the
   * workloads that have one (partitioners without any last), ties in first-appearance order. The
   * heat map's row order.
   */
  readonly ranking: readonly string[];
}

/** The whole comparison, grouped. Order everywhere = first appearance in `results.runs`. */
export interface ComparisonSummary {
  readonly settings: readonly Setting[];
  /** Every partitioner, first-appearance order (charts give each the same colour everywhere). */
  readonly partitioners: readonly string[];
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

function rowsOf(runs: readonly RunResult[], ideal: Ideal | null): PartitionerRow[] {
  const byPartitioner = groupBy(runs, (r) => r.partitioner);
  const base = [...byPartitioner].map(([partitioner, rs]) => {
    const tps = rs.map(runThroughput);
    const p99s = rs.map((r) => r.summary.latencyP99Ms).filter((x): x is number => x !== null);
    const repl = rs.map((r) => r.summary.replication).filter((x): x is number => x !== null);
    return {
      partitioner,
      runs: rs.length,
      throughput: mean(tps),
      throughputSd: sampleSd(tps),
      measure: measureOf(rs),
      imbalanceBusy: mean(rs.map((r) => r.summary.imbalanceBusy)),
      nmadBusy: mean(rs.map((r) => r.summary.nmadBusy)),
      replication: repl.length > 0 ? mean(repl) : null,
      latencyP99Ms: p99s.length > 0 ? mean(p99s) : null,
    };
  });
  const hash = base.find((r) => r.partitioner === HASH_PARTITIONER);
  const limit = ideal?.throughput ?? null;
  return base.map((r) => ({
    ...r,
    relIdeal: limit !== null && limit > 0 ? r.throughput / limit : null,
    relHash: hash && hash.throughput > 0 ? r.throughput / hash.throughput : null,
  }));
}

/** The {@link Verdict} of a workload's rows (ties broken by nothing: equal throughputs all lead). */
export function verdictOf(rows: readonly PartitionerRow[]): Verdict {
  const sorted = rows.map((r, i) => ({ r, i })).sort((a, b) => b.r.throughput - a.r.throughput || a.i - b.i).map((x) => x.r);
  const top = sorted[0]?.throughput;
  const leaders = sorted.filter((r) => r.throughput === top);
  const below = sorted.slice(leaders.length);
  const second = below[0] ?? null;
  const lead = second && second.throughput > 0 ? leaders[0].throughput / second.throughput - 1 : null;
  return { leaders, second, lead, rest: below.slice(1) };
}

/** Mean of the defined values; null when there is none. */
function meanDefined(xs: ReadonlyArray<number | null>): number | null {
  const d = xs.filter((x): x is number => x !== null);
  return d.length > 0 ? mean(d) : null;
}

/**
 * Each partitioner's mean max throughput ÷ ideal over the setting's workloads that have an ideal (the
 * heat map's "mean" column); null for a partitioner with no such workload.
 */
export function meanRelIdeal(setting: Pick<Setting, 'workloads'>, partitioner: string): number | null {
  return meanDefined(setting.workloads.map((w) => w.rows.find((r) => r.partitioner === partitioner)?.relIdeal ?? null));
}

/** The label runs of one workload are shown under (see {@link WorkloadGroup.label}). */
export function workloadLabelOf(run: RunResult): string {
  return run.workloadLabel ?? namedLabel(run.workload.name, run.workload.params);
}

/**
 * Groups `results.runs` by setting (task name + params, P, clock), then by workload (`workloadLabel`,
 * or name + params for runs without one), then by partitioner, and computes each row. Runs of one
 * partitioner in one group are its repetitions.
 *
 * The ideal of a workload is its `results.cells` entry with the same task name, workload label, P and
 * clock (null when there is none). Results without `cells` (older files) use the old rule for every
 * workload of a setting: the mean {@link runThroughput} over the setting's runs whose workload name is
 * {@link IDEAL_WORKLOAD}, whatever the partitioner; null when there are none.
 */
export function summarize(results: CompareResults): ComparisonSummary {
  const settingKey = (r: RunResult): string => canonicalJson([r.task.name, r.task.params, r.P, r.clock]);
  const cells = results.cells;
  const cellOf = new Map((cells ?? []).map((c) => [canonicalJson([c.task, c.workload, c.P, c.clock]), c]));
  const settings = [...groupBy(results.runs, settingKey)].map(([key, runs]): Setting => {
    const first = runs[0];
    const uniform = runs.filter((r) => r.workload.name === IDEAL_WORKLOAD);
    const oldIdeal: Ideal | null =
      uniform.length > 0 ? { kind: 'uniform-runs', throughput: mean(uniform.map(runThroughput)), runs: uniform.length, measure: measureOf(uniform) } : null;
    const byWorkload = groupBy(runs, (r) => (r.workloadLabel !== undefined ? canonicalJson(['label', r.workloadLabel]) : canonicalJson([r.workload.name, r.workload.params])));
    const workloads = [...byWorkload].map(([wkey, wruns]): WorkloadGroup => {
      const label = workloadLabelOf(wruns[0]);
      let ideal: Ideal | null = oldIdeal;
      if (cells) {
        const c = cellOf.get(canonicalJson([first.task.name, label, first.P, first.clock]));
        ideal = c ? { kind: 'physical', throughput: c.ideal, bound: c.bound, emitShare: c.emitShare } : null;
      }
      const rows = rowsOf(wruns, ideal);
      return { key: wkey, workload: wruns[0].workload, label, runs: wruns, rows, ideal, verdict: verdictOf(rows) };
    });
    const order = [...new Set(runs.map((r) => r.partitioner))];
    const score = new Map(order.map((p) => [p, meanRelIdeal({ workloads }, p)]));
    const ranking = order
      .map((p, i) => ({ p, i, v: score.get(p) ?? null }))
      .sort((a, b) => (a.v === null ? (b.v === null ? a.i - b.i : 1) : b.v === null ? -1 : b.v - a.v || a.i - b.i))
      .map((x) => x.p);
    return {
      key,
      task: first.task,
      label: `${namedLabel(first.task.name, first.task.params)} · P=${first.P} · ${first.clock} clock`,
      P: first.P,
      clock: first.clock,
      idealRule: cells ? 'physical' : 'uniform-runs',
      workloads,
      ranking,
    };
  });
  const partitioners = [...new Set(results.runs.map((r) => r.partitioner))];
  return { settings, partitioners };
}

/** The heat map's last column: each partitioner's {@link meanRelIdeal}. */
export const MEAN_COLUMN = 'mean';

/** One heat-map cell: a partitioner's max throughput ÷ ideal on one workload (or the mean column). */
export interface HeatCell {
  readonly partitioner: string;
  /** A workload label, or {@link MEAN_COLUMN}. */
  readonly column: string;
  /** Throughput ÷ ideal; null when the workload has no ideal or the partitioner did not run it. */
  readonly value: number | null;
  /** The column's best (only where `value` is defined): a workload's {@link Verdict.leaders}, or the highest mean. */
  readonly best: boolean;
}

/**
 * The heat map of a setting, row by row in {@link Setting.ranking} order, columns in workload order
 * then {@link MEAN_COLUMN}: every (partitioner, column) pair once.
 */
export function heatmapCells(s: Setting): HeatCell[] {
  const means = new Map(s.ranking.map((p) => [p, meanRelIdeal(s, p)]));
  const defined = [...means.values()].filter((v): v is number => v !== null);
  const bestMean = defined.length > 0 ? Math.max(...defined) : null;
  const out: HeatCell[] = [];
  for (const p of s.ranking) {
    for (const w of s.workloads) {
      const row = w.rows.find((r) => r.partitioner === p);
      out.push({ partitioner: p, column: w.label, value: row?.relIdeal ?? null, best: row !== undefined && row.relIdeal !== null && w.verdict.leaders.includes(row) });
    }
    const m = means.get(p) ?? null;
    out.push({ partitioner: p, column: MEAN_COLUMN, value: m, best: m !== null && m === bestMean });
  }
  return out;
}

/** What a setting's throughputs are: `max throughput` (every row had a ramp), or what its rows measured. */
export function settingMeasure(s: Pick<Setting, 'workloads'>): 'max throughput' | 'max or sustained throughput' | 'sustained throughput' {
  const measures = new Set(s.workloads.flatMap((w) => w.rows.map((r) => r.measure)));
  return measures.size === 1 && measures.has('max') ? 'max throughput' : measures.has('max') ? 'max or sustained throughput' : 'sustained throughput';
}

/** Each run's ideal (its workload group's, see {@link WorkloadGroup.ideal}), by run id. */
export function idealsByRun(summary: ComparisonSummary): Map<string, Ideal | null> {
  const out = new Map<string, Ideal | null>();
  for (const s of summary.settings) for (const w of s.workloads) for (const r of w.runs) out.set(r.id, w.ideal);
  return out;
}
