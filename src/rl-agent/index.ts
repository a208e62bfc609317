// Public surface of the rl-agent subsystem (engine, learned partitioner and CLI import only this).
export { initBackend, BACKEND_CHOICES, DEFAULT_BACKEND_ORDER } from './backend.js';
export type { BackendInfo, BackendName } from './backend.js';
export {
  scaleObservation,
  perfScore,
  rewardFromPerf,
  rewardFromBusy,
  stepInfo,
  validateRewardBase,
  DEFAULT_REWARD_BASE,
  SATURATED_BUSY_MS,
  SATURATED_OBS,
  OBS_MIN,
  OBS_MAX,
} from './env-math.js';
export type { StepInfo } from './env-math.js';
export { maskFromFrequencies, autoTrueHotKeys, maskActionDim, validateMask, routingShares, zipfTopProbabilities, actionFromCounts } from './mask.js';
export type { Mask, WorkerRange, MaskOptions } from './mask.js';
export { SimEnv, simEnvConfigSchema } from './sim-env.js';
export type { SimEnvConfig, SimStep } from './sim-env.js';
export { agentConfigSchema, resolveAgentConfig, targetEntropyOf, PRESETS } from './config.js';
export type { AgentConfig, AgentConfigInput, PresetName } from './config.js';
export { ReplayBuffer } from './replay.js';
export type { Transition, Batch } from './replay.js';
export { SacAgent } from './sac.js';
export type { AgentDims, SacMetrics, ActOptions } from './sac.js';
export { CqlAgent, trainOffline } from './cql.js';
export type { OfflineOptions, OfflineProgress, OfflineResult } from './cql.js';
export { DatasetWriter, readDataset, datasetManifestSchema, DATASET_FORMAT, DATASET_VERSION, DATASET_DIR_KIND } from './dataset.js';
export type { DatasetManifest, DatasetMeta, OfflineDataset } from './dataset.js';
export { saveCheckpoint, loadCheckpoint, readCheckpointManifest, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CHECKPOINT_DIR_KIND } from './checkpoint.js';
export type { CheckpointManifest, CheckpointJobInfo, LoadOptions } from './checkpoint.js';
export {
  PROTOCOL_VERSION,
  parseClientMessage,
  parseServerMessage,
  jobSpecSchema,
  helloSchema,
  stepSchema,
  actionSchema,
  welcomeSchema,
  checkpointRequestSchema,
  checkpointAckSchema,
  errorSchema,
} from './protocol.js';
export type { JobSpec, HelloMessage, StepMessage, ActionMessage, WelcomeMessage, CheckpointAckMessage, ErrorMessage, ClientMessage, ServerMessage } from './protocol.js';
export { startAgentServer, agentServerOptionsSchema } from './server.js';
export type { AgentServer, AgentServerOptions, AgentServerEvent } from './server.js';
export { AgentClient, backoffDelay, DEFAULT_BACKOFF } from './client.js';
export type { AgentClientOptions, AgentClientStats, BackoffOptions } from './client.js';
export { ThreadedAgentClient, clientError } from './client-thread.js';
export type { ThreadedClientOptions, StartOutcome, ClientErrorInfo } from './client-thread.js';
export { MetricWindow } from './metric-window.js';
