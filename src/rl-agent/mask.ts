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
 * Mask heuristic of SaSPartitioner (`getMaskIndexesHeuristic`, research/saspartitioner.md §3.2):
 * renormalise the hot keys' frequencies d; the first `spreadKeys` keys may use all P workers; the
 * others get [floor(cs_i), min(P, ceil(cs_{i+1}))) where cs is the cumulative sum of d·P, so
 * adjacent keys share one boundary worker. Each range has at least one worker.
 * Example: P = 64, Zipf 1.5, 10 keys → 0–33, 32–44, …, 62–64, action dim 73.
 */
export function maskFromFrequencies(freqs: readonly number[], numWorkers: number, spreadKeys = 0): Mask {
  if (!Number.isInteger(numWorkers) || numWorkers < 1) {
    throw new ConfigError(`numWorkers: expected an integer >= 1, got ${numWorkers}`, { field: 'numWorkers', got: numWorkers });
  }
  if (freqs.length < 1 || freqs.some((f) => !Number.isFinite(f) || f < 0)) {
    throw new ConfigError('freqs: expected at least one finite frequency >= 0', { field: 'freqs', got: freqs });
  }
  const total = freqs.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new ConfigError('freqs: the frequencies sum to 0', { field: 'freqs', got: freqs });
  const ranges: WorkerRange[] = [];
  let cs = 0;
  for (let i = 0; i < freqs.length; i++) {
    const next = cs + (freqs[i] / total) * numWorkers;
    if (i < spreadKeys) {
      ranges.push({ start: 0, end: numWorkers });
    } else {
      const start = Math.min(numWorkers - 1, Math.floor(cs + 1e-9));
      const end = Math.max(start + 1, Math.min(numWorkers, Math.ceil(next - 1e-9)));
      ranges.push({ start, end });
    }
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
