// W-Choices: head keys may go to any worker (the least loaded); tail keys use PKG (Nasir et al., ICDE 2016).
import { z } from 'zod';
import { HeadSummary, LevelLoads, choiceH1, hashChoice } from './shared/head.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `w-choices`. */
export const wChoicesParams = z.strictObject({
  /** T in θ = 2/(n·T). Default 10 (θ = 1/(5n)). */
  threshold: z.number().positive().default(10),
  /** SpaceSaving counters per source. Default 100 (SLBSimulator). */
  capacity: z.number().int().min(1).default(100),
  /** Emulated sources with local state; record i goes through source i mod s. Default 1. */
  sources: z.number().int().min(1).max(1024).default(1),
  /** Seed of the tail's two hash choices (h1 = murmur3(key, seed); see `hashChoice`). Default 0. */
  seed: z.number().int().default(0),
});

/**
 * W-Choices (partitioners.md §2.3, SLBSimulator `LBWChoice`): a head record (SpaceSaving share > θ)
 * goes to the least locally loaded of all n workers (lowest index on ties); a tail record uses PKG.
 * The simulator keeps head and tail loads in two vectors and decides on their sum; one vector holding
 * the sum is equivalent. Head keys may be split over every worker.
 */
export function createWChoices(ctx: PartitionerContext, params: z.infer<typeof wChoicesParams>): Partitioner {
  const n = ctx.numWorkers;
  const s = params.sources;
  const theta = 2 / (n * params.threshold);
  const heads = Array.from({ length: s }, () => new HeadSummary(ctx.numKeys, params.capacity, theta));
  const loads = Array.from({ length: s }, () => new LevelLoads(n));
  const seed = params.seed;
  let src = 0;
  return {
    name: 'w-choices',
    numWorkers: n,
    splitsKeys: n > 1,
    route(key: number): number {
      const i = src;
      src = src + 1 === s ? 0 : src + 1;
      const lw = loads[i];
      let w: number;
      if (heads[i].offer(key) < 0) {
        const h1 = choiceH1(key, seed);
        const c1 = hashChoice(h1, 0, n);
        const c2 = hashChoice(h1, 1, n);
        w = lw.load[c2] < lw.load[c1] ? c2 : c1;
      } else {
        w = lw.argmin();
      }
      lw.add(w);
      return w;
    },
    stats: () => ({ hotKeys: heads[0].stats().h, tableVersion: 0 }),
  };
}
