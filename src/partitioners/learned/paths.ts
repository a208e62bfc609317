// Where checkpoints live: the shipped `checkpoints/default` next to package.json, or a path the user gives.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../common/package-root.js';
import type { Mask } from '../../rl-agent/mask.js';

/** Name that selects the shipped checkpoint. */
export const DEFAULT_CHECKPOINT = 'default';
/** Name that selects no checkpoint (uniform table over the mask). */
export const NO_CHECKPOINT = 'none';
/**
 * Name that selects the learned partitioner's prior alone: the shipped checkpoint's mask, action mode
 * and residual scale, but no policy (residual mode then routes by the water-filling prior, uncorrected).
 * The comparison's `saspartitioner-prior` row; what the policy must beat.
 */
export const PRIOR_CHECKPOINT = 'prior';

export { packageRoot };

/**
 * The directory of checkpoint `spec`: `default` and `prior` → `<package root>/checkpoints/default`; `none` →
 * undefined; anything else is a path (relative to the working directory).
 */
export function resolveCheckpoint(spec: string): string | undefined {
  if (spec === NO_CHECKPOINT) return undefined;
  if (spec === DEFAULT_CHECKPOINT || spec === PRIOR_CHECKPOINT) return path.join(packageRoot(), 'checkpoints', 'default');
  return path.resolve(spec);
}

/** What `peekCheckpoint` reads from a manifest. */
export interface CheckpointPeek {
  readonly mask?: Mask;
  readonly numWorkers?: number;
  readonly hotKeyFreqs?: number[];
  readonly actionDim?: number;
  readonly actionMode?: 'direct' | 'residual';
  readonly residualScale?: number;
}

/** Facts of a checkpoint manifest the partitioner needs, read without TF.js (undefined if absent or unreadable). */
export function peekCheckpoint(dir: string | undefined): CheckpointPeek | undefined {
  if (!dir) return undefined;
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as CheckpointPeek;
    return { mask: m.mask, numWorkers: m.numWorkers, hotKeyFreqs: m.hotKeyFreqs, actionDim: m.actionDim, actionMode: m.actionMode, residualScale: m.residualScale };
  } catch {
    return undefined;
  }
}
