// The contract of every engine loop (virtual, real, distributed): parameters, parts, hooks and result.
import type { SlideReport } from '../common/metrics.js';
import type { Partitioner } from '../partitioners/types.js';
import type { TaskOperator, Workload } from '../tasks/types.js';
import type { ClusterModel } from './cluster.js';
import type { MigrationSettings, ScheduledMigration } from './keyed.js';
import type { LogHistogram } from './metrics/histogram.js';
import type { MigrationSummary } from './migration/index.js';
import type { Sink } from './sink.js';
import type { PullSource, RateSource } from './source.js';
import type { WindowSpec } from './window.js';

/**
 * The merge stage of windowed tasks (design.md, "Reducers"): what emitting and merging partials costs.
 * Costs are in the task's cost units (the units of `TaskOperator.cost`), measured per task
 * (docs/tasks.md, bench/calibration.ts).
 */
export interface MergeStage {
  /** Units a combiner spends per (key, worker) partial it emits at a window close (forwarded or to a reducer). */
  readonly emitCost: number;
  /** Units a reducer spends per partial it merges. */
  readonly mergeCost: number;
  /** Units per second of each reducer slot (length R); Infinity = unlimited. */
  readonly reducerCapacity: Float64Array;
  /** Partials a reducer's queue holds; a full queue blocks the combiner that emits to it. */
  readonly reducerQueue: number;
}

/** A merge stage that costs nothing (the model before merge costs; unit tests of routing alone). */
export function freeMergeStage(R: number): MergeStage {
  return { emitCost: 0, mergeCost: 0, reducerCapacity: new Float64Array(R).fill(Infinity), reducerQueue: 1 << 30 };
}

/** Resolved engine parameters (validated by the config layer). */
export interface EngineParams {
  /** Workers (combiners) P >= 1. */
  readonly P: number;
  /** Reducers R >= 1. */
  readonly R: number;
  /** Metric slide in ms. */
  readonly slideMs: number;
  readonly window: WindowSpec;
  /** Cost units per second per worker (length P); Infinity = unlimited. */
  readonly capacity: Float64Array;
  /** Records a worker's queue holds, including the one in service (credits). */
  readonly queueCapacity: number;
  /** Event-time length of the run (ms). */
  readonly durationMs: number;
  /** Stop after this many records (Infinity = no limit). */
  readonly maxRecords: number;
  /** Target rate of the source (fixed, schedule, or a controller such as the max-throughput ramp). */
  readonly rate: RateSource;
  /** Keyed-state migration for global tasks (undefined = state stays where the partitioner sends records). */
  readonly migration?: MigrationSettings;
  /** Migrations requested at fixed event times (tests, benchmarks); applied in order, each after the previous finished. */
  readonly migrationSchedule?: readonly ScheduledMigration[];
  /**
   * The merge stage's costs and reducer slots. Jobs built from a config always have one (the task's
   * measured costs by default); absent = merges cost nothing (unit tests of routing alone).
   */
  readonly merge?: MergeStage;
  /** Worker speeds over time (absent = every worker at speed 1). Partitioners never see it. */
  readonly cluster?: ClusterModel;
  /**
   * Hidden cost factor per key (length numKeys): a record's true cost is `op.cost(payload)` × this.
   * Only service times use it; the cost a partitioner may see stays the visible one. Absent = 1.
   */
  readonly hiddenCost?: Float64Array;
}

/** The pluggable parts of a job. */
export interface JobParts<P = unknown> {
  readonly partitioner: Partitioner;
  readonly clock: { nowMs: number };
  readonly op: TaskOperator<P>;
  readonly workload: Workload;
  readonly sink: Sink;
  /**
   * Real clock only: records come from here instead of `workload.fill` (the workload still defines the
   * key space and payloads).
   */
  readonly pull?: PullSource;
}

/** Optional observers of a run. */
export interface RunHooks {
  /** Called once per slide with the report, after the partitioner's feedback. */
  onSlide?: (r: SlideReport) => void;
  /** Called about every 1% of the run with the fraction done (0..1). */
  onProgress?: (fraction: number, records: number) => void;
  /** Polled about every batch: returning true ends the run as if its duration had passed. */
  shouldStop?: () => boolean;
  /** When given, every emitted record is appended here (tests: reference comparisons). */
  recordInput?: { keys: number[]; payloads: number[]; times: number[] };
}

/** What a run returns besides its reports. */
export interface RunResult {
  readonly records: number;
  readonly eventTimeMs: number;
  readonly wallMs: number;
  readonly reports: SlideReport[];
  /** Routing-table epochs seen (epoch markers broadcast). */
  readonly epochs: number;
  /** Partials merged by reducers / results forwarded directly. */
  readonly mergedPartials: number;
  readonly combinerRecords: number[];
  /** Finished (and running) migrations, when keyed-state migration was on. */
  readonly migrations: MigrationSummary[];
  /** Whole-run per-record latency histogram (µs), for the CCDF. */
  readonly latency: LogHistogram;
}

