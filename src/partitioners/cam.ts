// cAM: two choices; stick to a choice that already holds the key, else the less loaded (Katsipoulakis et al., PVLDB 2017).
import { z } from 'zod';
import { knuthWorker, murmurWorker } from './shared/hashing.js';
import { coldHashField, slideMsField, windowMsField, windowMultipleMessage, windowMultipleOfSlide } from './shared/params.js';
import { WindowedLoads } from './shared/window.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `cam`. */
export const camParams = z
  .strictObject({
    windowMs: windowMsField,
    slideMs: slideMsField,
    /**
     * Expire the window (default true, the fix). false = the Dalton/SaS Flink cAM, which never calls its
     * slide-expiry routine: loads and "seen" sets accumulate from the start and every key is pinned to
     * its first worker (partitioners.md §3).
     */
    expireWindow: z.boolean().default(true),
    /**
     * `murmur` (default): murmur3 seeds 313 and 317 (Katsipoulakis' CppStream). `mod`: h1 = key mod P,
     * h2 = Knuth multiplicative hash (Dalton/SaS).
     */
    coldHash: coldHashField,
  })
  .refine(windowMultipleOfSlide, windowMultipleMessage);

/**
 * cAM (CountAN; partitioners.md §3, saspartitioner.md §4.2). Candidates h1, h2. If h1 received the
 * key within the window → h1; else if h2 did → h2; else the candidate with the smaller windowed
 * record count, ties to h2 (Dalton's rule). Per-key "seen" is two slide stamps, so state is O(keys + P).
 * With `expireWindow: false` a key never changes worker, so `splitsKeys` is false.
 */
export function createCam(ctx: PartitionerContext, params: z.infer<typeof camParams>): Partitioner {
  const n = ctx.numWorkers;
  const loads = new WindowedLoads(n, { windowMs: params.windowMs, slideMs: params.slideMs, expire: params.expireWindow });
  const numSlides = loads.numSlides;
  const seen1 = new Int32Array(ctx.numKeys); // slide index + 1 of the last record of the key at h1; 0 = never
  const seen2 = new Int32Array(ctx.numKeys);
  const mod = params.coldHash === 'mod';
  const clock = ctx.clock;
  return {
    name: 'cam',
    numWorkers: n,
    splitsKeys: params.expireWindow && n > 1,
    route(key: number): number {
      loads.advance(clock.nowMs);
      const slide = loads.slideIndex;
      const h1 = mod ? key % n : murmurWorker(key, 313, n);
      const h2 = mod ? knuthWorker(key, n) : murmurWorker(key, 317, n);
      const s1 = seen1[key];
      const s2 = seen2[key];
      let w: number;
      if (s1 > 0 && slide - (s1 - 1) < numSlides) w = h1;
      else if (s2 > 0 && slide - (s2 - 1) < numSlides) w = h2;
      else w = loads.load[h1] < loads.load[h2] ? h1 : h2;
      if (w === h1) seen1[key] = slide + 1;
      if (w === h2) seen2[key] = slide + 1;
      loads.add(w);
      return w;
    },
    stats: () => ({ hotKeys: 0, tableVersion: 0 }),
  };
}
