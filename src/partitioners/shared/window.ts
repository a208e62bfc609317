// Sliding-window state of the baselines: per-worker load counters and per-key fragment sets, advanced by event time.
import { ensureInt32 } from './slots.js';

/** Options of a sliding window of slides (size `windowMs`, slide `slideMs`, size a multiple of the slide). */
export interface WindowOptions {
  /** Window length in ms of event time. The originals (Dalton, SaS) counted tuples; we use event time. */
  readonly windowMs: number;
  /** Slide length in ms. */
  readonly slideMs: number;
  /** When false the window never expires (the Dalton/SaS cAM defect): counters accumulate from the start. */
  readonly expire?: boolean;
}

/**
 * Per-worker record counts over a sliding window of `windowMs / slideMs` slides, advanced by
 * `advance(nowMs)` (slides aligned to multiples of `slideMs`). Invariant: `load[w]` is the sum of
 * worker w's counts over the live slides and `total = Σ load`. Allocation-free after construction.
 */
export class WindowedLoads {
  /** Number of workers. */
  readonly n: number;
  /** Slides per window (Infinity when the window never expires). */
  readonly numSlides: number;
  /** Slide length in ms. */
  readonly slideMs: number;
  /** Window load of each worker. */
  readonly load: Float64Array;
  /** Σ load. */
  total = 0;
  /** Absolute index floor(nowMs / slideMs) of the current slide; −1 before the first `advance`. */
  slideIndex = -1;
  private readonly ring: Float64Array;
  private readonly ringSlides: number;
  private head = 0;
  private nextBoundary = -Infinity;
  private minVal = 0;
  private minPtr = 0;
  private minDirty = true;

  constructor(n: number, opts: WindowOptions) {
    this.n = n;
    this.slideMs = opts.slideMs;
    const expire = opts.expire ?? true;
    this.numSlides = expire ? Math.max(1, Math.round(opts.windowMs / opts.slideMs)) : Infinity;
    this.ringSlides = expire ? this.numSlides : 1;
    this.load = new Float64Array(n);
    this.ring = new Float64Array(this.ringSlides * n);
  }

  /** End (exclusive, ms) of the current slide: `advance(t)` is a no-op for t below it (−∞ before the first `advance`). */
  get slideEndMs(): number {
    return this.nextBoundary;
  }

  /** Counters that never expire (cumulative since the start), e.g. PKG's local loads. */
  static cumulative(n: number): WindowedLoads {
    return new WindowedLoads(n, { windowMs: 1, slideMs: 1, expire: false });
  }

  /** Moves the window to the slide containing `nowMs`. Returns the number of slides advanced (0 = same slide). */
  advance(nowMs: number): number {
    if (nowMs < this.nextBoundary) return 0;
    const idx = Math.floor(nowMs / this.slideMs);
    if (this.slideIndex < 0) {
      this.slideIndex = idx;
      this.nextBoundary = (idx + 1) * this.slideMs;
      return 0;
    }
    const k = idx - this.slideIndex;
    if (k <= 0) return 0;
    if (this.numSlides !== Infinity) {
      const steps = Math.min(k, this.ringSlides);
      const n = this.n;
      for (let s = 0; s < steps; s++) {
        this.head = this.head + 1 === this.ringSlides ? 0 : this.head + 1;
        const base = this.head * n;
        for (let w = 0; w < n; w++) {
          const c = this.ring[base + w];
          if (c !== 0) {
            this.load[w] -= c;
            this.total -= c;
            this.ring[base + w] = 0;
          }
        }
      }
    }
    this.slideIndex = idx;
    this.nextBoundary = (idx + 1) * this.slideMs;
    this.minDirty = true;
    return k;
  }

  /** Counts `c` records (default 1) for worker `w` in the current slide. */
  add(w: number, c = 1): void {
    this.ring[this.head * this.n + w] += c;
    this.load[w] += c;
    this.total += c;
  }

  /** Mean window load Σ load / n. */
  mean(): number {
    return this.total / this.n;
  }

  /**
   * Lowest-index worker with the smallest window load. Amortised O(1): between slide changes loads
   * only grow, so a pointer to the lowest index holding the minimum only moves forward (it restarts
   * from 0 when the minimum rises or a slide expired).
   */
  argmin(): number {
    const l = this.load;
    const n = this.n;
    if (this.minDirty) {
      let m = l[0];
      for (let w = 1; w < n; w++) if (l[w] < m) m = l[w];
      this.minVal = m;
      this.minPtr = 0;
      this.minDirty = false;
    }
    let p = this.minPtr;
    while (l[p] !== this.minVal) {
      p++;
      if (p === n) {
        let m = l[0];
        for (let w = 1; w < n; w++) if (l[w] < m) m = l[w];
        this.minVal = m;
        p = 0;
      }
    }
    this.minPtr = p;
    return p;
  }
}

/**
 * For each tracked key slot, the set of workers that received the key within a sliding window
 * (`frag(k)` in Dalton, partitioners.md §6.1): a per-(slot, worker) stamp of the last slide the pair
 * was seen, plus the live count and list. Invariant (when the owner calls `expireSlot` for every slot at
 * every slide change): `size(slot)` = number of workers whose stamp lies within the last `numSlides`
 * slides, and `list[slot·n .. slot·n + size)` holds them. Slots come from a {@link KeySlots} the owner holds.
 */
export class FragmentTracker {
  readonly n: number;
  readonly numSlides: number;
  private stamps: Int32Array<ArrayBuffer>; // slide index + 1 of the last sighting; 0 = never
  private counts: Int32Array<ArrayBuffer>;
  /** Live workers of each slot, slot-major: list[slot · n + i] for i < size(slot). */
  list: Int32Array<ArrayBuffer>;
  private capacity: number;

  constructor(n: number, numSlides: number, initialCapacity = 64) {
    this.n = n;
    this.numSlides = numSlides;
    this.capacity = initialCapacity;
    this.stamps = new Int32Array(initialCapacity * n);
    this.counts = new Int32Array(initialCapacity);
    this.list = new Int32Array(initialCapacity * n);
  }

  /** Grows per-slot storage to at least `capacity` slots. */
  ensure(capacity: number): void {
    if (capacity <= this.capacity) return;
    this.stamps = ensureInt32(this.stamps, capacity * this.n);
    this.counts = ensureInt32(this.counts, capacity);
    this.list = ensureInt32(this.list, capacity * this.n);
    this.capacity = capacity;
  }

  private live(stamp: number, slide: number): boolean {
    return stamp > 0 && slide - (stamp - 1) < this.numSlides;
  }

  /** Records that `slot`'s key went to worker `w` in slide `slide`. */
  touch(slot: number, w: number, slide: number): void {
    const i = slot * this.n + w;
    if (!this.live(this.stamps[i], slide)) this.list[slot * this.n + this.counts[slot]++] = w;
    if (this.stamps[i] < slide + 1) this.stamps[i] = slide + 1;
  }

  /** Whether worker `w` holds `slot`'s key in the window ending at `slide`. */
  has(slot: number, w: number, slide: number): boolean {
    return this.live(this.stamps[slot * this.n + w], slide);
  }

  /** |frag(k)| of `slot` as of the last `touch`/`expire`. */
  size(slot: number): number {
    return this.counts[slot];
  }

  /** Recounts `slot` for the window ending at `slide` (drops expired workers). */
  expireSlot(slot: number, slide: number): void {
    let c = 0;
    const base = slot * this.n;
    for (let w = 0; w < this.n; w++) if (this.live(this.stamps[base + w], slide)) this.list[base + c++] = w;
    this.counts[slot] = c;
  }

  /** Forgets `slot` entirely (its key stopped being tracked). */
  clear(slot: number): void {
    this.stamps.fill(0, slot * this.n, (slot + 1) * this.n);
    this.counts[slot] = 0;
  }
}
