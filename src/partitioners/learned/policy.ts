// The learned partitioners' pluggable policy: an interface plus a process-wide table of prepared policies.
import type { StepInfo } from '../../rl-agent/env-math.js';
import type { Mask } from '../../rl-agent/mask.js';
import type { ActionMode } from './prior.js';

/**
 * A routing policy asked once per metric slide (after the metric window is full). `step` gets the
 * 2P observation (env-math.scaleObservation), the reward of the previous action, the step info and
 * whether this step ends an episode, and returns the action to install now (length `actionDim`,
 * key-major over the mask, values in [0, 1]) or undefined to keep the current table. It must be
 * synchronous and must not block on I/O (the remote policy returns the latest action it has).
 */
export interface LearnedPolicy {
  /** Action dimension Σ(end − start) over `mask`. */
  readonly actionDim: number;
  /** The mask the policy was trained for (the partitioner adopts it). */
  readonly mask: Mask;
  /** How the action becomes the table (the checkpoint's; undefined = `direct`, SaSPartitioner's). */
  readonly actionMode?: ActionMode;
  /** Residual mode: the checkpoint's `residualScale`. */
  readonly residualScale?: number;
  /**
   * True while the policy learns from the steps it is given (inline `learn`, the collector's exploration
   * policy): the reward guard then stays off by default, since its probe and fallback slides would route
   * by something other than the action the policy returned (learned/guard.ts). Default false.
   */
  readonly learning?: boolean;
  /** Short description for logs ("inline cql-n checkpoints/default", "remote ws://…"). */
  readonly describe: string;
  step(obs: Float32Array, reward: number, info: StepInfo, done: boolean): Float32Array | undefined;
  /** Releases sockets or tensors. Optional. */
  close?(): Promise<void> | void;
}

const prepared = new Map<string, LearnedPolicy>();

/**
 * Registers a prepared policy under `id` (normally the resolved checkpoint directory, or a name a
 * caller passes as the `policy` parameter). The sync registry factory looks it up; async loading
 * happens before the job is built (`prepareLearnedPartitioner`, `preloadLearnedPolicies`).
 */
export function registerPolicy(id: string, policy: LearnedPolicy): void {
  prepared.set(id, policy);
}

/** The policy registered under `id`, if any. */
export function preparedPolicy(id: string): LearnedPolicy | undefined {
  return prepared.get(id);
}

