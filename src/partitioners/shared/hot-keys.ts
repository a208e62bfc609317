// Hot-key detection: SpaceSaving top-k, count-min sketch, per-interval counters and Dalton's interval hot rule.
/** murmur3's 32-bit finaliser of `x | 0`, as a signed int32 (never boxed, so it inlines allocation-free). */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * SpaceSaving heavy-hitter summary (Metwally, Agrawal, El Abbadi, ICDT 2005) with `capacity`
 * counters, as the `StreamSummary` of the D-Choices simulator (partitioners.md §2.3, capacity 100).
 * A new key evicts the counter with the smallest count and inherits it: `count` = old count + 1 and
 * `error` = old count. Invariant: count − error ≤ true count ≤ count. Dense keys are mapped to
 * counters through an Int32Array, a min-heap orders counters: `offer` is O(log capacity), allocation-free.
 */
export class SpaceSaving {
  readonly capacity: number;
  private readonly slotOfKey: Int32Array;
  private readonly keys: Int32Array;
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  private readonly heap: Int32Array; // heap of slots, min count at 0
  private readonly pos: Int32Array; // slot → heap position
  private used = 0;

  constructor(numKeys: number, capacity: number) {
    this.capacity = capacity;
    this.slotOfKey = new Int32Array(numKeys).fill(-1);
    this.keys = new Int32Array(capacity).fill(-1);
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
  }

  /** Number of monitored keys (≤ capacity). */
  get size(): number {
    return this.used;
  }

  /** Counts one occurrence of `key`; returns its counter slot. */
  offer(key: number): number {
    let s = this.slotOfKey[key];
    if (s >= 0) {
      this.counts[s]++;
      this.siftDown(this.pos[s]);
      return s;
    }
    if (this.used < this.capacity) {
      s = this.used++;
      this.keys[s] = key;
      this.counts[s] = 1;
      this.errors[s] = 0;
      this.slotOfKey[key] = s;
      this.heap[s] = s;
      this.pos[s] = s;
      this.siftUp(s);
      return s;
    }
    s = this.heap[0];
    this.slotOfKey[this.keys[s]] = -1;
    this.errors[s] = this.counts[s];
    this.counts[s] += 1;
    this.keys[s] = key;
    this.slotOfKey[key] = s;
    this.siftDown(0);
    return s;
  }

  /** Counter slot of `key`, or −1 when not monitored. */
  slotOf(key: number): number {
    return this.slotOfKey[key];
  }

  /** Estimated (over-)count of the key in `slot`. */
  countAt(slot: number): number {
    return this.counts[slot];
  }

  /** Error bound of the key in `slot`. */
  errorAt(slot: number): number {
    return this.errors[slot];
  }

  /** Key monitored in `slot` (slots are in [0, size)). */
  keyAt(slot: number): number {
    return this.keys[slot];
  }

  /** Estimated count of `key` (0 when not monitored). */
  estimate(key: number): number {
    const s = this.slotOfKey[key];
    return s >= 0 ? this.counts[s] : 0;
  }

  /**
   * Writes up to `k` monitored keys, by count descending (ties by key ascending), into `outKeys`
   * and their counts into `outCounts`. Returns how many were written. Allocates a small index array.
   */
  top(k: number, outKeys: Int32Array | number[], outCounts?: Float64Array | number[]): number {
    const idx = Array.from({ length: this.used }, (_, i) => i);
    idx.sort((a, b) => this.counts[b] - this.counts[a] || this.keys[a] - this.keys[b]);
    const m = Math.min(k, idx.length);
    for (let i = 0; i < m; i++) {
      outKeys[i] = this.keys[idx[i]];
      if (outCounts) outCounts[i] = this.counts[idx[i]];
    }
    return m;
  }

  /** Forgets everything. O(capacity). */
  reset(): void {
    for (let s = 0; s < this.used; s++) this.slotOfKey[this.keys[s]] = -1;
    this.keys.fill(-1);
    this.counts.fill(0);
    this.errors.fill(0);
    this.used = 0;
  }

  private less(a: number, b: number): boolean {
    return this.counts[a] < this.counts[b];
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i];
    const b = h[j];
    h[i] = b;
    h[j] = a;
    this.pos[b] = i;
    this.pos[a] = j;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.heap[i], this.heap[p])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private siftDown(i: number): void {
    const n = this.used;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      let m = l;
      const r = l + 1;
      if (r < n && this.less(this.heap[r], this.heap[l])) m = r;
      if (!this.less(this.heap[m], this.heap[i])) return;
      this.swap(i, m);
      i = m;
    }
  }
}

/**
 * Count-min sketch (Cormode and Muthukrishnan 2005) of `depth` rows × `width` counters. Row r hashes
 * with g_r = h1 + r·h2 (h1, h2 = murmur3's finaliser on the key with seeds `seed`, `seed + 1`; Kirsch
 * and Mitzenmacher 2006), so a record costs two cheap hashes whatever the depth. Invariant: estimate(k) ≥ true count since the last reset.
 */
export class CountMinSketch {
  readonly width: number;
  readonly depth: number;
  private readonly table: Int32Array;
  private readonly mask: number;
  /** h1 = fmix32(key + salt1), h2 = fmix32(key + salt2) | 1, with salt1 = seed·φ and salt2 = (seed + 1)·φ (int32 products). */
  private readonly salt1: number;
  private readonly salt2: number;

  /** `width` is rounded up to a power of two (a bit mask instead of a modulo: ~4× faster per record). */
  constructor(width: number, depth: number, seed = 0) {
    let wp = 1;
    while (wp < width && wp < 1 << 26) wp <<= 1;
    this.width = wp;
    this.mask = wp - 1;
    this.depth = Math.max(1, Math.floor(depth));
    this.table = new Int32Array(this.width * this.depth);
    this.salt1 = Math.imul(seed, 0x9e3779b9);
    this.salt2 = Math.imul(seed + 1, 0x9e3779b9);
  }

  /** Adds one occurrence of `key`; returns the new estimate. */
  add(key: number): number {
    const table = this.table;
    const w = this.width;
    const mask = this.mask;
    const depth = this.depth;
    const h2 = fmix32(key + this.salt2) | 1;
    let h = fmix32(key + this.salt1);
    let est = 0x7fffffff;
    let row = 0;
    for (let r = 0; r < depth; r++) {
      const i = row + (h & mask);
      const v = table[i] + 1;
      table[i] = v;
      if (v < est) est = v;
      h = (h + h2) | 0;
      row += w;
    }
    return est;
  }

  /** Estimated count of `key`. */
  estimate(key: number): number {
    const table = this.table;
    const w = this.width;
    const mask = this.mask;
    const depth = this.depth;
    const h2 = fmix32(key + this.salt2) | 1;
    let h = fmix32(key + this.salt1);
    let est = 0x7fffffff;
    let row = 0;
    for (let r = 0; r < depth; r++) {
      const v = table[row + (h & mask)];
      if (v < est) est = v;
      h = (h + h2) | 0;
      row += w;
    }
    return est;
  }

  /** Zeroes every counter. */
  reset(): void {
    this.table.fill(0);
  }
}

/** Which per-interval counter a detector uses: exact dense counts, a count-min sketch, or the original's rule. */
export type CounterKind = 'exact' | 'count-min' | 'auto';

/**
 * `auto` resolves as the originals do (partitioners.md §6.1, saspartitioner.md §4.4): count-min once
 * there are ≥ 10,000 keys, exact otherwise. (Dalton switches when ≥ 10,000 distinct keys have been
 * seen; we decide from the key-space size up front.)
 */
export function resolveCounter(kind: CounterKind, numKeys: number): 'exact' | 'count-min' {
  if (kind !== 'auto') return kind;
  return numKeys >= 10000 ? 'count-min' : 'exact';
}

/** Options of {@link IntervalCounts}. */
export interface IntervalCountsOptions {
  readonly numKeys: number;
  /** Interval length in ms of event time (the originals used a count of tuples for Dalton, ms for FlexD). */
  readonly intervalMs: number;
  readonly counter: 'exact' | 'count-min';
  /** Count-min width; default = intervalMs (SaS: width = interval), at least 64. */
  readonly cmsWidth?: number;
  /** Count-min depth; default 4 (Dalton and SaS). */
  readonly cmsDepth?: number;
  readonly seed?: number;
}

/**
 * Per-key counts within the current interval of event time (Dalton's `HotStatistics`), reset at
 * each interval boundary (aligned to multiples of `intervalMs`). Keeps the current and the previous
 * interval's totals. Exact mode uses a dense Int32Array and a touched list, so reset is O(keys seen).
 */
export class IntervalCounts {
  readonly intervalMs: number;
  /** Records counted in the current interval. */
  total = 0;
  /** Records counted in the previous interval (0 before the first rollover or after an empty interval). */
  prevTotal = 0;
  /** Absolute index floor(nowMs / intervalMs) of the current interval; −1 before the first record. */
  intervalIndex = -1;
  private nextBoundary = -Infinity;
  private readonly exact: Int32Array | null;
  private readonly touched: Int32Array | null;
  private touchedCount = 0;
  private readonly cms: CountMinSketch | null;

  constructor(opts: IntervalCountsOptions) {
    this.intervalMs = opts.intervalMs;
    if (opts.counter === 'exact') {
      this.exact = new Int32Array(opts.numKeys);
      this.touched = new Int32Array(opts.numKeys);
      this.cms = null;
    } else {
      this.exact = null;
      this.touched = null;
      this.cms = new CountMinSketch(Math.max(64, opts.cmsWidth ?? opts.intervalMs), opts.cmsDepth ?? 4, opts.seed ?? 0);
    }
  }

  /** End (exclusive, ms) of the current interval. */
  get intervalEndMs(): number {
    return this.nextBoundary;
  }

  /** Rolls over to the interval containing `nowMs`. Returns true when the interval changed. */
  advance(nowMs: number): boolean {
    if (nowMs < this.nextBoundary) return false;
    const idx = Math.floor(nowMs / this.intervalMs);
    if (this.intervalIndex >= 0) {
      if (idx <= this.intervalIndex) return false;
      this.prevTotal = idx === this.intervalIndex + 1 ? this.total : 0;
      this.total = 0;
      this.clear();
    }
    this.intervalIndex = idx;
    this.nextBoundary = (idx + 1) * this.intervalMs;
    return true;
  }

  /** Counts one record of `key`; returns the key's (estimated) count in this interval, this record included. */
  add(key: number): number {
    this.total++;
    if (this.exact !== null) {
      const c = this.exact[key];
      if (c === 0) this.touched![this.touchedCount++] = key;
      return (this.exact[key] = c + 1);
    }
    return this.cms!.add(key);
  }

  /** The key's (estimated) count in this interval. */
  estimate(key: number): number {
    return this.exact !== null ? this.exact[key] : this.cms!.estimate(key);
  }

  /** Exact mode only: calls `fn(key, count)` for each key seen in this interval. */
  forEachExact(fn: (key: number, count: number) => void): void {
    if (this.exact === null) return;
    for (let i = 0; i < this.touchedCount; i++) fn(this.touched![i], this.exact[this.touched![i]]);
  }

  private clear(): void {
    if (this.exact !== null) {
      for (let i = 0; i < this.touchedCount; i++) this.exact[this.touched![i]] = 0;
      this.touchedCount = 0;
    } else {
      this.cms!.reset();
    }
  }
}

/**
 * Dalton's interval hot-key rule (`HotStatistics.isHot`, partitioners.md §6.1): a key is hot when its
 * count in the current interval exceeds `threshold = previous interval total / (n · scale)`
 * (∞ in the first interval and after an empty one). Crossing it makes the key hot until the end of
 * the next interval. `scale` = 1 for Dalton and SaS's DAGreedy, 100 for Dalton's DAGreedy.
 */
export class IntervalHotDetector {
  readonly counts: IntervalCounts;
  private readonly hotUntil: Float64Array;
  private readonly divisor: number;
  private prevTotalOverride = -1;
  private cachedThreshold = Infinity;

  constructor(opts: IntervalCountsOptions & { readonly numWorkers: number; readonly scale?: number }) {
    this.counts = new IntervalCounts(opts);
    this.hotUntil = new Float64Array(opts.numKeys);
    this.divisor = opts.numWorkers * (opts.scale ?? 1);
  }

  /** Current threshold (records in this interval a key must exceed). */
  threshold(): number {
    return this.cachedThreshold;
  }

  private refreshThreshold(): void {
    const prev = this.prevTotalOverride >= 0 ? this.prevTotalOverride : this.counts.prevTotal;
    this.cachedThreshold = prev > 0 ? prev / this.divisor : Infinity;
  }

  /**
   * Replaces the previous-interval total used by the threshold until the next rollover (cooperative
   * Dalton broadcasts a global total, §6.3).
   */
  setPreviousTotal(total: number): void {
    this.prevTotalOverride = total;
    this.refreshThreshold();
  }

  /** Rolls the interval forward to `nowMs`; returns true on a rollover. */
  advance(nowMs: number): boolean {
    if (this.counts.advance(nowMs)) {
      this.prevTotalOverride = -1;
      this.refreshThreshold();
      return true;
    }
    return false;
  }

  /** Counts one record of `key` (call `advance` first) and says whether the key is hot now. */
  offer(key: number, nowMs: number): boolean {
    const c = this.counts.add(key);
    if (c > this.cachedThreshold) {
      this.hotUntil[key] = this.counts.intervalEndMs + this.counts.intervalMs;
      return true;
    }
    return nowMs < this.hotUntil[key];
  }

  /** Makes `key` hot until the end of the next interval (keys adopted from a merged table). */
  markHot(key: number): void {
    this.hotUntil[key] = this.counts.intervalEndMs + this.counts.intervalMs;
  }
}
