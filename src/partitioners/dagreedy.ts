// DAGreedy: hot keys go to the worker maximising locality minus load (Pacaci & Özsu, BeyondMR 2018, as re-implemented in Dalton).
import { z } from 'zod';
import { coldWorker } from './shared/hashing.js';
import { IntervalHotDetector } from './shared/hot-keys.js';
import { coldHashField, hashSeedField, slideMsField, windowMsField, windowMultipleMessage, windowMultipleOfSlide } from './shared/params.js';
import { TrackedKeys } from './shared/tracked.js';
import { WindowedLoads } from './shared/window.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `dagreedy`. */
export const dagreedyParams = z
  .strictObject({
    windowMs: windowMsField,
    /** Slide of the load window and hot-key interval H = S. */
    slideMs: slideMsField,
    /** Weight of locality; load gets 1 − alpha. Default 0.5 (hard-coded in both originals; SaS exposes `alpha`). */
    alpha: z.number().min(0).max(1).default(0.5),
    /** Hot threshold = previous interval total / (P · thresholdScale). Default 1 (SaS); Dalton's repo uses 100. */
    thresholdScale: z.number().positive().default(1),
    coldHash: coldHashField,
    seed: hashSeedField,
  })
  .refine(windowMultipleOfSlide, windowMultipleMessage);

/** A partitioner that says whether its last `route` treated the key as hot (for tests and metrics). */
export interface HotAwarePartitioner extends Partitioner {
  /** True when the most recent `route` call took the hot path. */
  readonly lastRouteHot: boolean;
}

/**
 * DAGreedy (partitioners.md §4, saspartitioner.md §4.3). Cold keys → cold hash. A hot key (interval
 * rule of {@link IntervalHotDetector}) goes to `argmax_j alpha·1{j ∈ frag(k)} − (1−alpha)·(L_j − avg)/avg`
 * over all workers, scanning j = 0..P−1 with strict `>` (lowest index wins ties); the load term is 0
 * while avg = 0 (the Java divides by zero). L is the windowed record count per worker. It has no
 * routing table (decisions are per record), so `tableVersion` stays 0.
 */
export function createDagreedy(ctx: PartitionerContext, params: z.infer<typeof dagreedyParams>): HotAwarePartitioner {
  const n = ctx.numWorkers;
  const loads = new WindowedLoads(n, { windowMs: params.windowMs, slideMs: params.slideMs });
  const det = new IntervalHotDetector({
    numKeys: ctx.numKeys,
    intervalMs: params.slideMs,
    counter: 'exact',
    numWorkers: n,
    scale: params.thresholdScale,
  });
  const tracked = new TrackedKeys(ctx.numKeys, n, loads.numSlides);
  const alpha = params.alpha;
  const mode = params.coldHash;
  const seed = params.seed;
  const clock = ctx.clock;
  let lastHot = false;
  return {
    name: 'dagreedy',
    numWorkers: n,
    splitsKeys: n > 1,
    get lastRouteHot() {
      return lastHot;
    },
    route(key: number): number {
      const now = clock.nowMs;
      if (loads.advance(now) > 0) tracked.expire(loads.slideIndex);
      det.advance(now);
      const slide = loads.slideIndex;
      const hot = det.offer(key, now);
      if (!hot) {
        const cw = coldWorker(key, mode, seed, n);
        const s = tracked.slots.slotOf(key);
        if (s >= 0) tracked.setActive(s, false);
        tracked.cold(key, cw, slide);
        loads.add(cw);
        lastHot = false;
        return cw;
      }
      let slot = tracked.slots.slotOf(key);
      if (slot < 0) slot = tracked.acquire(key, coldWorker(key, mode, seed, n), slide);
      tracked.setActive(slot, true);
      // argmax_j alpha·1{j ∈ frag} − (1−alpha)(L_j − avg)/avg, scanned j = 0..P−1 with strict '>'. The winner
      // is either the best frag member or the lowest-index least-loaded worker B (every non-member
      // scores at most B's load term), so only those are evaluated; ties go to the lower index.
      const avg = loads.total / n;
      const inv = avg > 0 ? (1 - alpha) / avg : 0;
      const l = loads.load;
      const frag = tracked.frag;
      let best = inv > 0 ? loads.argmin() : 0;
      let bv = (frag.has(slot, best, slide) ? alpha : 0) - (l[best] - avg) * inv;
      const base = tracked.membersBase(slot);
      const list = frag.list;
      for (let i = 0, c = frag.size(slot); i < c; i++) {
        const j = list[base + i];
        const v = alpha - (l[j] - avg) * inv;
        if (v > bv || (v === bv && j < best)) {
          bv = v;
          best = j;
        }
      }
      tracked.frag.touch(slot, best, slide);
      loads.add(best);
      lastHot = true;
      return best;
    },
    stats: () => ({ hotKeys: tracked.activeCount, tableVersion: 0 }),
  };
}
