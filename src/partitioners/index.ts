// Public surface of the partitioners subsystem.
export type { Partitioner, PartitionerContext, PartitionerStats } from './types.js';
export { createPartitioner, partitionerNames, partitionerSpec, parsePartitionerParams } from './registry.js';
export type { PartitionerSpec } from './registry.js';
export type { HotAwarePartitioner } from './dagreedy.js';
export type { DChoicesPartitioner } from './d-choices.js';
export type { DaltonPartitioner } from './dalton.js';
export { DaltonCore } from './dalton.js';
export type { DaltonOfflinePartitioner } from './dalton-offline.js';
export { busyRewards } from './dalton-metrics.js';
export { mergeQTables } from './shared/q-merge.js';
export type { MergedQTable, QSnapshot } from './shared/q-merge.js';
export { maskRanges, maskSize, autoTrueHotKeys, zipfHotFrequencies } from './shared/mask.js';
export type { MaskRange, MaskOptions } from './shared/mask.js';
export { RoutingTable } from './shared/routing-table.js';
export { SpaceSaving, CountMinSketch, IntervalCounts, IntervalHotDetector } from './shared/hot-keys.js';
export { WindowedLoads, FragmentTracker } from './shared/window.js';
export { murmurWorker, knuthWorker, coldWorker } from './shared/hashing.js';
