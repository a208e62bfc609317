// Key grouping: every record of a key goes to floorMod(murmur3_32(key), P) (SaSPartitioner §4.1).
import { z } from 'zod';
import { murmur3Int } from '../common/hash.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `hash`. `seed` defaults to 38324, the seed of SaSPartitioner's HashPartitioner. */
export const hashParams = z.strictObject({
  /** Murmur3 seed. Default 38324 (SaSPartitioner). */
  seed: z.number().int().default(38324),
});

/**
 * Hash partitioner: `floorMod(int32(murmur3_32(seed, key as 4 LE bytes)), P)`, as Guava's
 * `Hashing.murmur3_32(seed).hashInt(key)` with Java's `floorMod`. Never splits a key, so all of its
 * partials skip the reducer (the original sent them through it; see docs/partitioners.md).
 */
export function createHash(ctx: PartitionerContext, params: z.infer<typeof hashParams>): Partitioner {
  const n = ctx.numWorkers;
  const seed = params.seed;
  return {
    name: 'hash',
    numWorkers: n,
    splitsKeys: false,
    route(key: number): number {
      // Java floorMod on the signed hash, written so that V8 stays on int32 (no -0 from `%`).
      const x = murmur3Int(key, seed) | 0;
      return x >= 0 ? x % n : n - 1 - ((-1 - x) % n);
    },
    stats: () => ({ hotKeys: 0, tableVersion: 0 }),
  };
}
