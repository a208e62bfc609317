// Seeded Zipf key stream with a seeded permutation of key ids, so that ids are not frequency ranks.
import { z } from 'zod';
import { Rng, shuffleInPlace } from '../../common/rng.js';
import { payloadSpaceOf } from '../specs.js';
import type { PayloadStore, Workload } from '../types.js';

/**
 * Zipf probabilities p_r ∝ r^−exponent for ranks r = 1..numKeys (exponent 0 = uniform), as
 * commons-math `ZipfDistribution`. Index i holds the probability of rank i+1.
 */
export function zipfProbabilities(numKeys: number, exponent: number): Float64Array {
  const p = new Float64Array(numKeys);
  let sum = 0;
  for (let r = 1; r <= numKeys; r++) {
    const v = exponent === 0 ? 1 : Math.pow(r, -exponent);
    p[r - 1] = v;
    sum += v;
  }
  for (let i = 0; i < numKeys; i++) p[i] /= sum;
  return p;
}

/**
 * Walker/Vose alias table for O(1) sampling from a discrete distribution. Sampling uses two uniform
 * draws and no allocation.
 */
export class AliasTable {
  readonly prob: Float64Array;
  readonly alias: Int32Array;
  readonly n: number;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.n = n;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / total;
      if (scaled[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[--nl];
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    while (nl > 0) this.prob[large[--nl]] = 1;
    while (ns > 0) this.prob[small[--ns]] = 1;
  }

  /** An index drawn with probability proportional to its weight. */
  sample(rng: Rng): number {
    const i = rng.int(this.n);
    return rng.next() < this.prob[i] ? i : this.alias[i];
  }
}

/**
 * An alias table fused with the rank → key id map, packed as [threshold, key, aliasKey] triples in one
 * Uint32Array so that a sample touches one cache line. Draws exactly like
 * `rankToKey[table.sample(rng)]` (same random numbers, same result).
 */
export class KeySampler {
  readonly n: number;
  private readonly packed: Uint32Array;

  constructor(table: AliasTable, rankToKey: Int32Array) {
    const n = table.n;
    this.n = n;
    this.packed = new Uint32Array(3 * n);
    for (let i = 0; i < n; i++) {
      // rng.next() < prob  ⇔  nextU32 < ceil(prob · 2^32)
      const t = Math.ceil(table.prob[i] * 4294967296);
      const key = rankToKey[i];
      this.packed[3 * i] = Math.min(t, 0xffffffff);
      this.packed[3 * i + 1] = key;
      this.packed[3 * i + 2] = t > 0xffffffff ? key : rankToKey[table.alias[i]];
    }
  }

  /** A key id drawn from the table's distribution. Consumes two 32-bit draws of `rng`. */
  sample(rng: Rng): number {
    const j = 3 * rng.int(this.n);
    const p = this.packed;
    return rng.nextU32() < p[j] ? p[j + 1] : p[j + 2];
  }
}

/**
 * The key id of each frequency rank: `ids[rank]` is a seeded permutation of [0, numKeys), so the
 * hottest key is not key 0. With `shuffle = false`, ids equal ranks (the originals' behaviour).
 */
export function rankToKeyIds(numKeys: number, seed: number, shuffle = true): Int32Array {
  const ids = new Int32Array(numKeys);
  for (let i = 0; i < numKeys; i++) ids[i] = i;
  return shuffle ? shuffleInPlace(ids, new Rng(seed ^ 0x5eed)) : ids;
}

/** Parameters of a Zipf workload. */
export interface ZipfOptions {
  numKeys: number;
  exponent: number;
  seed: number;
  /** Permute key ids (default true). False reproduces "key id = rank". */
  shuffleKeys?: boolean;
  /** Payload ids are drawn uniformly from [0, payloadSpace) (default 1 → always 0). */
  payloadSpace?: number;
  /** Emit every key id once, ascending, before the Zipf stream (default false; see `zipfParams.preload`). */
  preload?: boolean;
}

/** zipf(numKeys, exponent, seed): an infinite i.i.d. Zipf key stream with permuted ids. */
export class ZipfWorkload implements Workload {
  readonly name = 'zipf';
  readonly numKeys: number;
  readonly rankToKey: Int32Array;
  readonly probabilities: Float64Array;
  private readonly sampler: KeySampler;
  private readonly rng: Rng;
  private readonly payloadSpace: number;
  /** Next key id of the preload pass (numKeys once it is over). */
  private preloaded: number;

  constructor(opts: ZipfOptions) {
    this.numKeys = opts.numKeys;
    this.probabilities = zipfProbabilities(opts.numKeys, opts.exponent);
    this.rankToKey = rankToKeyIds(opts.numKeys, opts.seed, opts.shuffleKeys ?? true);
    this.sampler = new KeySampler(new AliasTable(this.probabilities), this.rankToKey);
    this.rng = new Rng(opts.seed);
    this.payloadSpace = Math.max(1, Math.floor(opts.payloadSpace ?? 1));
    this.preloaded = opts.preload === true ? 0 : opts.numKeys;
  }

  fill(keys: Int32Array, payloads: Int32Array, offset: number, n: number, _timeMs: number): number {
    const rng = this.rng;
    const ps = this.payloadSpace;
    const sampler = this.sampler;
    let i = offset;
    for (; i < offset + n && this.preloaded < this.numKeys; i++) {
      keys[i] = this.preloaded++;
      payloads[i] = ps === 1 ? 0 : rng.int(ps);
    }
    for (; i < offset + n; i++) {
      keys[i] = sampler.sample(rng);
      payloads[i] = ps === 1 ? 0 : rng.int(ps);
    }
    return n;
  }
}

/** Parameters of the `zipf` workload. */
export const zipfParams = z.strictObject({
  /** Number of distinct keys. Default 100000 (SaSPartitioner's tests). */
  numKeys: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Zipf exponent α (0 = uniform). Default 1.5. */
  exponent: z.number().min(0).max(10).default(1.5),
  /** Seed of keys, payload ids and the key permutation. Default 1. */
  seed: z.number().int().default(1),
  /** Permute key ids so that ids are not frequency ranks. Default true. */
  shuffleKeys: z.boolean().default(true),
  /**
   * Emit every key id once (0..numKeys−1, ascending) before the Zipf stream, so that every key holds
   * state from the start: Megaphone preloads each key once before measuring a migration. Default false.
   */
  preload: z.boolean().default(false),
});

/** Creates `zipf` from validated params; payload ids are uniform over the store's ids. */
export function createZipf(params: z.infer<typeof zipfParams>, payloads: PayloadStore): ZipfWorkload {
  return new ZipfWorkload({ ...params, payloadSpace: payloadSpaceOf(payloads.size) });
}
