// The partitioner contract: a factory returns an object whose synchronous route(key) picks a worker.
import type { PartitionerGuardMetrics, SlideReport } from '../common/metrics.js';

/**
 * What a partitioner may read from its surroundings. `clock.nowMs` is set by the engine before each
 * batch of route() calls (event time in ms on the virtual clock, wall time on the real one); reading
 * it is free. Partitioners never read the system clock themselves.
 */
export interface PartitionerContext {
  /** Number of workers P (>= 1). */
  readonly numWorkers: number;
  /** Seed for any randomness; the same seed gives the same routes. */
  readonly seed: number;
  /** Size of the key space: keys are dense integers in [0, numKeys). A hint for sizing arrays. */
  readonly numKeys: number;
  /** Metric slide in ms (the feedback period). */
  readonly slideMs: number;
  /** Injected clock. */
  readonly clock: { readonly nowMs: number };
}

/** Summary a partitioner gives of itself for the metrics (cheap; called once per slide). */
export interface PartitionerStats {
  /** Keys currently treated as hot. */
  readonly hotKeys: number;
  /** Routing-table epoch; increases by one whenever the routing table changes. 0 for static partitioners. */
  readonly tableVersion: number;
  /** The learned partitioners' reward guard, when it runs (`partitioner.guard*` metrics). */
  readonly guard?: PartitionerGuardMetrics;
}

/**
 * A partitioner. The invariant: `route(key)` returns an integer in [0, numWorkers), synchronously,
 * without allocating on the hot path. Feedback arrives only through `onSlide`.
 */
export interface Partitioner {
  /** Registered name, e.g. "hash". */
  readonly name: string;
  /** P. */
  readonly numWorkers: number;
  /**
   * False when every record of a key always goes to the same worker for the whole job (hash). The
   * engine then skips split tracking and every partial skips the reducer (key forwarding).
   */
  readonly splitsKeys: boolean;
  /**
   * True when `route` reads its second argument: the record's cost in the task's units (words for
   * word count, values for t-digest; `TaskOperator.cost`). The engines then pass it; other callers
   * (the Kafka adapter, benches) may leave it out, which counts every record as 1. Default false.
   */
  readonly usesCost?: boolean;
  /** Pick the worker for one record of `key` (a dense non-negative integer), whose cost is `cost` when the caller knows it. */
  route(key: number, cost?: number): number;
  /** Feedback once per metric slide, after the slide's report is complete. Optional. */
  onSlide?(report: SlideReport): void;
  /** Cheap summary for the metrics. */
  stats(): PartitionerStats;
}

