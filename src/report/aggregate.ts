// Groups runs into settings (task, P, clock) and workloads, and computes the per-partitioner table rows.
import { canonicalJson, namedLabel } from './format.js';
import type { CompareResults, NamedParams, RunResult } from './types.js';

/** Workload name whose runs define the ideal throughput of a setting. */
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
  /** throughput / the setting's ideal; null when the setting has no uniform runs. */
  readonly relIdeal: number | null;
  /** throughput / the hash row's throughput on the same workload; null when hash was not run. */
  readonly relHash: number | null;
  /** Means over the runs of the summary fields of the same name. */
  readonly imbalanceBusy: number;
  readonly nmadBusy: number;
  readonly replication: number;
  /** Mean over runs that have a p99; null when none has. */
  readonly latencyP99Ms: number | null;
}

/** One workload within a setting: its runs and one row per partitioner (first-appearance order). */
export interface WorkloadGroup {
  /** Canonical key (name + params). */
  readonly key: string;
  readonly workload: NamedParams;
  /** e.g. `zipf(s=1.5)`. */
  readonly label: string;
  readonly runs: readonly RunResult[];
  readonly rows: readonly PartitionerRow[];
}

/** The ideal of a setting: mean throughput of its uniform-workload runs (every partitioner). */
export interface Ideal {
  readonly throughput: number;
  readonly runs: number;
  readonly measure: ThroughputMeasure;
}

/** Runs that are comparable: same task (name + params), P and clock. */
export interface Setting {
  readonly key: string;
  readonly task: NamedParams;
  /** e.g. `word-count · P=4 · virtual clock`. */
  readonly label: string;
  readonly P: number;
  readonly clock: RunResult['clock'];
  readonly ideal: Ideal | null;
  readonly workloads: readonly WorkloadGroup[];
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
    return {
      partitioner,
      runs: rs.length,
      throughput: mean(tps),
      throughputSd: sampleSd(tps),
      measure: measureOf(rs),
      imbalanceBusy: mean(rs.map((r) => r.summary.imbalanceBusy)),
      nmadBusy: mean(rs.map((r) => r.summary.nmadBusy)),
      replication: mean(rs.map((r) => r.summary.replication)),
      latencyP99Ms: p99s.length > 0 ? mean(p99s) : null,
    };
  });
  const hash = base.find((r) => r.partitioner === HASH_PARTITIONER);
  return base.map((r) => ({
    ...r,
    relIdeal: ideal && ideal.throughput > 0 ? r.throughput / ideal.throughput : null,
    relHash: hash && hash.throughput > 0 ? r.throughput / hash.throughput : null,
  }));
}

/**
 * Groups `results.runs` by setting (task name + params, P, clock), then by workload (name + params),
 * then by partitioner, and computes each row. Runs of one partitioner in one group are its
 * repetitions. The ideal of a setting is the mean {@link runThroughput} over all its runs whose
 * workload name is {@link IDEAL_WORKLOAD}, whatever the partitioner; null when there are none.
 */
export function summarize(results: CompareResults): ComparisonSummary {
  const settingKey = (r: RunResult): string => canonicalJson([r.task.name, r.task.params, r.P, r.clock]);
  const settings = [...groupBy(results.runs, settingKey)].map(([key, runs]): Setting => {
    const first = runs[0];
    const uniform = runs.filter((r) => r.workload.name === IDEAL_WORKLOAD);
    const ideal: Ideal | null =
      uniform.length > 0 ? { throughput: mean(uniform.map(runThroughput)), runs: uniform.length, measure: measureOf(uniform) } : null;
    const byWorkload = groupBy(runs, (r) => canonicalJson([r.workload.name, r.workload.params]));
    const workloads = [...byWorkload].map(([wkey, wruns]): WorkloadGroup => ({
      key: wkey,
      workload: wruns[0].workload,
      label: namedLabel(wruns[0].workload.name, wruns[0].workload.params),
      runs: wruns,
      rows: rowsOf(wruns, ideal),
    }));
    return {
      key,
      task: first.task,
      label: `${namedLabel(first.task.name, first.task.params)} · P=${first.P} · ${first.clock} clock`,
      P: first.P,
      clock: first.clock,
      ideal,
      workloads,
    };
  });
  const partitioners = [...new Set(results.runs.map((r) => r.partitioner))];
  return { settings, partitioners };
}
