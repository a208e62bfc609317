// One drifting key over a Zipf base (SaS §5.2 `zipf-drifting-key`): its probability flips between bands.
import { z } from 'zod';
import { floorMod, murmur3Int } from '../../common/hash.js';
import { Rng } from '../../common/rng.js';
import { payloadSpaceOf } from '../specs.js';
import type { PayloadStore, Workload } from '../types.js';
import { ZipfWorkload } from './zipf.js';

const band = z
  .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
  .refine(([lo, hi]) => lo < hi, 'band must be [low, high) with low < high');

/** Parameters of the `drifting-key` workload. */
export const driftingKeyParams = z.strictObject({
  /** Keys of the Zipf base; the drifting key is id numKeys (so numKeys + 1 keys in all). Default 100000. */
  numKeys: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Zipf exponent of the base. Default 1.5. */
  exponent: z.number().min(0).max(10).default(1.5),
  /** Event-time ms between flips; flips happen at multiples of it. Default 60000. */
  shiftIntervalMs: z.number().int().min(1).default(60_000),
  /** Low probability band [lo, hi). Default [0.001, 0.0155) (SaSPartitioner). */
  lowBand: band.default([0.001, 0.0155]),
  /** High probability band [lo, hi). Default [0.0155, 0.03) (SaSPartitioner). */
  highBand: band.default([0.0155, 0.03]),
  /** Start in the high band (interval 0). Default false (start low). */
  startHigh: z.boolean().default(false),
  /** Seed. Default 1. */
  seed: z.number().int().default(1),
  /** Permute the base's key ids. Default true. */
  shuffleKeys: z.boolean().default(true),
});

/**
 * A Zipf base over [0, numKeys) plus the drifting key `driftKey = numKeys`. In shift interval k =
 * floor(t / shiftIntervalMs) the drifting key has probability p_k, drawn uniformly from the low band
 * when k is even and from the high band when k is odd (swapped with startHigh); p_k depends only on
 * (seed, k). numKeys reported = base + 1.
 */
export class DriftingKeyWorkload implements Workload {
  readonly name = 'drifting-key';
  readonly numKeys: number;
  readonly driftKey: number;
  private readonly base: ZipfWorkload;
  private readonly rng: Rng;
  private readonly payloadSpace: number;
  private readonly p: z.infer<typeof driftingKeyParams>;
  private cachedInterval = NaN;
  private cachedProb = 0;
  private readonly one = { keys: new Int32Array(1), payloads: new Int32Array(1) };

  constructor(params: z.infer<typeof driftingKeyParams>, payloadSpace = 1) {
    this.p = params;
    this.driftKey = params.numKeys;
    this.numKeys = params.numKeys + 1;
    this.payloadSpace = payloadSpace;
    this.base = new ZipfWorkload({ numKeys: params.numKeys, exponent: params.exponent, seed: params.seed, shuffleKeys: params.shuffleKeys, payloadSpace });
    this.rng = new Rng(murmur3Int(params.seed, 0xd71f7));
  }

  /** Whether interval k uses the high band. */
  isHigh(timeMs: number): boolean {
    const k = Math.floor(timeMs / this.p.shiftIntervalMs);
    return (floorMod(k, 2) === 1) !== this.p.startHigh;
  }

  /** Probability of the drifting key at event time `timeMs`. */
  driftProbability(timeMs: number): number {
    const k = Math.floor(timeMs / this.p.shiftIntervalMs);
    if (k === this.cachedInterval) return this.cachedProb;
    const [lo, hi] = this.isHigh(timeMs) ? this.p.highBand : this.p.lowBand;
    const u = new Rng(murmur3Int(k | 0, this.p.seed ^ 0x0d1f7)).next();
    this.cachedInterval = k;
    this.cachedProb = lo + u * (hi - lo);
    return this.cachedProb;
  }

  fill(keys: Int32Array, payloads: Int32Array, offset: number, n: number, timeMs: number): number {
    const p = this.driftProbability(timeMs);
    const rng = this.rng;
    const ps = this.payloadSpace;
    const one = this.one;
    for (let i = offset; i < offset + n; i++) {
      if (rng.next() < p) {
        keys[i] = this.driftKey;
        payloads[i] = ps === 1 ? 0 : rng.int(ps);
      } else {
        this.base.fill(one.keys, one.payloads, 0, 1, timeMs);
        keys[i] = one.keys[0];
        payloads[i] = one.payloads[0];
      }
    }
    return n;
  }
}

/** Creates `drifting-key` from validated params. */
export function createDriftingKey(params: z.infer<typeof driftingKeyParams>, payloads: PayloadStore): DriftingKeyWorkload {
  return new DriftingKeyWorkload(params, payloadSpaceOf(payloads.size));
}
