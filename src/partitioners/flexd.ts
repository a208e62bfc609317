// FlexD: hot keys start on one worker and widen by one when their frequency grows (Liu et al., CCF THPC 2024, as re-implemented in SaS).
import { z } from 'zod';
import { coldWorker } from './shared/hashing.js';
import { IntervalCounts, resolveCounter } from './shared/hot-keys.js';
import { coldHashField, hashSeedField } from './shared/params.js';
import { KeySlots, ensureFloat64, ensureInt32 } from './shared/slots.js';
import { WindowedLoads } from './shared/window.js';
import type { HotAwarePartitioner } from './dagreedy.js';
import type { PartitionerContext } from './types.js';

/** Parameters of `flexd`. */
export const flexdParams = z.strictObject({
  /** Refresh epoch in ms of event time: frequencies, freqTable and mappings reset, the load window slides. Default 60000 (SaS). */
  refreshMs: z.number().positive().default(60000),
  /** A key is hot when its share of the current epoch's records is ≥ this. Default 0.01 (SaS HOT_THRESHOLD). */
  hotThreshold: z.number().gt(0).max(1).default(0.01),
  /** Growth factor of a key's stored frequency after it widens. Default 1.1 (SaS DELTA). */
  delta: z.number().gt(1).default(1.1),
  /** Epochs covered by the worker-load window. Default 2 (SaS). */
  loadEpochs: z.number().int().min(1).default(2),
  /** Frequency counter: `auto` (default, the original: count-min of width = refreshMs, depth 4 when numKeys ≥ 10000), `exact`, `count-min`. */
  counter: z.enum(['auto', 'exact', 'count-min']).default('auto'),
  coldHash: coldHashField,
  seed: hashSeedField,
});

/**
 * FlexD (partitioners.md §5, saspartitioner.md §4.4). f = key's count / total in the current epoch,
 * read before counting this record. f < hotThreshold → cold hash. A hot key seen for the first time
 * in the epoch goes to the least-loaded worker, which becomes its mapped set, and f is stored; later,
 * if f > stored, it widens to the least-loaded worker outside its set and stored ×= delta; otherwise
 * it goes to the least-loaded worker inside its set. Load = windowed record count (lowest index on
 * ties). Every epoch the stored frequencies and mapped sets are cleared.
 */
export function createFlexd(ctx: PartitionerContext, params: z.infer<typeof flexdParams>): HotAwarePartitioner {
  const n = ctx.numWorkers;
  const counts = new IntervalCounts({
    numKeys: ctx.numKeys,
    intervalMs: params.refreshMs,
    counter: resolveCounter(params.counter, ctx.numKeys),
    seed: ctx.seed,
  });
  const loads = new WindowedLoads(n, { windowMs: params.refreshMs * params.loadEpochs, slideMs: params.refreshMs });
  const slots = new KeySlots(ctx.numKeys, 64);
  let stored = new Float64Array(64);
  let member = new Uint8Array(64 * n);
  let mapped = new Int32Array(64 * n);
  let mappedCount = new Int32Array(64);
  const { hotThreshold, delta } = params;
  const mode = params.coldHash;
  const seed = params.seed;
  const clock = ctx.clock;
  const l = loads.load;
  let lastHot = false;

  function reset(): void {
    slots.releaseAll();
    member.fill(0);
    mappedCount.fill(0);
  }

  function grow(): void {
    const cap = slots.capacity;
    stored = ensureFloat64(stored, cap);
    mappedCount = ensureInt32(mappedCount, cap);
    mapped = ensureInt32(mapped, cap * n);
    if (member.length < cap * n) {
      const m = new Uint8Array(cap * n);
      m.set(member);
      member = m;
    }
  }

  function addMapped(slot: number, w: number): void {
    member[slot * n + w] = 1;
    mapped[slot * n + mappedCount[slot]++] = w;
  }

  return {
    name: 'flexd',
    numWorkers: n,
    splitsKeys: n > 1,
    get lastRouteHot() {
      return lastHot;
    },
    route(key: number): number {
      const now = clock.nowMs;
      if (counts.advance(now)) reset();
      loads.advance(now);
      const f = counts.total > 0 ? counts.estimate(key) / counts.total : 0;
      counts.add(key);
      let w: number;
      if (f < hotThreshold) {
        w = coldWorker(key, mode, seed, n);
        lastHot = false;
      } else {
        lastHot = true;
        let slot = slots.slotOf(key);
        if (slot < 0) {
          slot = slots.acquire(key);
          if (slots.capacity > stored.length) grow();
          w = loads.argmin();
          stored[slot] = f;
          addMapped(slot, w);
        } else if (f > stored[slot] && mappedCount[slot] < n) {
          const base = slot * n;
          w = -1;
          let bv = Infinity;
          for (let j = 0; j < n; j++) if (member[base + j] === 0 && l[j] < bv) { bv = l[j]; w = j; }
          addMapped(slot, w);
          stored[slot] *= delta;
        } else {
          const base = slot * n;
          const c = mappedCount[slot];
          w = mapped[base];
          let bv = l[w];
          for (let i = 1; i < c; i++) {
            const j = mapped[base + i];
            if (l[j] < bv || (l[j] === bv && j < w)) { bv = l[j]; w = j; }
          }
        }
      }
      loads.add(w);
      return w;
    },
    stats: () => ({ hotKeys: slots.size, tableVersion: 0 }),
  };
}
