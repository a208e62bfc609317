// Builds a runnable job from a validated config and runs it on the configured clock.
import { createPartitioner } from '../partitioners/index.js';
import type { Partitioner } from '../partitioners/types.js';
import { buildPayloads, createTask, createWorkload, taskEntry, workloadEntry, type TaskOperator, type Workload } from '../tasks/index.js';
import { ClusterModel, hiddenCostFactors } from './cluster.js';
import { threadsFor, type JobConfig } from './config.js';
import type { OperatorArgs } from './job-operator.js';
import type { OperatorSpec } from './real/messages.js';
import { runReal } from './real/run-real.js';
import { CountingSink, type Sink } from './sink.js';
import { RateSchedule, type PullSource } from './source.js';
import { ConfigError } from '../common/errors.js';
import { runVirtual } from './virtual.js';
import type { EngineParams, JobParts, MergeStage, RunHooks, RunResult } from './types.js';

/** A job with every part constructed and validated; nothing has run yet. */
export interface BuiltJob {
  readonly config: JobConfig;
  readonly params: EngineParams;
  readonly parts: JobParts<unknown>;
  readonly operator: OperatorSpec;
}

/** Fills the job seed into a workload's params when the workload takes a seed and none is set. */
function workloadParams(cfg: JobConfig): Record<string, unknown> {
  const params = { ...cfg.workload.params };
  const schema = workloadEntry(cfg.workload.name).params as { shape?: Record<string, unknown> };
  if (params.seed === undefined && schema.shape && 'seed' in schema.shape) params.seed = cfg.seed;
  return params;
}

/**
 * Constructs the partitioner, task operator, workload and sink of `cfg`. Every name and parameter is
 * validated here (UnknownNameError lists valid names; ConfigError names the field), before any output
 * is written or any thread started.
 */
export function buildJob(cfg: JobConfig, opts: { sink?: Sink; partitioner?: (clock: { nowMs: number }, numKeys: number) => Partitioner } = {}): BuiltJob {
  const task = { name: cfg.task.name, params: cfg.task.params };
  const workloadSpec = { name: cfg.workload.name, params: workloadParams(cfg) };
  const payloads = buildPayloads(task, workloadSpec);
  const op: TaskOperator = createTask(task, payloads);
  const workload: Workload = createWorkload(workloadSpec, payloads);
  const clock = { nowMs: 0 };
  const partitioner = opts.partitioner
    ? opts.partitioner(clock, workload.numKeys)
    : createPartitioner(cfg.partitioner.name, { numWorkers: cfg.workers, seed: cfg.seed, numKeys: workload.numKeys, slideMs: cfg.slideMs, clock }, cfg.partitioner.params);
  const P = cfg.workers;
  const capacity = new Float64Array(P);
  for (let w = 0; w < P; w++) capacity[w] = cfg.capacity === 'unlimited' ? Infinity : Array.isArray(cfg.capacity) ? cfg.capacity[w] : cfg.capacity;
  const slide = cfg.window.slideMs ?? cfg.slideMs;
  const entry = taskEntry(cfg.task.name);
  const measured = entry.mergeCosts ?? { emitCost: 0, mergeCost: 0 };
  let meanCapacity = 0;
  for (let w = 0; w < P; w++) meanCapacity += capacity[w] / P;
  const rc = cfg.merge.reducerCapacity;
  const merge: MergeStage = {
    emitCost: cfg.merge.emitCost === 'measured' ? measured.emitCost : cfg.merge.emitCost,
    mergeCost: cfg.merge.mergeCost === 'measured' ? measured.mergeCost : cfg.merge.mergeCost,
    reducerCapacity: new Float64Array(cfg.reducers).fill(rc === 'worker' ? meanCapacity : rc === 'unlimited' ? Infinity : rc),
    reducerQueue: cfg.merge.reducerQueue ?? cfg.queueCapacity,
  };
  const cluster = new ClusterModel(P, cfg.slideMs, { ...cfg.cluster, speeds: cfg.cluster.speeds }, cfg.seed);
  const params: EngineParams = {
    P,
    R: cfg.reducers,
    slideMs: cfg.slideMs,
    window: { sizeMs: cfg.window.sizeMs ?? slide, slideMs: slide },
    capacity,
    queueCapacity: cfg.queueCapacity,
    durationMs: cfg.durationMs,
    maxRecords: cfg.maxRecords ?? Infinity,
    rate: new RateSchedule(cfg.source.rate),
    migration: cfg.migration.enabled ? cfg.migration : undefined,
    merge,
    cluster,
    ...(cfg.workload.hiddenCost && cfg.workload.hiddenCost.sigma > 0 ? { hiddenCost: hiddenCostFactors(workload.numKeys, cfg.workload.hiddenCost, cfg.seed) } : {}),
  };
  const self = import.meta.url;
  const operator: OperatorSpec = {
    module: new URL(self.endsWith('.ts') ? './job-operator.ts' : './job-operator.js', self).href,
    factory: 'operatorFromSpecs',
    args: { task, workload: workloadSpec } satisfies OperatorArgs,
  };
  return { config: cfg, params, parts: { partitioner, clock, op, workload, sink: opts.sink ?? new CountingSink() }, operator };
}

/** The job with an external record source and/or sink attached (e.g. Kafka, opened by `sas run`). */
export function withIO(job: BuiltJob, io: { pull?: PullSource; sink?: Sink }): BuiltJob {
  return { ...job, parts: { ...job.parts, ...(io.pull ? { pull: io.pull } : {}), ...(io.sink ? { sink: io.sink } : {}) } };
}

/** Runs a built job on its clock. */
export async function runJob(job: BuiltJob, hooks: RunHooks = {}): Promise<RunResult> {
  if (job.config.source.kind === 'kafka' && !job.parts.pull)
    throw new ConfigError('source.kind: a kafka source is opened by `sas run` only (not by compare, max-throughput or training jobs)', { field: 'source.kind' });
  if (job.config.sink.kind === 'kafka' && !job.parts.sink.flush)
    throw new ConfigError('sink.kind: a kafka sink is opened by `sas run` only (not by compare, max-throughput or training jobs)', { field: 'sink.kind' });
  if (job.config.clock === 'virtual') return runVirtual(job.params, job.parts, hooks);
  const hidden = job.config.workload.hiddenCost;
  const hiddenCostSpec = job.params.hiddenCost && hidden ? { numKeys: job.parts.workload.numKeys, spec: hidden, jobSeed: job.config.seed } : undefined;
  return runReal({ ...job.params, threads: threadsFor(job.config), threadYoungGenMb: job.config.threadYoungGenMb, operator: job.operator, ...(hiddenCostSpec ? { hiddenCostSpec } : {}) }, job.parts, hooks);
}
