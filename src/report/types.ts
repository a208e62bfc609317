// The saved-results model of `sas compare`: zod schemas, their inferred types and validation.
import { z } from 'zod';
import { parseOrThrow } from '../common/validate.js';

/** Any JSON value (configs and params are stored verbatim so that a run can be reproduced). */
export const JsonValueSchema: z.ZodType<unknown> = z.json();

/** A named component with its resolved params, e.g. `{ name: 'zipf', params: { s: 1.5 } }`. */
export const NamedParamsSchema = z.strictObject({
  name: z.string().min(1),
  params: z.record(z.string(), JsonValueSchema),
});
/** A workload or task reference: name plus resolved params. */
export type NamedParams = z.infer<typeof NamedParamsSchema>;

/** Version of the code that produced a run: package.json version, git commit when known. */
export const VersionInfoSchema = z.strictObject({
  package: z.string().min(1),
  /** `git rev-parse HEAD` of the checkout, absent when not run from a git checkout. */
  commit: z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-hex-digit git commit').optional(),
  /** True when the checkout had uncommitted changes (the commit alone does not reproduce the run). */
  dirty: z.boolean().optional(),
});
/** See {@link VersionInfoSchema}. */
export type VersionInfo = z.infer<typeof VersionInfoSchema>;

/** The machine a run was executed on. */
export const MachineInfoSchema = z.strictObject({
  cpuModel: z.string(),
  cpus: z.int().positive(),
  memoryBytes: z.number().nonnegative(),
  /** `process.version`, e.g. "v20.11.0". */
  node: z.string(),
  platform: z.string(),
  arch: z.string(),
});
/** See {@link MachineInfoSchema}. */
export type MachineInfo = z.infer<typeof MachineInfoSchema>;

// zod v4 numbers are finite (NaN and ±Infinity are rejected).
const nonNegative = z.number().nonnegative();
/** Latencies are null when no record finished (the engine's NaN; JSON has no NaN). */
const latency = nonNegative.nullable();

/** Whole-run summary metrics (names follow docs/metrics.md; means over the measured slides). */
export const RunSummarySchema = z.strictObject({
  /** Records/s found by a ramp (max-throughput) test; absent when no ramp was run. */
  maxThroughput: nonNegative.optional(),
  /** Mean `job.throughput` (records/s) over the run. */
  sustainedThroughput: nonNegative,
  latencyP50Ms: latency,
  latencyP99Ms: latency,
  /** Mean `job.imbalance_busy` (max/mean − 1 over busy ms). */
  imbalanceBusy: nonNegative,
  /** Mean `job.nmad_busy`. */
  nmadBusy: nonNegative,
  /** Mean `job.imbalance_count` (over records in). */
  imbalanceCount: nonNegative,
  /**
   * Mean `job.replication` (workers per key; 1 = no key split, the merge cost grows with it); null
   * when no slide measured it (e.g. an engine that does not track keys), never a made-up 0.
   */
  replication: nonNegative.nullable(),
  /** Mean `job.state_keys` (keys held by all workers, a split key once per worker holding it); absent when not measured. */
  stateKeys: nonNegative.nullable().optional(),
  /** Mean `job.state_bytes` (estimated); absent when not measured. */
  stateBytes: nonNegative.nullable().optional(),
  /** Records processed by each worker over the run (length P). */
  perWorkerLoad: z.array(nonNegative),
});
/** See {@link RunSummarySchema}. */
export type RunSummary = z.infer<typeof RunSummarySchema>;

/** One point of a run's timeline, normally one per metric slide; `tMs` from the start of the run. */
export const TimelinePointSchema = z.strictObject({
  tMs: nonNegative,
  throughput: nonNegative,
  imbalanceBusy: nonNegative,
  latencyP99Ms: latency,
});
/** See {@link TimelinePointSchema}. */
export type TimelinePoint = z.infer<typeof TimelinePointSchema>;

/**
 * One run of one partitioner on one workload and task. Invariants (checked on load):
 * `summary.perWorkerLoad.length === P`, timeline `tMs` non-decreasing.
 */
export const RunResultSchema = z
  .strictObject({
    /** Unique within a CompareResults. */
    id: z.string().min(1),
    partitioner: z.string().min(1),
    workload: NamedParamsSchema,
    /** The workload's label in the experiment (`workloads[i].label`, or its name); keys `cells`. */
    workloadLabel: z.string().min(1).optional(),
    task: NamedParamsSchema,
    clock: z.enum(['virtual', 'real']),
    P: z.int().positive(),
    seed: z.int(),
    repetition: z.int().nonnegative(),
    /** The full resolved job config of this run (any JSON). */
    config: JsonValueSchema,
    version: VersionInfoSchema,
    machine: MachineInfoSchema,
    /** ISO 8601 timestamp. */
    startedAt: z.iso.datetime({ offset: true }),
    durationMs: nonNegative,
    summary: RunSummarySchema,
    timeline: z.array(TimelinePointSchema),
  })
  .superRefine((run, ctx) => {
    if (run.summary.perWorkerLoad.length !== run.P) {
      ctx.addIssue({
        code: 'custom',
        path: ['summary', 'perWorkerLoad'],
        message: `expected ${run.P} entries (one per worker, P = ${run.P}), got ${run.summary.perWorkerLoad.length}`,
      });
    }
    for (let i = 1; i < run.timeline.length; i++) {
      if (run.timeline[i].tMs < run.timeline[i - 1].tMs) {
        ctx.addIssue({ code: 'custom', path: ['timeline', i, 'tMs'], message: 'timeline must be sorted by tMs' });
        break;
      }
    }
  });
/** See {@link RunResultSchema}. */
export type RunResult = z.infer<typeof RunResultSchema>;

/**
 * One setting of a comparison: a (task, workload label, P, clock), with its physical ideal
 * (src/engine/ideal.ts): the highest rate any exact plan could sustain on its simulated cluster.
 */
export const CellSchema = z.strictObject({
  task: z.string().min(1),
  workload: z.string().min(1),
  P: z.int().positive(),
  clock: z.enum(['virtual', 'real']),
  /** Records/s; null when the cluster's capacity is unlimited (no physical limit to compare to). */
  ideal: nonNegative.nullable(),
  /** What binds at the ideal: the workers' capacity or the reducers'. */
  bound: z.enum(['workers', 'reducers', 'unlimited']),
  /** Share of the workers' capacity spent emitting partials at the ideal (0..1). */
  emitShare: nonNegative,
});
/** See {@link CellSchema}. */
export type Cell = z.infer<typeof CellSchema>;

/** Everything `sas compare` produced: the experiment config and at least one run, ids unique. */
export const CompareResultsSchema = z
  .strictObject({
    /** ISO 8601 timestamp of the comparison (the report shows this, never the render time). */
    createdAt: z.iso.datetime({ offset: true }),
    /** The experiment config (e.g. params/compare.yaml, resolved). */
    config: JsonValueSchema,
    runs: z.array(RunResultSchema).min(1, 'no runs: a results file must hold at least one run'),
    /** One entry per (task, workload label, P, clock), with its physical ideal. Absent in results made before it existed. */
    cells: z.array(CellSchema).optional(),
  })
  .superRefine((res, ctx) => {
    const seen = new Set<string>();
    res.runs.forEach((run, i) => {
      if (seen.has(run.id)) ctx.addIssue({ code: 'custom', path: ['runs', i, 'id'], message: `duplicate run id "${run.id}"` });
      seen.add(run.id);
    });
  });
/** See {@link CompareResultsSchema}. */
export type CompareResults = z.infer<typeof CompareResultsSchema>;

/**
 * Validates `value` as CompareResults. Throws a ConfigError (code CONFIG_INVALID) whose
 * `context.field` is the dotted path of the first bad field (e.g. `runs.1.summary.latencyP99Ms`) and
 * whose `context.file` is `file` when given.
 */
export function parseCompareResults(value: unknown, file?: string): CompareResults {
  return parseOrThrow(CompareResultsSchema, value, '', file);
}

/** Maps the engine's NaN/±Infinity "no value" to null, the form results store latencies in. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
