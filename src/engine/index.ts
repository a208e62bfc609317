// Public surface of the engine: config, job building, both clocks, sinks, metrics.
export { jobSchema, loadJobConfig, validateJob, applyOverrides, readYamlFile, parseYamlText, threadsFor } from './config.js';
export type { JobConfig } from './config.js';
export { buildJob, runJob } from './job.js';
export type { BuiltJob } from './job.js';
export { runVirtual } from './virtual.js';
export type { EngineParams, JobParts, MergeStage, RunHooks, RunResult } from './types.js';
export { runReal } from './real/run-real.js';
export type { RealParams } from './real/run-real.js';
export { CountingSink, CollectingSink } from './sink.js';
export type { Sink } from './sink.js';
export { RateSchedule } from './source.js';
export type { RateStep } from './source.js';
export { MetricsCollector, SlideAccumulator } from './metrics/collector.js';
export { LogHistogram } from './metrics/histogram.js';
export type { WindowSpec } from './window.js';
