// Allowed (hot key, worker) pairs: one contiguous worker range per true hot key, sized by frequency.
import { ConfigError } from '../common/errors.js';

/** A contiguous worker range [start, end) allowed for one hot key. Invariant: 0 <= start < end <= P. */
export interface WorkerRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The mask: one range per true hot key, in hot-key rank order. The action vector is key-major, then
 * workers ascending (research/saspartitioner.md §2.3), so its length is Σ (end − start).
 */
export type Mask = readonly WorkerRange[];

/** Zipf(α) probabilities of ranks 1..n, normalised over those n ranks: p_k ∝ k^−α. */
export function zipfTopProbabilities(alpha: number, n: number): number[] {
  const w = Array.from({ length: n }, (_, i) => Math.pow(i + 1, -alpha));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/**
 * Number of "true" hot keys chosen automatically (SaS `getMaskIndexesHeuristic` with
 * `numTrueHotKeys ≤ 0`, research/saspartitioner.md §3.2): grow k while `P · d[k] > Σ_{i≤k} d[i]`,
 * i.e. while key k's share of the top-(k+1) traffic still deserves one of the P workers. `freqs`
 * sorted descending; returns ≥ 1 for a non-empty list.
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

/** Options of {@link maskFromFrequencies}. */
export interface MaskOptions {
  /** True hot keys (the first ones of `freqs`); ≤ 0 = {@link autoTrueHotKeys}. Default: all of `freqs`. */
  readonly numTrueHotKeys?: number;
  /** The first `spreadKeys` true hot keys may use every worker [0, P). Default 0 (SaS `spread_keys`). */
  readonly spreadKeys?: number;
  /**
   * Ours, not SaS: widen every non-spread range to at least this many workers (extended evenly on
   * both sides, clamped to [0, P)), so a small hot key is split and its records' randomness is shared.
   * Default 1 (the reference heuristic).
   */
  readonly minWidth?: number;
}

/**
 * Mask heuristic of SaSPartitioner (`getMaskIndexesHeuristic`, research/saspartitioner.md §3.2), the
 * one implementation in the project (`partitioners/shared/mask.ts` adapts it for dalton-offline).
 * With d the frequencies of the non-spread true hot keys (sorted descending) and cs the cumulative
 * sum of `d / Σd · P` (cs_0 = 0), key i gets `[floor(cs_i), min(P, ceil(cs_{i+1})))`: adjacent keys
 * share one boundary worker, every worker is covered, every range has ≥ 1 worker. Spread keys get
 * [0, P) (renormalising over the non-spread keys only when `spreadKeys > 0` is our reading).
 * Example: P = 64, Zipf 1.5, 10 keys → 0–33, 32–44, …, 62–64, action dim 73.
 * `opts` may be a number: the `spreadKeys` (older signature).
 */
export function maskFromFrequencies(freqs: readonly number[] | ArrayLike<number>, numWorkers: number, opts: MaskOptions | number = {}): Mask {
  const o: MaskOptions = typeof opts === 'number' ? { spreadKeys: opts } : opts;
  if (!Number.isInteger(numWorkers) || numWorkers < 1) {
    throw new ConfigError(`numWorkers: expected an integer >= 1, got ${numWorkers}`, { field: 'numWorkers', got: numWorkers });
  }
  const f = Array.from(freqs);
  if (f.length < 1 || f.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new ConfigError('freqs: expected at least one finite frequency >= 0', { field: 'freqs', got: f });
  }
  let t = o.numTrueHotKeys ?? f.length;
  if (t <= 0) t = autoTrueHotKeys(f, numWorkers);
  t = Math.min(t, f.length);
  const spread = Math.max(0, Math.min(o.spreadKeys ?? 0, t));
  const minWidth = Math.max(1, Math.min(numWorkers, Math.floor(o.minWidth ?? 1)));
  const ranges: WorkerRange[] = [];
  for (let i = 0; i < spread; i++) ranges.push({ start: 0, end: numWorkers });
  let sum = 0;
  for (let i = spread; i < t; i++) sum += f[i];
  let cs = 0;
  for (let i = spread; i < t; i++) {
    const next = sum > 0 ? cs + (f[i] / sum) * numWorkers : ((i - spread + 1) * numWorkers) / (t - spread);
    let start = Math.min(numWorkers - 1, Math.floor(cs + 1e-9));
    let end = Math.max(start + 1, Math.min(numWorkers, Math.ceil(next - 1e-9)));
    if (end - start < minWidth) {
      const extra = minWidth - (end - start);
      start = Math.max(0, start - Math.floor(extra / 2));
      end = Math.min(numWorkers, start + minWidth);
      start = Math.max(0, end - minWidth);
    }
    ranges.push({ start, end });
    cs = next;
  }
  return ranges;
}

/** Action dimension of a mask: Σ (end − start). */
export function maskActionDim(mask: Mask): number {
  let a = 0;
  for (const r of mask) a += r.end - r.start;
  return a;
}

/** Throws a ConfigError unless every range satisfies 0 <= start < end <= numWorkers. */
export function validateMask(mask: Mask, numWorkers: number, field = 'mask'): Mask {
  mask.forEach((r, i) => {
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start < 0 || r.end > numWorkers || r.start >= r.end) {
      throw new ConfigError(`${field}[${i}]: expected integers 0 <= start < end <= ${numWorkers}, got [${r.start}, ${r.end})`, {
        field: `${field}[${i}]`,
        got: r,
      });
    }
  });
  return mask;
}

/**
 * Turns an action (key-major weights in [0, 1]) into per-key target shares over the key's range:
 * shares[k][j] = a[k, j] / Σ_j a[k, j] (research/saspartitioner.md §2.3). A key whose weights are
 * all zero gets `undefined` (the partitioner then falls back to the cold route, as the reference).
 */
export function routingShares(mask: Mask, action: ArrayLike<number>): (Float64Array | undefined)[] {
  const out: (Float64Array | undefined)[] = [];
  let off = 0;
  for (const r of mask) {
    const n = r.end - r.start;
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.max(0, action[off + j]);
    if (s > 0) {
      const sh = new Float64Array(n);
      for (let j = 0; j < n; j++) sh[j] = Math.max(0, action[off + j]) / s;
      out.push(sh);
    } else {
      out.push(undefined);
    }
    off += n;
  }
  return out;
}

/**
 * The action that reproduces an observed partition table (offline data, research/saspartitioner.md
 * §2.8): for each mask key, its tuple counts on the workers of its range, divided by that key's
 * largest count (so every key's weights lie in [0, 1] and its max is 1). `countOf(k, w)` gives the
 * tuples of hot-key slot k on worker w. A key with no tuples gets all ones (the uniform initial table).
 */
export function actionFromCounts(mask: Mask, countOf: (slot: number, worker: number) => number): Float32Array {
  const out = new Float32Array(maskActionDim(mask));
  let off = 0;
  mask.forEach((r, k) => {
    let max = 0;
    for (let w = r.start; w < r.end; w++) max = Math.max(max, countOf(k, w));
    for (let w = r.start; w < r.end; w++) out[off + w - r.start] = max > 0 ? Math.max(0, countOf(k, w)) / max : 1;
    off += r.end - r.start;
  });
  return out;
}
