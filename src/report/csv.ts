// results.csv: one row per run, flattened summary, fixed column order (documented in docs/report.md).
import { canonicalJson, csvField } from './format.js';
import type { Cell, CompareResults, RunResult } from './types.js';

const num = (x: number | null | undefined): string => (x === null || x === undefined ? '' : String(x));

/**
 * The columns of results.csv, in order, with how each is read from a run and its cell (the
 * `results.cells` entry of its task, workload label, P and clock; undefined when there is none).
 * Append new columns at the end only, so that scripts indexing columns keep working.
 */
export const CSV_COLUMNS: ReadonlyArray<readonly [string, (r: RunResult, cell: Cell | undefined) => string]> = [
  ['id', (r) => r.id],
  ['partitioner', (r) => r.partitioner],
  ['workload', (r) => r.workload.name],
  ['workload_params', (r) => canonicalJson(r.workload.params)],
  ['task', (r) => r.task.name],
  ['task_params', (r) => canonicalJson(r.task.params)],
  ['clock', (r) => r.clock],
  ['P', (r) => String(r.P)],
  ['seed', (r) => String(r.seed)],
  ['repetition', (r) => String(r.repetition)],
  ['max_throughput', (r) => num(r.summary.maxThroughput)],
  ['sustained_throughput', (r) => num(r.summary.sustainedThroughput)],
  ['latency_p50_ms', (r) => num(r.summary.latencyP50Ms)],
  ['latency_p99_ms', (r) => num(r.summary.latencyP99Ms)],
  ['imbalance_busy', (r) => num(r.summary.imbalanceBusy)],
  ['nmad_busy', (r) => num(r.summary.nmadBusy)],
  ['imbalance_count', (r) => num(r.summary.imbalanceCount)],
  ['replication', (r) => num(r.summary.replication)],
  ['per_worker_load', (r) => r.summary.perWorkerLoad.map(String).join(';')],
  ['started_at', (r) => r.startedAt],
  ['duration_ms', (r) => num(r.durationMs)],
  ['version', (r) => r.version.package],
  ['commit', (r) => r.version.commit ?? ''],
  ['dirty', (r) => (r.version.dirty === undefined ? '' : String(r.version.dirty))],
  ['cpu_model', (r) => r.machine.cpuModel],
  ['cpus', (r) => String(r.machine.cpus)],
  ['memory_bytes', (r) => num(r.machine.memoryBytes)],
  ['node', (r) => r.machine.node],
  ['platform', (r) => r.machine.platform],
  ['arch', (r) => r.machine.arch],
  ['workload_label', (r) => r.workloadLabel ?? ''],
  ['ideal', (_r, c) => num(c?.ideal)],
  ['max_throughput_over_ideal', (r, c) => (r.summary.maxThroughput !== undefined && c?.ideal ? String(r.summary.maxThroughput / c.ideal) : '')],
];

/**
 * results.csv text: a header line then one line per run in `results.runs` order, LF line endings,
 * RFC 4180 quoting. Numbers are JavaScript's shortest round-trip form; absent values are empty.
 */
export function renderCsv(results: CompareResults): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  const key = (task: string, workload: string, P: number, clock: string): string => JSON.stringify([task, workload, P, clock]);
  const cells = new Map((results.cells ?? []).map((c) => [key(c.task, c.workload, c.P, c.clock), c]));
  for (const run of results.runs) {
    const cell = run.workloadLabel === undefined ? undefined : cells.get(key(run.task.name, run.workloadLabel, run.P, run.clock));
    lines.push(CSV_COLUMNS.map(([, get]) => csvField(get(run, cell))).join(','));
  }
  return lines.join('\n') + '\n';
}
