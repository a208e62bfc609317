// Uniform key stream: every key in [0, numKeys) equally likely (no skew; the baseline workload).
import { z } from 'zod';
import { Rng } from '../../common/rng.js';
import { payloadSpaceOf } from '../specs.js';
import type { PayloadStore, Workload } from '../types.js';

/** Parameters of the `uniform` workload. */
export const uniformParams = z.strictObject({
  /** Number of distinct keys. Default 100000. */
  numKeys: z.number().int().min(1).max(2 ** 31 - 1).default(100_000),
  /** Seed of keys and payload ids. Default 1. */
  seed: z.number().int().default(1),
});

/** i.i.d. uniform keys in [0, numKeys) and payload ids uniform in [0, payloadSpace). Infinite. */
export class UniformWorkload implements Workload {
  readonly name = 'uniform';
  readonly numKeys: number;
  private readonly rng: Rng;
  private readonly payloadSpace: number;

  constructor(numKeys: number, seed: number, payloadSpace = 1) {
    this.numKeys = numKeys;
    this.rng = new Rng(seed);
    this.payloadSpace = payloadSpace;
  }

  fill(keys: Int32Array, payloads: Int32Array, offset: number, n: number, _timeMs: number): number {
    const rng = this.rng;
    const k = this.numKeys;
    const ps = this.payloadSpace;
    for (let i = offset; i < offset + n; i++) {
      keys[i] = rng.int(k);
      payloads[i] = ps === 1 ? 0 : rng.int(ps);
    }
    return n;
  }
}

/** Creates `uniform` from validated params. */
export function createUniform(params: z.infer<typeof uniformParams>, payloads: PayloadStore): UniformWorkload {
  return new UniformWorkload(params.numKeys, params.seed, payloadSpaceOf(payloads.size));
}
