// The head of the key distribution as D-Choices/W-Choices see it: a per-source SpaceSaving summary and θ.
import { murmurWorker } from './hashing.js';
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
 * Cached candidate lists of head keys: the i-th choice of a key is murmur3 with seed `seedBase + i`
 * (SLBSimulator draws H_0..H_{d−1}, duplicates allowed). Cached per summary slot so a hot record
 * costs no hashing. Invariant: for a slot whose cached key is k, `choices[slot·n + i]` = H_i(k) for i < built.
 */
export class ChoiceCache {
  private readonly n: number;
  private readonly seedBase: number;
  readonly choices: Int32Array;
  private readonly key: Int32Array;
  private readonly built: Int32Array;
  private readonly dUsed: Int32Array;
  private readonly minVal: Float64Array;
  private readonly ptr: Int32Array;

  constructor(capacity: number, n: number, seedBase: number) {
    this.n = n;
    this.seedBase = seedBase;
    this.choices = new Int32Array(capacity * n);
    this.key = new Int32Array(capacity).fill(-1);
    this.built = new Int32Array(capacity);
    this.dUsed = new Int32Array(capacity);
    this.minVal = new Float64Array(capacity).fill(-1);
    this.ptr = new Int32Array(capacity);
  }

  /**
   * The first of `key`'s d choices (list order) with the smallest `load`: SLBSimulator's
   * `selectMinChoice` (ties to the earlier choice). Amortised O(1) when `load` only grows (cumulative
   * local loads): a per-slot pointer to the first choice at the list's minimum moves forward and
   * restarts when the minimum rises. Changing d or the slot's key resets it.
   */
  pick(slot: number, key: number, d: number, load: Float64Array): number {
    const base = slot * this.n;
    if (this.key[slot] !== key || this.dUsed[slot] !== d) {
      this.ensure(slot, key, d);
      this.dUsed[slot] = d;
      this.minVal[slot] = -1;
    }
    const ch = this.choices;
    let m = this.minVal[slot];
    let p = this.ptr[slot];
    if (m < 0) {
      m = load[ch[base]];
      for (let i = 1; i < d; i++) if (load[ch[base + i]] < m) m = load[ch[base + i]];
      p = 0;
    }
    while (load[ch[base + p]] !== m) {
      p++;
      if (p === d) {
        m = load[ch[base]];
        for (let i = 1; i < d; i++) if (load[ch[base + i]] < m) m = load[ch[base + i]];
        p = 0;
      }
    }
    this.minVal[slot] = m;
    this.ptr[slot] = p;
    return ch[base + p];
  }

  /** Makes sure the first `d` (≤ n) choices of `key` are cached in `slot`; returns the slot's base offset. */
  ensure(slot: number, key: number, d: number): number {
    const base = slot * this.n;
    if (this.key[slot] !== key) {
      this.key[slot] = key;
      this.built[slot] = 0;
      this.dUsed[slot] = 0;
    }
    for (let i = this.built[slot]; i < d; i++) this.choices[base + i] = murmurWorker(key, this.seedBase + i, this.n);
    if (d > this.built[slot]) this.built[slot] = d;
    return base;
  }
}
