// Public surface of the learned partitioners' helpers (the TF.js-loading parts are in prepare.ts).
export { LearnedRouter } from './learned-router.js';
export { registerPolicy, preparedPolicy } from './policy.js';
export type { LearnedPolicy } from './policy.js';
export { resolveCheckpoint, peekCheckpoint, packageRoot, DEFAULT_CHECKPOINT, NO_CHECKPOINT, PRIOR_CHECKPOINT } from './paths.js';
export { recordingPartitioner } from './collect.js';
export type { RecordedTransition } from './collect.js';
