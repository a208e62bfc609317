// Mask builder: contiguous worker ranges per true hot key, sized by frequency (saspartitioner.md §2.3, §3.2).
import { zipfProbabilities } from '../../tasks/workloads/zipf.js';

/** A half-open worker range [lo, hi) allowed for one hot-key rank slot. Invariant: 0 ≤ lo < hi ≤ P. */
export interface MaskRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * Number of "true" hot keys chosen automatically (SaS `getMaskIndexesHeuristic` with
 * `numTrueHotKeys ≤ 0`): grow k while `P · d[k] > Σ_{i≤k} d[i]`, i.e. while key k's share of the
 * top-(k+1) traffic still deserves at least one of the P workers. `freqs` are sorted descending; ≥ 1.
 */
export function autoTrueHotKeys(freqs: ArrayLike<number>, numWorkers: number): number {
  if (freqs.length === 0) return 0;
  let sum = freqs[0];
  let k = 1;
  while (k < freqs.length) {
    sum += freqs[k];
    if (!(numWorkers * freqs[k] > sum)) break;
    k++;
  }
  return k;
}

/** Options of {@link maskRanges}. */
export interface MaskOptions {
  /** True hot keys (the first ones of `freqs`); ≤ 0 = {@link autoTrueHotKeys}. Default: all of `freqs`. */
  readonly numTrueHotKeys?: number;
  /** The first `spreadKeys` true hot keys may use every worker [0, P). Default 0 (SaS `spread_keys`). */
  readonly spreadKeys?: number;
}

/**
 * Contiguous worker ranges for the true hot keys (SaS `getMaskIndexesHeuristic`). With d the
 * frequencies of the non-spread true hot keys (sorted descending) and `cs` the cumulative sum of
 * `d / Σd · P` (cs_0 = 0), key i gets `[floor(cs_i), min(P, ceil(cs_{i+1})))`: adjacent keys share
 * one boundary worker and every worker is covered. Spread keys get [0, P). Example (P = 64, Zipf 1.5,
 * 10 keys): [0,33) [32,44) [43,50) [49,54) [53,57) [56,59) [58,61) [60,62) [61,63) [62,64), 73 pairs.
 * (Renormalising over the non-spread keys only when `spreadKeys > 0` is our reading.)
 */
export function maskRanges(freqs: ArrayLike<number>, numWorkers: number, opts: MaskOptions = {}): MaskRange[] {
  let t = opts.numTrueHotKeys ?? freqs.length;
  if (t <= 0) t = autoTrueHotKeys(freqs, numWorkers);
  t = Math.min(t, freqs.length);
  const spread = Math.max(0, Math.min(opts.spreadKeys ?? 0, t));
  const out: MaskRange[] = [];
  for (let i = 0; i < spread; i++) out.push({ lo: 0, hi: numWorkers });
  let sum = 0;
  for (let i = spread; i < t; i++) sum += freqs[i];
  let cs = 0;
  for (let i = spread; i < t; i++) {
    const next = sum > 0 ? cs + (freqs[i] / sum) * numWorkers : ((i - spread + 1) * numWorkers) / (t - spread);
    let lo = Math.floor(cs + 1e-9);
    let hi = Math.min(numWorkers, Math.ceil(next - 1e-9));
    if (lo >= numWorkers) lo = numWorkers - 1;
    if (hi <= lo) hi = lo + 1;
    out.push({ lo, hi });
    cs = next;
  }
  return out;
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
