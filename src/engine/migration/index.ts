// Public surface of keyed-state migration: bins, state store, planner, plan validation, protocol, metrics.
export { BinMap, type BinMove, type Binning, BinningConfigSchema, MAX_BIN_BITS, binOf, createBinning, diffMaps } from './bins.js';
export { type BinEntries, type ExportedBin, KeyedStateStore, type PackedEntries, entriesBytes, entryCount, entryPairs, estimateBytes, filterEntries, isPacked } from './state-store.js';
export { type BipartiteEdges, maxBipartiteMatching } from './matching.js';
export {
  type BatchFn,
  type CustomStrategy,
  type MigrationPlan,
  type MigrationStep,
  type OrderFn,
  type PlanOptions,
  PlanOptionsSchema,
  type PlanStats,
  type Replica,
  type ReplicateFn,
  STRATEGY_NAMES,
  type StrategyName,
  batchFixed,
  batchMatching,
  orderByBin,
  orderHotFirst,
  orderRandom,
  planMigration,
  replicateLast,
  replicateNone,
  strategyFunctions,
} from './planner.js';
export { checkStep, validatePlan } from './validate-plan.js';
export { type AlignedItem, EpochAligner } from './aligner.js';
export { type AppliedHook, type EndpointOptions, type EndpointOutput, type Installed, MigrationEndpoint, type StateMsg } from './protocol.js';
export { type EpochMarker, MigrationRouter } from './migration-router.js';
export { warmMigrationPath, type WarmupSummary } from './warmup.js';
export { type CoordinatorOptions, CoordinatorOptionsSchema, MigrationCoordinator } from './coordinator.js';
export { type MigrationSummary, MigrationMetrics, type StepMetrics } from './metrics.js';
export {
  type CcdfRow,
  LatencyTimeline,
  type LatencyTimelineOptions,
  LatencyTimelineOptionsSchema,
  type TimelineRow,
  US_PER_MS,
  ccdfRows,
  formatCcdf,
  formatTimeline,
  writeLatencyFiles,
} from './latency.js';
