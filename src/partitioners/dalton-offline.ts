// The ε-greedy bandit behaviour policy that collects offline data for the learned partitioner (SaS `dalton-offline`).
import { z } from 'zod';
import type { SlideReport } from '../common/metrics.js';
import { Rng } from '../common/rng.js';
import { murmurWorker } from './shared/hashing.js';
import { SpaceSaving } from './shared/hot-keys.js';
import { maskRanges, maskSize, zipfHotFrequencies, type MaskRange } from './shared/mask.js';
import { hashSeedField, slideMsField, windowMsField, windowMultipleMessage, windowMultipleOfSlide } from './shared/params.js';
import { WindowedLoads } from './shared/window.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `dalton-offline`. */
export const daltonOfflineParams = z
  .strictObject({
    /** Hot-key rank slots. Default 10 (SaS `num_hot_keys`). */
    numHotKeys: z.number().int().min(1).max(4096).default(10),
    /** True hot keys (restricted to mask ranges); ≤ 0 = automatic (mask heuristic). Default 10. */
    numTrueHotKeys: z.number().int().max(4096).default(10),
    /** The first spreadKeys true hot keys may use all workers. Default 0. */
    spreadKeys: z.number().int().min(0).default(0),
    /** Exploration probability ε. Default 0.1. */
    epsilon: z.number().min(0).max(1).default(0.1),
    /** Step size a of Q ← (1 − a)Q + a·r. Default 0.1. */
    learningRate: z.number().gt(0).max(1).default(0.1),
    /** Softmax temperature over Q within the mask; 0 = argmax. Default 0. */
    temperature: z.number().min(0).default(0),
    /** Zipf exponent of the assumed distribution the mask is built from (SaS's static mask). Default 1.5. */
    zipfExponent: z.number().min(0).default(1.5),
    /** Explicit frequencies of ranks 0..numHotKeys−1 for the mask (overrides zipfExponent). */
    maskFrequencies: z.array(z.number().min(0)).optional(),
    /** Injected rank map: key id of each hot rank (length ≤ numHotKeys). Without it hot keys come from a per-interval SpaceSaving top-k. */
    hotKeyIds: z.array(z.number().int().min(0)).optional(),
    /** SpaceSaving counters of the top-k detector. Default 100. */
    sketchCapacity: z.number().int().min(1).default(100),
    /** Load window and hot-key detection interval. */
    windowMs: windowMsField,
    slideMs: slideMsField,
    seed: hashSeedField,
  })
  .refine(windowMultipleOfSlide, windowMultipleMessage)
  .refine((p) => p.sketchCapacity >= p.numHotKeys, { message: 'must be ≥ numHotKeys', path: ['sketchCapacity'] })
  .refine((p) => !p.maskFrequencies || p.maskFrequencies.length >= p.numHotKeys, {
    message: 'needs one frequency per hot rank (numHotKeys)',
    path: ['maskFrequencies'],
  });

/** `dalton-offline` with what an offline-data collector needs. */
export interface DaltonOfflinePartitioner extends Partitioner {
  /** Mask ranges of the true hot rank slots (key-major action layout). */
  readonly mask: readonly MaskRange[];
  /** Action dimension A = Σ range sizes. */
  readonly actionSize: number;
  /** Key id currently in each hot rank slot (−1 = empty). */
  readonly hotKeys: Int32Array;
  /**
   * The action realised over the last completed slide (set by `onSlide`): per true hot rank, its
   * record counts on the mask's workers, key-major, divided by the largest count (saspartitioner.md
   * §2.8); all zeros when no hot record was routed.
   */
  readonly lastAction: Float64Array;
  /** True when the last `route` took a hot path. */
  readonly lastRouteHot: boolean;
}

/**
 * dalton-offline (saspartitioner.md §4.7): per-tuple ε-greedy bandit over hot-key rank slots. Hot keys
 * come from `hotKeyIds` or, every `slideMs`, from the top `numHotKeys` of a SpaceSaving sketch of
 * the previous interval (ranked by count; the original assumed key id = rank). A true hot rank r
 * is restricted to its mask range [lo, hi) ({@link maskRanges} over the assumed frequencies): a single
 * allowed worker is taken directly; else with probability ε a uniform allowed worker, otherwise
 * argmax Q (temperature 0, lowest index on ties) or softmax(Q/T) over the range. Other hot ranks → a
 * uniform worker over all P; cold keys → murmur3 hash. Q starts at 0 and is updated per true-hot
 * record with r = (1 − score)/2, score = (L_w − avg)/(1e-4 + max(L_w, avg)) on windowed counts.
 */
export function createDaltonOffline(ctx: PartitionerContext, params: z.infer<typeof daltonOfflineParams>): DaltonOfflinePartitioner {
  const n = ctx.numWorkers;
  const H = params.numHotKeys;
  const freqs = params.maskFrequencies ? Float64Array.from(params.maskFrequencies.slice(0, H)) : zipfHotFrequencies(H, params.zipfExponent);
  const mask = maskRanges(freqs, n, { numTrueHotKeys: params.numTrueHotKeys, spreadKeys: params.spreadKeys });
  const T = mask.length;
  const lo = Int32Array.from(mask, (r) => r.lo);
  const hi = Int32Array.from(mask, (r) => r.hi);
  const actionSize = maskSize(mask);
  const q = new Float64Array(T * n);
  const counts = new Float64Array(T * n);
  const lastAction = new Float64Array(actionSize);
  const scratch = new Float64Array(n);
  const rankOf = new Int32Array(ctx.numKeys).fill(-1);
  const hotKeys = new Int32Array(H).fill(-1);
  const loads = new WindowedLoads(n, { windowMs: params.windowMs, slideMs: params.slideMs });
  const rng = new Rng(ctx.seed ^ 0x0ff1);
  const eps = params.epsilon;
  const a = params.learningRate;
  const keep = 1 - a;
  const slideMs = params.slideMs;
  /** Per true hot rank the cached argmax of Q over its range (temperature 0), or −1: kept valid by each Q update as in Dalton. */
  const bestOf = new Int32Array(T).fill(-1);
  const temp = params.temperature;
  const hashSeed = params.seed;
  const clock = ctx.clock;
  const injected = params.hotKeyIds !== undefined;
  const sketch = injected ? null : new SpaceSaving(ctx.numKeys, params.sketchCapacity);
  const topKeys = new Int32Array(H);
  let version = 0;
  let lastHot = false;
  let interval = -1;
  let lastNow = NaN; // the interval index only changes when the clock does

  function setRanks(keys: ArrayLike<number>, m: number): void {
    let changed = false;
    for (let r = 0; r < H; r++) {
      const k = r < m ? keys[r] : -1;
      if (hotKeys[r] !== k) changed = true;
    }
    if (!changed) return;
    for (let r = 0; r < H; r++) if (hotKeys[r] >= 0) rankOf[hotKeys[r]] = -1;
    for (let r = 0; r < H; r++) {
      const k = r < m ? keys[r] : -1;
      hotKeys[r] = k;
      if (k >= 0 && k < rankOf.length && rankOf[k] < 0) rankOf[k] = r;
    }
    version++;
  }
  if (injected) setRanks(params.hotKeyIds!, Math.min(H, params.hotKeyIds!.length));

  function choose(r: number): number {
    const l = lo[r];
    const h = hi[r];
    if (h - l === 1) return l;
    if (rng.next() < eps) return l + rng.int(h - l);
    const base = r * n;
    if (temp === 0) {
      if (bestOf[r] >= 0) return bestOf[r];
      let w = l;
      let bv = q[base + l];
      for (let j = l + 1; j < h; j++) if (q[base + j] > bv) { bv = q[base + j]; w = j; }
      bestOf[r] = w;
      return w;
    }
    let mx = -Infinity;
    for (let j = l; j < h; j++) if (q[base + j] > mx) mx = q[base + j];
    let z = 0;
    for (let j = l; j < h; j++) z += scratch[j] = Math.exp((q[base + j] - mx) / temp);
    let u = rng.next() * z;
    for (let j = l; j < h - 1; j++) {
      u -= scratch[j];
      if (u < 0) return j;
    }
    return h - 1;
  }

  return {
    name: 'dalton-offline',
    numWorkers: n,
    splitsKeys: n > 1,
    mask,
    actionSize,
    hotKeys,
    lastAction,
    get lastRouteHot() {
      return lastHot;
    },
    route(key: number): number {
      const now = clock.nowMs;
      if (!(now < loads.slideEndMs)) loads.advance(now);
      if (sketch !== null) {
        if (now !== lastNow) {
          lastNow = now;
          const idx = Math.floor(now / slideMs);
          if (idx !== interval) {
            if (interval >= 0) {
              const m = sketch.top(H, topKeys);
              setRanks(topKeys, m);
              sketch.reset();
            }
            interval = idx;
          }
        }
        sketch.offer(key);
      }
      const r = rankOf[key];
      let w: number;
      if (r < 0) {
        lastHot = false;
        w = murmurWorker(key, hashSeed, n);
        loads.add(w);
        return w;
      }
      lastHot = true;
      if (r >= T) {
        w = rng.int(n);
        loads.add(w);
        return w;
      }
      w = choose(r);
      loads.add(w);
      counts[r * n + w]++;
      const lw = loads.load[w];
      const avg = loads.total / n;
      const score = (lw - avg) / (1e-4 + (lw > avg ? lw : avg));
      const i = r * n + w;
      const old = q[i];
      const nq = keep * old + a * ((1 - score) / 2);
      q[i] = nq;
      // The cached argmax survives unless its value fell or a tie appeared (Q values are finite: |score| < 1).
      const b = bestOf[r];
      if (b >= 0) {
        if (w === b) {
          if (nq < old) bestOf[r] = -1;
        } else if (nq > q[r * n + b]) {
          bestOf[r] = w;
        } else if (nq === q[r * n + b]) {
          bestOf[r] = -1;
        }
      }
      return w;
    },
    onSlide(_report: SlideReport): void {
      let mx = 0;
      for (let r = 0; r < T; r++) for (let j = lo[r]; j < hi[r]; j++) if (counts[r * n + j] > mx) mx = counts[r * n + j];
      let i = 0;
      for (let r = 0; r < T; r++) for (let j = lo[r]; j < hi[r]; j++) lastAction[i++] = mx > 0 ? counts[r * n + j] / mx : 0;
      counts.fill(0);
    },
    stats: () => {
      let h = 0;
      for (let r = 0; r < H; r++) if (hotKeys[r] >= 0) h++;
      return { hotKeys: h, tableVersion: version };
    },
  };
}
