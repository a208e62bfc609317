// Public surface of the partitioners subsystem.
export type { Partitioner, PartitionerContext, PartitionerFactory, PartitionerStats } from './types.js';
export { createPartitioner, partitionerNames, partitionerSpec, parsePartitionerParams, registerPartitioner } from './registry.js';
export type { PartitionerSpec } from './registry.js';
