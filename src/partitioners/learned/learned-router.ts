// The learned partitioners' routing core: hot-key slots by current frequency, a masked table from an action, deficit choice.
import type { Mask } from '../../rl-agent/mask.js';
import { maskActionDim, routingShares } from '../../rl-agent/mask.js';
import { murmurWorker, DEFAULT_HASH_SEED } from '../shared/hashing.js';
import { SpaceSaving } from '../shared/hot-keys.js';
import { InvariantError } from '../../common/errors.js';

/**
 * How a true hot key's record picks a worker inside its mask range (only workers with a positive
 * target share are allowed):
 * - `key-deficit` (SaSPartitioner §3.3): the largest deficit of the key's own shares,
 *   `share_kw − realised_kw / realised_k`;
 * - `load-deficit` (ours): the largest deficit of the worker's *total* load this slide,
 *   `target_w · N − load_w`, where `target_w` is the worker's expected fraction of the slide's records
 *   (cold forecast + Σ_k hot_k · share_kw, set by {@link LearnedRouter.setTargets}), N the cost of
 *   the records routed since the swap and `load_w` the cost of those that went to w (all keys; a
 *   record costs 1 unless the engine passes the task's cost, see `route`). The table stays the target;
 *   hot records absorb the noise of the hashed tail as it arrives. Without targets it is `key-deficit`.
 */
export type HotRule = 'key-deficit' | 'load-deficit';

/**
 * Routing state of `saspartitioner` (research/saspartitioner.md §2.3, §3.2–3.4). Keys live in rank
 * slots 0..H−1 assigned from their *measured* frequency (the hottest key of the last slide is slot 0;
 * key ids are never assumed to be ranks). The first T = mask.length slots are "true" hot keys and
 * follow the table: per slot a target share vector over its contiguous mask range, built from the
 * action (key-major, normalised per key, rl-agent `routingShares`), and each record goes to the
 * allowed worker with the largest deficit `target − realisedShare` (strict `>`, lowest index wins
 * ties; `hotRule: 'load-deficit'` (ours) compares per-worker total loads against targets instead, see
 * {@link HotRule}). Realised counts cover the current table's slide: they restart whenever the table is swapped.
 * Slots T..H−1 go round robin over all P workers (the reference's uniform 1/P with deficit). Other
 * keys are cold: murmur3 like `hash`, so a cold key is never split.
 * Invariants: `route` is allocation-free and returns a worker in [0, P); slot map and shares change
 * only in `swap`, and `version` grows by at most one per `swap`.
 */
export class LearnedRouter {
  readonly numWorkers: number;
  readonly numHotKeys: number;
  readonly mask: Mask;
  readonly actionDim: number;
  /** Routing-table epoch (stats().tableVersion). */
  version = 0;
  /** Key id in each slot (−1 = empty). */
  readonly hotKeys: Int32Array;
  /** Frequencies of the slots' keys in the slide that chose them (counts; 0 = empty). */
  readonly hotCounts: Float64Array;
  private readonly slotOf: Int32Array;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  /** Target shares, slot-major over all P (0 outside the range); a slot with no positive share uses its cold route. */
  private readonly prob: Float64Array;
  private readonly hasShares: Uint8Array;
  private readonly realised: Float64Array;
  private readonly realisedTotal: Float64Array;
  private readonly rr: Int32Array;
  /** Per slot ≥ T: records routed round robin since the last swap. */
  private readonly rrCounts: Float64Array;
  /** Prior state: averaged per-worker cold fraction of the records (estimateLoads). */
  private readonly coldFrac: Float64Array;
  /** Per worker: cold records routed since the last swap. */
  private readonly slideCold: Float64Array;
  private coldInit = false;
  private readonly hashSeed: number;
  private readonly sketch: SpaceSaving | undefined;
  private readonly topKeys: Int32Array;
  private readonly topCounts: Float64Array;
  /** Per slot: records routed in the current slide, per worker (for the offline action and tests). */
  readonly slideCounts: Float64Array;
  readonly hotRule: HotRule;
  /** load-deficit: per worker, cost of the records routed since the last swap (all keys), and their sum. */
  private readonly load: Float64Array;
  private loadTotal = 0;
  /** load-deficit: per worker, expected fraction of the slide's records (sums to 1); unused while `hasTargets` is false. */
  private readonly target: Float64Array;
  private hasTargets = false;
  /** Interim hot keys (ours, see the constructor): on, and the slide's records so far. */
  private readonly interimHot: boolean;
  private slideRecords = 0;
  private interimCount = 0;
  /** Per worker: interim-hot records since the last swap (also counted in `slideCold`). */
  private readonly slideInterim: Float64Array;
  /** Per key: interim-hot records since the last swap; `interimKeys` lists the keys with any. */
  private readonly interimByKey: Float64Array;
  private interimKeys: number[] = [];

  /**
   * `numKeys` sizes the key → slot array; `sketchCapacity` (≥ H) sizes the SpaceSaving top-k
   * detector (0 = no detector: slots are set by the caller through `swap(keys)`).
   * `interimHot` (ours, default false; needs the detector): a cold key whose guaranteed count in the
   * detector this slide exceeds 1/P of the slide's records so far (once the slide has at least
   * 2·P records) goes to the least-loaded worker instead of its hash, until the next swap makes it a
   * slot. A new hot key (a distribution shift) then no longer lands on one worker for the rest of
   * the slide.
   */
  constructor(opts: { numWorkers: number; numKeys: number; numHotKeys: number; mask: Mask; sketchCapacity: number; hashSeed?: number; hotRule?: HotRule; interimHot?: boolean }) {
    const n = opts.numWorkers;
    this.numWorkers = n;
    this.numHotKeys = opts.numHotKeys;
    this.mask = opts.mask;
    this.actionDim = maskActionDim(opts.mask);
    const T = opts.mask.length;
    this.hotKeys = new Int32Array(opts.numHotKeys).fill(-1);
    this.hotCounts = new Float64Array(opts.numHotKeys);
    this.slotOf = new Int32Array(Math.max(1, opts.numKeys)).fill(-1);
    this.lo = Int32Array.from(opts.mask, (r) => r.start);
    this.hi = Int32Array.from(opts.mask, (r) => r.end);
    this.prob = new Float64Array(T * n);
    this.hasShares = new Uint8Array(T);
    this.realised = new Float64Array(T * n);
    this.realisedTotal = new Float64Array(T);
    this.slideCounts = new Float64Array(T * n);
    this.rr = new Int32Array(opts.numHotKeys);
    this.rrCounts = new Float64Array(opts.numHotKeys);
    this.coldFrac = new Float64Array(n);
    this.slideCold = new Float64Array(n);
    this.hashSeed = opts.hashSeed ?? DEFAULT_HASH_SEED;
    this.sketch = opts.sketchCapacity > 0 ? new SpaceSaving(Math.max(1, opts.numKeys), Math.max(opts.sketchCapacity, opts.numHotKeys)) : undefined;
    this.topKeys = new Int32Array(opts.numHotKeys);
    this.topCounts = new Float64Array(opts.numHotKeys);
    this.hotRule = opts.hotRule ?? 'key-deficit';
    this.load = new Float64Array(n);
    this.target = new Float64Array(n);
    this.interimHot = (opts.interimHot ?? false) && this.sketch !== undefined;
    this.slideInterim = new Float64Array(n);
    this.interimByKey = new Float64Array(Math.max(1, opts.numKeys));
    this.setShares(undefined);
  }

  /** Records routed as interim hot keys since this router was made (see the constructor). */
  get interimRecords(): number {
    return this.interimCount;
  }

  /**
   * The worker of one record. Feeds the top-k detector. Allocation-free. `cost` (default 1) weighs
   * the record in the deficits: the realised shares (`key-deficit`) and the per-worker loads
   * (`load-deficit`) add it, so with the task's record costs the hot keys balance work rather than
   * record counts. Detector counts and `slideCounts` always count records. With `interimHot`, a cold
   * key above 1/P of the slide so far goes to the least-loaded worker instead of its hash.
   */
  route(key: number, cost = 1): number {
    const ss = this.sketch;
    const at = ss === undefined ? -1 : ss.offer(key);
    this.slideRecords++;
    this.loadTotal += cost;
    const s = key < this.slotOf.length ? this.slotOf[key] : -1;
    if (s < 0) {
      if (this.interimHot && at >= 0 && this.slideRecords >= 2 * this.numWorkers && (ss!.countAt(at) - ss!.errorAt(at)) * this.numWorkers > this.slideRecords) {
        return this.toLeastLoaded(key, cost);
      }
      const c = murmurWorker(key, this.hashSeed, this.numWorkers);
      this.slideCold[c]++;
      this.load[c] += cost;
      return c;
    }
    const n = this.numWorkers;
    if (s >= this.lo.length) {
      const w = this.rr[s];
      this.rr[s] = w + 1 === n ? 0 : w + 1;
      this.rrCounts[s]++;
      this.load[w] += cost;
      return w;
    }
    if (this.hasShares[s] === 0) {
      // a true slot without shares takes its cold route (counted as its own load, not cold)
      const c = murmurWorker(key, this.hashSeed, n);
      this.slideCounts[s * n + c]++;
      this.load[c] += cost;
      return c;
    }
    const base = s * n;
    const best = this.hasTargets ? this.mostBehind(s) : this.keyDeficit(s);
    this.realised[base + best] += cost;
    this.realisedTotal[s] += cost;
    this.slideCounts[base + best]++;
    this.load[best] += cost;
    return best;
  }

  /**
   * Routes one record of a cold key as an interim hot key (see the constructor) whatever this router's
   * own detector says: for a caller that counts keys itself (`saspartitioner-adaptive`). Returns the
   * worker with the least load since the last swap (lowest index on ties).
   */
  routeInterim(key: number, cost = 1): number {
    this.loadTotal += cost;
    return this.toLeastLoaded(key, cost);
  }

  private toLeastLoaded(key: number, cost: number): number {
    const load = this.load;
    let w = 0;
    for (let v = 1; v < load.length; v++) if (load[v] < load[w]) w = v;
    this.interimCount++;
    this.slideCold[w]++;
    this.slideInterim[w]++;
    if (key >= 0 && key < this.interimByKey.length) {
      if (this.interimByKey[key] === 0) this.interimKeys.push(key);
      this.interimByKey[key]++;
    }
    load[w] += cost;
    return w;
  }

  /** Forgets the interim-hot records of the slide (at a swap). */
  private clearInterim(): void {
    this.slideInterim.fill(0);
    for (const k of this.interimKeys) this.interimByKey[k] = 0;
    this.interimKeys = [];
  }

  /** key-deficit: the allowed worker with the largest `share − realised share` of slot s (strict >, lowest index on ties). */
  private keyDeficit(s: number): number {
    const base = s * this.numWorkers;
    const tot = this.realisedTotal[s];
    const inv = tot > 0 ? 1 / tot : 0;
    let best = -1;
    let bestV = -Infinity;
    for (let w = this.lo[s], h = this.hi[s]; w < h; w++) {
      const p = this.prob[base + w];
      if (p <= 0) continue;
      const v = p - this.realised[base + w] * inv;
      if (v > bestV) {
        bestV = v;
        best = w;
      }
    }
    return best;
  }

  /**
   * load-deficit: the allowed worker of slot s with the largest `target · N − load` (N includes the
   * current record; both in cost units, see `route`; strict >, lowest index on ties).
   */
  private mostBehind(s: number): number {
    const base = s * this.numWorkers;
    const N = this.loadTotal;
    let best = -1;
    let bestV = -Infinity;
    for (let w = this.lo[s], h = this.hi[s]; w < h; w++) {
      if (this.prob[base + w] <= 0) continue;
      const v = this.target[w] * N - this.load[w];
      if (v > bestV) {
        bestV = v;
        best = w;
      }
    }
    return best;
  }

  /** The slot of `key`, or −1 when it is cold. */
  slotOfKey(key: number): number {
    return key < this.slotOf.length ? this.slotOf[key] : -1;
  }

  /** Target share of (slot, worker) in the current table. */
  share(slot: number, worker: number): number {
    return this.prob[slot * this.numWorkers + worker];
  }

  /**
   * The detector's top-H keys of the slide that just ended, by count descending (ties by key id), and
   * resets the detector. Without a detector returns the current slot keys.
   */
  detectTop(): { keys: Int32Array; counts: Float64Array; size: number } {
    if (!this.sketch) return { keys: this.hotKeys, counts: this.hotCounts, size: this.hotKeys.length };
    this.topKeys.fill(-1);
    this.topCounts.fill(0);
    const m = this.sketch.top(this.numHotKeys, this.topKeys, this.topCounts);
    this.sketch.reset();
    this.slideRecords = 0;
    return { keys: this.topKeys, counts: this.topCounts, size: m };
  }

  /**
   * Takes over the slide observations of `from`, another router over the same workers, keys, slot
   * count and cold hash, which routed the slide that just ended while this one was idle
   * (`saspartitioner-adaptive` switching models). Afterwards `estimateLoads` here sees what it would
   * have seen had this router routed that slide with `from`'s slots: the same slot keys, their
   * records (per worker where both routers hold the slot as a true slot, else spread evenly or
   * summed), the per-worker cold records, and `from`'s averaged cold fractions. Shares, targets and
   * `version` stay this router's own; the next `swap` installs the new table. Throws InvariantError
   * when the two routers are not comparable.
   */
  adoptSlide(from: LearnedRouter): void {
    const n = this.numWorkers;
    if (from === this) return;
    if (from.numWorkers !== n || from.numHotKeys !== this.numHotKeys || from.slotOf.length !== this.slotOf.length || from.hashSeed !== this.hashSeed) {
      throw new InvariantError('adoptSlide: routers differ in workers, hot-key slots, keys or hash seed', { workers: [from.numWorkers, n], slots: [from.numHotKeys, this.numHotKeys] });
    }
    for (let s = 0; s < this.numHotKeys; s++) {
      const k = this.hotKeys[s];
      if (k >= 0 && k < this.slotOf.length) this.slotOf[k] = -1;
    }
    const T = this.lo.length;
    const fromT = from.lo.length;
    this.slideCounts.fill(0);
    this.rrCounts.fill(0);
    for (let s = 0; s < this.numHotKeys; s++) {
      const k = from.hotKeys[s];
      this.hotKeys[s] = k;
      if (k >= 0 && k < this.slotOf.length) this.slotOf[k] = from.slotOf[k];
      let total = 0;
      if (s < fromT) for (let w = 0; w < n; w++) total += from.slideCounts[s * n + w];
      else total = from.rrCounts[s];
      if (s >= T) this.rrCounts[s] = total;
      else if (s < fromT) this.slideCounts.set(from.slideCounts.subarray(s * n, (s + 1) * n), s * n);
      else this.slideCounts.fill(total / n, s * n, (s + 1) * n);
    }
    this.hotCounts.set(from.hotCounts);
    this.slideCold.set(from.slideCold);
    this.clearInterim();
    this.slideInterim.set(from.slideInterim);
    for (const k of from.interimKeys) {
      this.interimByKey[k] = from.interimByKey[k];
      this.interimKeys.push(k);
    }
    this.coldFrac.set(from.coldFrac);
    this.coldInit = from.coldInit;
  }

  /**
   * Load estimates for the water-filling prior (learned/prior.ts), made from the slide that just ended
   * and the slot keys about to be installed (`keys[0..size)`, `counts` their detector counts). Must be
   * called once per slide, before `swap`; the slide's loads are what `route` counted since the last
   * swap. Writes into `outBase` (length P) the records each worker is expected to
   * get from keys that are not true hot keys of the new slots, and into `outHot` (length T) each new
   * true slot's expected records (its exact routed count when it was already a slot, else its detector
   * count capped by what its hash worker received). The cold part is tracked as per-worker *fractions*
   * of the slide's records, averaged exponentially with weight `smoothing` for the newest slide (1 = no
   * averaging); keys that enter or leave the slots move their share out of or into their hash worker
   * at once, and the average restarts when more than half of the true slots change keys (a shift).
   * Non-true slots (≥ T) are spread evenly over every worker.
   */
  estimateLoads(keys: ArrayLike<number>, size: number, counts: ArrayLike<number>, smoothing: number, outBase: Float64Array, outHot: Float64Array): void {
    const n = this.numWorkers;
    const T = this.lo.length;
    const exact = (s: number): number => {
      if (s >= T) return this.rrCounts[s];
      let c = 0;
      for (let w = 0, b = s * n; w < n; w++) c += this.slideCounts[b + w];
      return c;
    };
    let total = 0;
    for (let w = 0; w < n; w++) total += this.slideCold[w];
    for (let s = 0; s < this.numHotKeys; s++) if (this.hotKeys[s] >= 0) total += exact(s);
    if (!(total > 0)) {
      outBase.fill(0);
      outHot.fill(0);
      return;
    }
    // cold records of the slide, per worker, as counted by route() (exact; the engine's per-slide
    // `routed` can be off by a batch routed before a slide boundary and emitted after it)
    const cold = this.slideCold;
    let changedTrue = 0;
    for (let r = 0; r < T; r++) {
      const k = r < size ? keys[r] : -1;
      if (k < 0 || k >= this.slotOf.length || this.slotOf[k] < 0 || this.slotOf[k] >= T) changedTrue++;
    }
    const lambda = this.coldInit && changedTrue * 2 <= T ? smoothing : 1;
    this.coldInit = true;
    const avg = this.coldFrac;
    // Interim-hot records are not cold load: their keys are about to be slots (below) or hashed again.
    for (let w = 0; w < n; w++) avg[w] = lambda * Math.max(0, (cold[w] - this.slideInterim[w]) / total) + (1 - lambda) * avg[w];
    // old slot keys that leave the slots go back to their cold route
    for (let s = 0; s < this.numHotKeys; s++) {
      const k = this.hotKeys[s];
      if (k < 0) continue;
      let stays = false;
      for (let r = 0; r < size; r++) if (keys[r] === k) stays = true;
      if (!stays) avg[murmurWorker(k, this.hashSeed, n)] += exact(s) / total;
    }
    outHot.fill(0);
    let spread = 0;
    for (let r = 0; r < size && r < this.numHotKeys; r++) {
      const k = keys[r];
      if (k < 0) continue;
      const old = k < this.slotOf.length ? this.slotOf[k] : -1;
      let load: number;
      if (old >= 0) {
        load = exact(old);
      } else {
        // a cold key turning hot: its records came from its hash worker's cold load, except those
        // routed as an interim hot key (already left out of the cold average)
        const w = murmurWorker(k, this.hashSeed, n);
        const iv = k < this.interimByKey.length ? this.interimByKey[k] : 0;
        const hashed = Math.min(Math.max(0, counts[r] - iv), avg[w] * total);
        avg[w] -= hashed / total;
        load = hashed + iv;
      }
      if (r < T) outHot[r] = load;
      else spread += load / n;
    }
    // interim keys that do not become slots go back to their hash worker
    for (const k of this.interimKeys) {
      let slot = false;
      for (let r = 0; r < size && r < this.numHotKeys; r++) if (keys[r] === k) slot = true;
      if (!slot) avg[murmurWorker(k, this.hashSeed, n)] += this.interimByKey[k] / total;
    }
    for (let w = 0; w < n; w++) outBase[w] = Math.max(0, avg[w]) * total + spread;
  }

  /**
   * Atomically installs a new table: slot keys (`keys[0..size)` by rank, undefined = keep) and the
   * action (undefined = keep the shares; `null` = uniform over each range), or, when `table` is given,
   * explicit target shares (slot-major over all P, each slot's row summing to 1 over its range).
   * Restarts the realised counts and the slide counts. Bumps `version` once if the slots or shares
   * changed; returns whether it did.
   */
  swap(keys: ArrayLike<number> | undefined, size: number, counts: ArrayLike<number> | undefined, action: ArrayLike<number> | null | undefined, table?: Float64Array): boolean {
    let changed = false;
    if (keys) {
      for (let r = 0; r < this.numHotKeys; r++) {
        const k = r < size ? keys[r] : -1;
        if (this.hotKeys[r] !== k) changed = true;
      }
      if (changed) {
        for (let r = 0; r < this.numHotKeys; r++) if (this.hotKeys[r] >= 0 && this.hotKeys[r] < this.slotOf.length) this.slotOf[this.hotKeys[r]] = -1;
        for (let r = 0; r < this.numHotKeys; r++) {
          const k = r < size ? keys[r] : -1;
          this.hotKeys[r] = k;
          if (k >= 0 && k < this.slotOf.length && this.slotOf[k] < 0) this.slotOf[k] = r;
        }
      }
      for (let r = 0; r < this.numHotKeys; r++) this.hotCounts[r] = r < size && counts ? counts[r] : 0;
    }
    if (table !== undefined) {
      if (this.setTable(table)) changed = true;
    } else if (action !== undefined && this.setShares(action)) changed = true;
    this.realised.fill(0);
    this.rrCounts.fill(0);
    this.slideCold.fill(0);
    this.clearInterim();
    this.realisedTotal.fill(0);
    this.slideCounts.fill(0);
    this.load.fill(0);
    this.loadTotal = 0;
    this.hasTargets = false;
    if (changed) this.version++;
    return changed;
  }

  /**
   * Expected records per worker for the current table (`out`, length P): `base` (records from keys
   * that are not true hot slots, e.g. `estimateLoads`'s `outBase`) plus each true slot's expected
   * records (`hot`, length T) spread by the installed shares (a slot without shares on its cold route).
   */
  expectedLoads(base: ArrayLike<number>, hot: ArrayLike<number>, out: Float64Array): Float64Array {
    const n = this.numWorkers;
    for (let w = 0; w < n; w++) out[w] = Math.max(0, base[w]);
    for (let s = 0; s < this.lo.length; s++) {
      const h = Math.max(0, hot[s]);
      if (!(h > 0)) continue;
      if (this.hasShares[s] === 0) {
        const k = this.hotKeys[s];
        if (k >= 0) out[murmurWorker(k, this.hashSeed, n)] += h;
        continue;
      }
      for (let w = this.lo[s], b = s * n; w < this.hi[s]; w++) out[w] += h * this.prob[b + w];
    }
    return out;
  }

  /**
   * load-deficit (ours): sets each worker's target for the slide the last `swap` started, from its
   * expected records (`loads`, length P, e.g. {@link expectedLoads}; negative values count as 0). The
   * targets are kept as fractions of their sum; a zero sum leaves the router on `key-deficit` until
   * the next swap. Call right after `swap`; a no-op under `key-deficit`. Not a table change:
   * `version` does not move.
   */
  setTargets(loads: ArrayLike<number>): void {
    if (this.hotRule !== 'load-deficit') return;
    const n = this.numWorkers;
    const t = this.target;
    let sum = 0;
    for (let w = 0; w < n; w++) {
      t[w] = Math.max(0, loads[w]);
      sum += t[w];
    }
    this.hasTargets = sum > 0 && Number.isFinite(sum);
    if (this.hasTargets) for (let w = 0; w < n; w++) t[w] /= sum;
  }

  /** Sets the shares from an action (null/undefined = uniform). Returns whether any share changed. */
  private setShares(action: ArrayLike<number> | null | undefined): boolean {
    const n = this.numWorkers;
    const shares = action ? routingShares(this.mask, action) : undefined;
    let changed = false;
    for (let s = 0; s < this.lo.length; s++) {
      const base = s * n;
      const sh = shares ? shares[s] : undefined;
      const uniform = !shares;
      const has = uniform || sh !== undefined ? 1 : 0;
      if (this.hasShares[s] !== has) changed = true;
      this.hasShares[s] = has;
      for (let w = this.lo[s], j = 0; w < this.hi[s]; w++, j++) {
        const p = uniform ? 1 / (this.hi[s] - this.lo[s]) : sh ? sh[j] : 0;
        if (this.prob[base + w] !== p) changed = true;
        this.prob[base + w] = p;
      }
    }
    return changed;
  }

  /** Sets explicit shares (slot-major over P). Returns whether any share changed. */
  private setTable(table: Float64Array): boolean {
    const n = this.numWorkers;
    let changed = false;
    for (let s = 0; s < this.lo.length; s++) {
      const base = s * n;
      let sum = 0;
      for (let w = this.lo[s]; w < this.hi[s]; w++) sum += Math.max(0, table[base + w]);
      const has = sum > 0 ? 1 : 0;
      if (this.hasShares[s] !== has) changed = true;
      this.hasShares[s] = has;
      for (let w = this.lo[s]; w < this.hi[s]; w++) {
        const p = sum > 0 ? Math.max(0, table[base + w]) / sum : 0;
        if (this.prob[base + w] !== p) changed = true;
        this.prob[base + w] = p;
      }
    }
    return changed;
  }

  /** Number of occupied slots. */
  hotKeyCount(): number {
    let h = 0;
    for (let r = 0; r < this.numHotKeys; r++) if (this.hotKeys[r] >= 0) h++;
    return h;
  }
}
