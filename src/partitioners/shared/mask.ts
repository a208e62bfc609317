// Mask builder for the partitioners ({lo, hi} ranges): an adapter over the one heuristic in rl-agent/mask.ts.
import { autoTrueHotKeys, maskFromFrequencies, type MaskOptions } from '../../rl-agent/mask.js';
import { zipfProbabilities } from '../../tasks/workloads/zipf.js';

export { autoTrueHotKeys };
export type { MaskOptions };

/** A half-open worker range [lo, hi) allowed for one hot-key rank slot. Invariant: 0 ≤ lo < hi ≤ P. */
export interface MaskRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * Contiguous worker ranges for the true hot keys (SaS `getMaskIndexesHeuristic`,
 * research/saspartitioner.md §3.2): rl-agent `maskFromFrequencies` as `{lo, hi}` (that function
 * documents the heuristic; the learned partitioners use it directly, so dalton-offline's logged data
 * and the agent's action layout come from one definition). Example (P = 64, Zipf 1.5, 10 keys):
 * [0,33) [32,44) [43,50) [49,54) [53,57) [56,59) [58,61) [60,62) [61,63) [62,64), 73 pairs.
 */
export function maskRanges(freqs: ArrayLike<number>, numWorkers: number, opts: MaskOptions = {}): MaskRange[] {
  return maskFromFrequencies(freqs, numWorkers, opts).map((r) => ({ lo: r.start, hi: r.end }));
}

/** Number of allowed (key, worker) pairs of a mask: the action dimension A = Σ (hi − lo). */
export function maskSize(ranges: readonly MaskRange[]): number {
  let a = 0;
  for (const r of ranges) a += r.hi - r.lo;
  return a;
}

/**
 * The assumed frequencies of the top `numHotKeys` ranks of Zipf(`exponent`) over `numKeys` keys, as
 * SaS computes its static mask (commons-math ZipfDistribution with N = 100000 by default).
 */
export function zipfHotFrequencies(numHotKeys: number, exponent: number, numKeys = 100000): Float64Array {
  return zipfProbabilities(numKeys, exponent).slice(0, numHotKeys);
}
