// Test helpers: a mutable clock and a context builder for partitioner tests.
import type { PartitionerContext } from '../../src/partitioners/types.js';

/** A context with a mutable clock (tests set `clock.nowMs`). */
export function ctxWith(numWorkers: number, numKeys = 1000, seed = 1): PartitionerContext & { clock: { nowMs: number } } {
  return { numWorkers, numKeys, seed, slideMs: 1000, clock: { nowMs: 0 } };
}
