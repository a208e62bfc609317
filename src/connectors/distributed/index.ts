// Public surface of distributed mode: the driver, worker processes and their wire formats.
export { createRunTopics, makeSpec, runDistributed } from './driver.js';
export type { DistributedResult, DriverOptions } from './driver.js';
export { startWorker } from './worker.js';
export type { WorkerHandle, WorkerOptions, WorkerSummary } from './worker.js';
export {
  CONTROL_HEADER,
  decodeControl,
  decodeOutput,
  distributedSpecSchema,
  DISTRIBUTED_VERSION,
  encodeControl,
  encodeOutput,
  parseCommitMetadata,
  parseSpec,
  partitionsOf,
  runNames,
  workerGroupId,
} from './messages.js';
export type { CommitMetadata, ControlRecord, DistributedSpec, OutputMessage, SkippedMessage, SkipReason } from './messages.js';
