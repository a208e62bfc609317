// The head of the key distribution as D-Choices/W-Choices see it: a per-source SpaceSaving summary and θ.
import { murmur3Int } from '../../common/hash.js';
import { SpaceSaving } from './hot-keys.js';

/**
 * One source's view of the head (SLBSimulator `LBDChoice`/`LBWChoice`, partitioners.md §2.3): a
 * SpaceSaving summary of `capacity` counters, a message count m, and the threshold θ = 2/(n·T).
 * A key is in the head when it is monitored and (count + error)/m > θ (the simulator's estimate;
 * it over-counts by the error term, as the original does).
 */
export class HeadSummary {
  readonly summary: SpaceSaving;
  readonly theta: number;
  /** Messages offered so far. */
  m = 0;

  constructor(numKeys: number, capacity: number, theta: number) {
    this.summary = new SpaceSaving(numKeys, capacity);
    this.theta = theta;
  }

  /** Offers one message of `key`; returns its summary slot if the key is in the head now, else −1. */
  offer(key: number): number {
    const slot = this.summary.offer(key);
    this.m++;
    const ss = this.summary;
    return (ss.countAt(slot) + ss.errorAt(slot)) / this.m > this.theta ? slot : -1;
  }

  /** Head statistics: p1 = largest estimated probability, pH = Σ head probabilities, h = |H|. */
  stats(): { p1: number; pH: number; h: number } {
    const ss = this.summary;
    let p1 = 0;
    let pH = 0;
    let h = 0;
    if (this.m === 0) return { p1, pH, h };
    for (let s = 0; s < ss.size; s++) {
      const p = (ss.countAt(s) + ss.errorAt(s)) / this.m;
      if (p > p1) p1 = p;
      if (p > this.theta) {
        pH += p;
        h++;
      }
    }
    return { p1, pH: Math.min(1, pH), h };
  }
}

/**
 * The number of choices d of D-Choices (partitioners.md §2.3, SLBSimulator `LBDChoice`): starting
 * at d = round(p1·n), the first d ≤ n with `pH + pT·bH² ≤ bH + ε` (bH = 1 − q^(h·d)) and
 * `p1 + (pH − p1)·bd^d + pT·bd² ≤ bd + ε` (bd = 1 − q^d), q = (n−1)/n, pT = 1 − pH; n if none.
 * Not clamped: callers clamp to ≥ 2 (the original can return 1).
 */
export function dChoicesD(p1: number, pH: number, h: number, n: number, eps: number): number {
  const q = (n - 1) / n;
  const pT = 1 - pH;
  for (let d = Math.round(p1 * n); d <= n; d++) {
    const bH = 1 - Math.pow(q, h * d);
    if (pH + pT * bH * bH > bH + eps) continue;
    const bd = 1 - Math.pow(q, d);
    if (p1 + (pH - p1) * Math.pow(bd, d) + pT * bd * bd > bd + eps) continue;
    return d;
  }
  return n;
}

/**
 * The i-th hash choice of a key: with h1 = murmur3(key, seed), choice i is
 * fastrange(fmix32(h1 + i·0x9e3779b9), n) = floor(fmix32(…) · n / 2^32), where fmix32 is murmur3's
 * finaliser. Each choice behaves like an independent hash of (key, i) and duplicates are allowed, as
 * in SLBSimulator (which drew d murmur3_128 hashes with per-index seeds), at a fraction of the cost.
 */
export function hashChoice(h1: number, i: number, n: number): number {
  let h = (h1 + Math.imul(i, 0x9e3779b9)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return Math.floor(((h >>> 0) * n) / 4294967296);
}

/** h1 of {@link hashChoice}: murmur3 of the key with `seed`. */
export function choiceH1(key: number, seed: number): number {
  return murmur3Int(key, seed) | 0;
}

/**
 * Cached candidate lists of head keys: choice i of a key is {@link hashChoice} (choices 0 and 1
 * are also the tail's PKG pair, so a key keeps its two choices when it enters the head). Cached
 * per summary slot so a hot record costs no hashing. Invariant: for a slot whose cached key is k,
 * `choices[slot·n + i]` is choice i of k for i < built.
 */
export class ChoiceCache {
  private readonly n: number;
  private readonly seedBase: number;
  readonly choices: Int32Array;
  private readonly key: Int32Array;
  private readonly built: Int32Array;
  private readonly h1: Int32Array;
  private readonly dUsed: Int32Array;
  private readonly words: number;
  /** Per slot, the bit set of its first `dUsed` choices (`words` int32 words per slot). */
  private readonly masks: Int32Array;

  constructor(capacity: number, n: number, seedBase: number) {
    this.n = n;
    this.seedBase = seedBase;
    this.choices = new Int32Array(capacity * n);
    this.key = new Int32Array(capacity).fill(-1);
    this.built = new Int32Array(capacity);
    this.h1 = new Int32Array(capacity);
    this.dUsed = new Int32Array(capacity);
    this.words = (n + 31) >>> 5;
    this.masks = new Int32Array(capacity * this.words);
  }

  /**
   * The least-loaded of `key`'s first d choices, lowest worker index on ties, using the two lowest
   * load levels of `levels` as bit sets: O(P/32) per record instead of O(d). Falls back to a scan of
   * the d choices when none of them is at the lowest two levels.
   */
  pickLevel(slot: number, key: number, d: number, levels: LevelLoads): number {
    const wd = this.words;
    const mb = slot * wd;
    if (this.key[slot] !== key || this.dUsed[slot] !== d) {
      const base = this.ensure(slot, key, d);
      this.dUsed[slot] = d;
      this.masks.fill(0, mb, mb + wd);
      for (let i = 0; i < d; i++) {
        const w = this.choices[base + i];
        this.masks[mb + (w >>> 5)] |= 1 << (w & 31);
      }
    }
    const masks = this.masks;
    const l0 = levels.level0;
    for (let i = 0; i < wd; i++) {
      const x = masks[mb + i] & l0[i];
      if (x !== 0) return (i << 5) + (31 - Math.clz32(x & -x));
    }
    const l1 = levels.level1;
    for (let i = 0; i < wd; i++) {
      const x = masks[mb + i] & l1[i];
      if (x !== 0) return (i << 5) + (31 - Math.clz32(x & -x));
    }
    const base = slot * this.n;
    const load = levels.load;
    let best = this.choices[base];
    let bv = load[best];
    for (let i = 1; i < d; i++) {
      const w = this.choices[base + i];
      const v = load[w];
      if (v < bv || (v === bv && w < best)) {
        bv = v;
        best = w;
      }
    }
    return best;
  }

  /** Makes sure the first `d` (≤ n) choices of `key` are cached in `slot`; returns the slot's base offset. */
  ensure(slot: number, key: number, d: number): number {
    const base = slot * this.n;
    if (this.key[slot] !== key) {
      this.key[slot] = key;
      this.built[slot] = 0;
      this.dUsed[slot] = 0;
      this.h1[slot] = choiceH1(key, this.seedBase);
    }
    const h1 = this.h1[slot];
    for (let i = this.built[slot]; i < d; i++) this.choices[base + i] = hashChoice(h1, i, this.n);
    if (d > this.built[slot]) this.built[slot] = d;
    return base;
  }
}

/**
 * Cumulative integer load counters with the workers at the lowest load level m (`level0`) and at
 * m + 1 (`level1`) kept as bit sets of ⌈P/32⌉ int32 words. Invariant: bit w of level0 is set iff
 * load[w] = m = min load; bit w of level1 iff load[w] = m + 1. `add` is O(1) except when the minimum
 * rises (once every ≥ 1 records, O(P)); `argmin` (lowest index) is O(P/32).
 */
export class LevelLoads {
  readonly n: number;
  readonly load: Float64Array;
  readonly level0: Int32Array;
  readonly level1: Int32Array;
  /** The minimum load m. */
  level = 0;

  constructor(n: number) {
    this.n = n;
    this.load = new Float64Array(n);
    const words = (n + 31) >>> 5;
    this.level0 = new Int32Array(words);
    this.level1 = new Int32Array(words);
    for (let w = 0; w < n; w++) this.level0[w >>> 5] |= 1 << (w & 31);
  }

  /** Adds one record to worker `w`. */
  add(w: number): void {
    const l = this.load[w];
    this.load[w] = l + 1;
    const bit = 1 << (w & 31);
    const i = w >>> 5;
    if (l === this.level) {
      this.level0[i] &= ~bit;
      this.level1[i] |= bit;
      let empty = true;
      for (let j = 0; j < this.level0.length; j++) if (this.level0[j] !== 0) { empty = false; break; }
      if (empty) this.rise();
    } else if (l === this.level + 1) {
      this.level1[i] &= ~bit;
    }
  }

  private rise(): void {
    this.level++;
    this.level0.set(this.level1);
    this.level1.fill(0);
    const next = this.level + 1;
    for (let w = 0; w < this.n; w++) if (this.load[w] === next) this.level1[w >>> 5] |= 1 << (w & 31);
  }

  /** Lowest-index worker with the minimum load. */
  argmin(): number {
    const l0 = this.level0;
    for (let i = 0; i < l0.length; i++) {
      const x = l0[i];
      if (x !== 0) return (i << 5) + (31 - Math.clz32(x & -x));
    }
    return 0;
  }
}
