// Shuffle grouping: round robin over the workers, ignoring the key (Dalton's `Shuffling`).
import { z } from 'zod';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `shuffle`: none. */
export const shuffleParams = z.strictObject({});

/**
 * Shuffle (round-robin) partitioner: record i goes to worker `i mod P`. Perfect count balance, maximal
 * merge cost: every key may be on every worker.
 */
export function createShuffle(ctx: PartitionerContext, _params: z.infer<typeof shuffleParams>): Partitioner {
  const n = ctx.numWorkers;
  let next = 0;
  return {
    name: 'shuffle',
    numWorkers: n,
    splitsKeys: true,
    route(_key: number): number {
      const w = next;
      next = next + 1 === n ? 0 : next + 1;
      return w;
    },
    stats: () => ({ hotKeys: 0, tableVersion: 0 }),
  };
}
