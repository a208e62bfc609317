// Distribution shift (SaS §5.2 `zipf-sequence`): cycles through Zipf distributions every shift interval.
import { z } from 'zod';
import { floorMod, murmur3Int } from '../../common/hash.js';
import { Rng } from '../../common/rng.js';
import { payloadSpaceOf } from '../specs.js';
import type { PayloadStore, Workload } from '../types.js';
import { AliasTable, KeySampler, rankToKeyIds, zipfProbabilities } from './zipf.js';

/** Parameters of the `zipf-sequence` workload. */
export const zipfSequenceParams = z.strictObject({
  /** Key counts to cycle through. Default [100000]. */
  numKeysSequence: z.array(z.number().int().min(1).max(10_000_000)).min(1).default([100_000]),
  /** Zipf exponents to cycle through. Default [1.0, 1.5]. */
  exponentSequence: z.array(z.number().min(0).max(10)).min(1).default([1.0, 1.5]),
  /** Event-time ms between shifts; shifts happen at multiples of it. Default 60000. */
  shiftIntervalMs: z.number().int().min(1).default(60_000),
  /** Seed of keys, payload ids and the per-distribution permutations. Default 1. */
  seed: z.number().int().default(1),
  /** Give each distribution its own seeded permutation of key ids. Default true. */
  shuffleKeys: z.boolean().default(true),
});

/** One distribution of the sequence. */
export interface SequenceStep {
  readonly numKeys: number;
  readonly exponent: number;
  /** rankToKey[r] = key id of frequency rank r (r = 0 is the hottest). */
  readonly rankToKey: Int32Array;
  readonly sampler: KeySampler;
}

/**
 * Cycles through the distributions numKeysSequence × exponentSequence (every exponent for the first
 * key count, then for the second, …). Event time t uses step floorMod(floor(t / shiftIntervalMs),
 * steps). Step i permutes key ids with its own seed (murmur3(i, seed)), so hot keys change identity at
 * a shift. numKeys = the largest key count.
 */
export class ZipfSequenceWorkload implements Workload {
  readonly name = 'zipf-sequence';
  readonly numKeys: number;
  readonly steps: readonly SequenceStep[];
  readonly shiftIntervalMs: number;
  private readonly rng: Rng;
  private readonly payloadSpace: number;

  constructor(params: z.infer<typeof zipfSequenceParams>, payloadSpace = 1) {
    const steps: SequenceStep[] = [];
    for (const n of params.numKeysSequence) {
      for (const a of params.exponentSequence) {
        const i = steps.length;
        const rankToKey = rankToKeyIds(n, murmur3Int(i, params.seed), params.shuffleKeys);
        steps.push({ numKeys: n, exponent: a, rankToKey, sampler: new KeySampler(new AliasTable(zipfProbabilities(n, a)), rankToKey) });
      }
    }
    this.steps = steps;
    this.numKeys = Math.max(...params.numKeysSequence);
    this.shiftIntervalMs = params.shiftIntervalMs;
    this.rng = new Rng(params.seed);
    this.payloadSpace = payloadSpace;
  }

  /** Index of the distribution in force at event time `timeMs`. */
  stepIndex(timeMs: number): number {
    return floorMod(Math.floor(timeMs / this.shiftIntervalMs), this.steps.length);
  }

  fill(keys: Int32Array, payloads: Int32Array, offset: number, n: number, timeMs: number): number {
    const step = this.steps[this.stepIndex(timeMs)];
    const rng = this.rng;
    const ps = this.payloadSpace;
    const sampler = step.sampler;
    for (let i = offset; i < offset + n; i++) {
      keys[i] = sampler.sample(rng);
      payloads[i] = ps === 1 ? 0 : rng.int(ps);
    }
    return n;
  }
}

/** Creates `zipf-sequence` from validated params. */
export function createZipfSequence(params: z.infer<typeof zipfSequenceParams>, payloads: PayloadStore): ZipfSequenceWorkload {
  return new ZipfSequenceWorkload(params, payloadSpaceOf(payloads.size));
}
