// D-Choices: head keys get d hash choices, d from the paper's formula; tail keys use PKG (Nasir et al., ICDE 2016).
import { z } from 'zod';
import { ChoiceCache, HeadSummary, LevelLoads, choiceH1, dChoicesD, hashChoice } from './shared/head.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `d-choices` (and, minus the d-specific ones, `w-choices`). */
export const dChoicesParams = z.strictObject({
  /** T in θ = 2/(n·T); a key is in the head when its estimated share exceeds θ. Default 10 (θ = 1/(5n), partitioners.md §2.3). */
  threshold: z.number().positive().default(10),
  /** ε of the two d constraints. Default 1e-4 (partitioners.md §2.3; the simulator's CLI default is 1e-3). */
  epsilon: z.number().min(0).default(1e-4),
  /** SpaceSaving counters per source. Default 100 (SLBSimulator `STREAM_SUMMARY_CAPACITY`). */
  capacity: z.number().int().min(1).default(100),
  /** Emulated sources, each with its own summary and local loads; record i goes through source i mod s. Default 1. */
  sources: z.number().int().min(1).max(1024).default(1),
  /** Seed of the hash choices (h1 = murmur3(key, seed); see `hashChoice`). Default 0. */
  seed: z.number().int().default(0),
  /** Recompute d every this many head records of a source (1 = per record, as the simulator). Default 1000. */
  dRefreshEvery: z.number().int().min(1).default(1000),
  /** Lower clamp of d (the formula can return 1). Default 2. */
  minD: z.number().int().min(1).default(2),
});

/** A D-Choices partitioner; `d(source)` exposes the current number of choices (for tests and metrics). */
export interface DChoicesPartitioner extends Partitioner {
  /** Current d of `source` (default 0), after clamping. */
  d(source?: number): number;
}

/**
 * D-Choices (partitioners.md §2.3, SLBSimulator `LBDChoice`): per source a SpaceSaving summary finds
 * the head H (estimated share > θ). A head record goes to the least locally loaded of its d choices
 * H_0..H_{d−1}(k) (all n workers when d ≥ n); a tail record uses PKG on H_0, H_1. Ties: PKG's
 * first candidate wins; among head choices the lowest worker index wins (the simulator took the
 * first in list order; choices are random, so the two rules are equivalent in distribution). d comes from {@link dChoicesD} on the summary's p1, pH and |H|, clamped to ≥ minD,
 * refreshed every `dRefreshEvery` head records. A key never uses more than max-d-so-far workers.
 */
export function createDChoices(ctx: PartitionerContext, params: z.infer<typeof dChoicesParams>): DChoicesPartitioner {
  const n = ctx.numWorkers;
  const s = params.sources;
  const theta = 2 / (n * params.threshold);
  const heads = Array.from({ length: s }, () => new HeadSummary(ctx.numKeys, params.capacity, theta));
  const caches = Array.from({ length: s }, () => new ChoiceCache(params.capacity, n, params.seed));
  const loads = Array.from({ length: s }, () => new LevelLoads(n));
  const dCur = new Int32Array(s).fill(Math.min(n, Math.max(params.minD, 2)));
  const untilRefresh = new Int32Array(s);
  const seed = params.seed;
  let src = 0;

  function refresh(i: number): void {
    const st = heads[i].stats();
    const d = dChoicesD(st.p1, st.pH, st.h, n, params.epsilon);
    dCur[i] = Math.min(n, Math.max(params.minD, d));
    untilRefresh[i] = params.dRefreshEvery;
  }

  return {
    name: 'd-choices',
    numWorkers: n,
    splitsKeys: n > 1,
    route(key: number): number {
      const i = src;
      src = src + 1 === s ? 0 : src + 1;
      const lw = loads[i];
      const load = lw.load;
      const slot = heads[i].offer(key);
      let w: number;
      if (slot < 0) {
        const h1 = choiceH1(key, seed);
        const c1 = hashChoice(h1, 0, n);
        const c2 = hashChoice(h1, 1, n);
        w = load[c2] < load[c1] ? c2 : c1;
      } else {
        if (--untilRefresh[i] <= 0) refresh(i);
        const d = dCur[i];
        if (d >= n) {
          w = lw.argmin();
        } else {
          w = caches[i].pickLevel(slot, key, d, lw);
        }
      }
      lw.add(w);
      return w;
    },
    d: (source = 0) => dCur[source],
    stats: () => ({ hotKeys: heads[0].stats().h, tableVersion: 0 }),
  };
}
