// Metric report types shared by the engine (producer), partitioners and the agent (consumers).
// Every field is documented in docs/metrics.md under the same name.

/** One worker's metrics over one metric slide. Times are in ms per second of the slide. */
export interface WorkerSlideMetrics {
  /** Worker index in [0, P). */
  readonly worker: number;
  /** `worker.records_in`: records routed to the worker's queue in this slide (docs/metrics.md). */
  readonly recordsIn: number;
  /** `worker.busy_ms`: ms per second spent processing (0..1000). */
  readonly busyMs: number;
  /** `worker.backpressured_ms`: ms per second blocked on a full downstream queue (0..1000). */
  readonly backpressuredMs: number;
  /** `worker.idle_ms`: ms per second with nothing to do, = 1000 − busy − backpressured. */
  readonly idleMs: number;
  /** `worker.queue_length`: records waiting in the worker's input queue at the end of the slide. */
  readonly queueLength: number;
  /** `worker.latency_p50_ms`, `worker.latency_p99_ms`, `worker.latency_max_ms`: event time to output. NaN when no record finished. */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyMaxMs: number;
  /**
   * `worker.state_keys`, `worker.state_bytes`: distinct keys the worker holds at the end of the slide
   * (over its open window panes, or its keyed state) and an estimate of their bytes. Absent when the
   * engine does not measure it. Replication costs memory as well as merge work.
   */
  readonly stateKeys?: number;
  readonly stateBytes?: number;
}

/** One reducer slot's metrics over one slide (the merge stage of windowed tasks). */
export interface ReducerSlideMetrics {
  /** Reducer index in [0, R). */
  readonly reducer: number;
  /** `reducer.busy_ms`: ms per second spent merging partials (0..1000). */
  readonly busyMs: number;
  /** `reducer.merged`: partials merged in the slide. */
  readonly merged: number;
  /** `reducer.queue_length`: partials waiting at the end of the slide. */
  readonly queueLength: number;
}

/** Partitioner metrics over one slide. */
export interface PartitionerSlideMetrics {
  /** `partitioner.records`: records routed in the slide. */
  readonly records: number;
  /** `partitioner.route_ns`: mean ns per route() call in the slide (measured in batches). */
  readonly routeNs: number;
  /** `partitioner.routed`: records the partitioner sent to each worker in the slide (length P). */
  readonly routed: readonly number[];
  /** `partitioner.hot_keys`: number of keys the partitioner currently treats as hot. */
  readonly hotKeys: number;
  /** `partitioner.max_split`: largest number of workers any key was sent to in the slide. */
  readonly maxSplit: number;
  /** `partitioner.table_version`: current routing-table epoch. */
  readonly tableVersion: number;
  /** `partitioner.guard*`: the learned partitioners' reward guard (absent when it is off; docs/metrics.md). */
  readonly guard?: PartitionerGuardMetrics;
}

/** What one arm of the reward guard routes by: a policy's action, the water-filling prior alone, or a policy-less model's own table. */
export type GuardArmKind = 'policy' | 'prior' | 'table';

/** The learned partitioners' reward guard over one slide (src/partitioners/learned/guard.ts; docs/learned.md). */
export interface PartitionerGuardMetrics {
  /** `partitioner.guard`: what the guard holds (routes every slide that is not a probe). */
  readonly state: GuardArmKind;
  /** `partitioner.guard_routing`: what routed this slide (differs from `state` on a probe slide). */
  readonly routing: GuardArmKind;
  /** `partitioner.guard_model`: index of the model the guard holds (saspartitioner-adaptive's `models`; 0 for saspartitioner). */
  readonly model: number;
  /** `partitioner.guard_routing_model`: index of the model that routed this slide. */
  readonly routingModel: number;
  /** `partitioner.guard_policy_reward`: mean reward of the slides the held model's policy routed (NaN before any). */
  readonly policyReward: number;
  /** `partitioner.guard_prior_reward`: mean reward of the slides its prior alone routed (NaN before any). */
  readonly priorReward: number;
  /** `partitioner.guard_ratio`: the policy's measured regret over the prior's (paired probes; > 1: the policy is worse); NaN until both are measured. */
  readonly ratio: number;
}

/** Job-level metrics derived from the per-worker ones. */
export interface JobSlideMetrics {
  /** `job.throughput`: records per second that finished at the combiners in the slide. */
  readonly throughput: number;
  /** `source.target_rate` and `source.achieved_rate`, records per second. target = Infinity when unthrottled. */
  readonly targetRate: number;
  readonly achievedRate: number;
  /** `source.backpressured_ms`: ms per second the source waited for credits. */
  readonly sourceBackpressuredMs: number;
  /** `job.imbalance_busy` = max/mean − 1 over busy ms; `job.nmad_busy` = Σ|b−mean|/(P·mean). */
  readonly imbalanceBusy: number;
  readonly nmadBusy: number;
  /** The same two over records in. */
  readonly imbalanceCount: number;
  readonly nmadCount: number;
  /** `job.replication`: Σ over keys seen in the slide of the number of workers that received the key, divided by the number of keys. */
  readonly replication: number;
  /** `job.state_keys`, `job.state_bytes`: the workers' totals (a split key counts once per worker holding it). */
  readonly stateKeys?: number;
  readonly stateBytes?: number;
  /** `job.latency_p50_ms`, `job.latency_p99_ms`: over all workers. */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

/**
 * One report per metric slide. `slideStartMs` is aligned to a multiple of `slideMs`. Always has P
 * worker entries: a worker that did nothing reports zeros (idle = 1000).
 */
export interface SlideReport {
  readonly slideIndex: number;
  readonly slideStartMs: number;
  readonly slideMs: number;
  readonly workers: readonly WorkerSlideMetrics[];
  /** The reducer slots, when the engine models the merge stage's cost (absent otherwise). */
  readonly reducers?: readonly ReducerSlideMetrics[];
  readonly partitioner: PartitionerSlideMetrics;
  readonly job: JobSlideMetrics;
}

/** Imbalance = max/mean − 1; 0 when the mean is 0. */
export function imbalance(xs: ArrayLike<number>): number {
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    sum += xs[i];
    if (xs[i] > max) max = xs[i];
  }
  const mean = sum / xs.length;
  return mean > 0 ? max / mean - 1 : 0;
}

/** NMAD = Σ|x − mean| / (n · mean); 0 when the mean is 0. */
export function nmad(xs: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i];
  const mean = sum / xs.length;
  if (!(mean > 0)) return 0;
  let dev = 0;
  for (let i = 0; i < xs.length; i++) dev += Math.abs(xs[i] - mean);
  return dev / (xs.length * mean);
}
