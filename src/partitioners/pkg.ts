// Partial Key Grouping: two hash choices per key, the less loaded by local counts (Nasir et al., ICDE 2015).
import { z } from 'zod';
import { knuthWorker, murmurWorker } from './shared/hashing.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `pkg`. */
export const pkgParams = z.strictObject({
  /**
   * `murmur` (default): the Storm reference's two seeded hashes (seeds 13 and 17; murmur3_32 here,
   * murmur3_128 there) and its tie rule (first choice wins). `mod`: Dalton/SaS `TwoChoices`,
   * h1 = key mod P, h2 = Knuth multiplicative hash, ties go to h2 (partitioners.md §1).
   */
  coldHash: z.enum(['murmur', 'mod']).default('murmur'),
  /** Seeds of the two murmur choices. Default [13, 17] (gdfm/partial-key-grouping). */
  seeds: z.tuple([z.number().int(), z.number().int()]).default([13, 17]),
  /** Number of emulated sources s, each with its own local load vector; record i is routed by source i mod s (SLBSimulator). Default 1. */
  sources: z.number().int().min(1).max(1024).default(1),
});

/**
 * PKG (partitioners.md §2.2): each key has two candidate workers; a record goes to the candidate with
 * the smaller *local* load (records this source sent there since the start), and that load grows by
 * one. Every key lives on at most two workers. Loads are cumulative, as in the paper; Dalton's
 * `TwoChoices` used windowed loads (not reproduced).
 */
export function createPkg(ctx: PartitionerContext, params: z.infer<typeof pkgParams>): Partitioner {
  const n = ctx.numWorkers;
  const s = params.sources;
  const load = new Float64Array(n * s);
  const mod = params.coldHash === 'mod';
  const [seed1, seed2] = params.seeds;
  let src = 0;
  return {
    name: 'pkg',
    numWorkers: n,
    splitsKeys: n > 1,
    route(key: number): number {
      const base = src * n;
      src = src + 1 === s ? 0 : src + 1;
      let w: number;
      if (mod) {
        const c1 = key % n;
        const c2 = knuthWorker(key, n);
        w = load[base + c1] < load[base + c2] ? c1 : c2;
      } else {
        const c1 = murmurWorker(key, seed1, n);
        const c2 = murmurWorker(key, seed2, n);
        w = load[base + c2] < load[base + c1] ? c2 : c1;
      }
      load[base + w]++;
      return w;
    },
    stats: () => ({ hotKeys: 0, tableVersion: 0 }),
  };
}
