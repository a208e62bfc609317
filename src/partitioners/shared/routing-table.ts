// Versioned routing table: per hot-key slot a probability vector over an allowed worker range, with deficit choice.
import type { MaskRange } from './mask.js';
import { WindowedLoads } from './window.js';

/**
 * A versioned routing table for `numSlots` hot-key slots over P workers. Each slot has an allowed
 * range [lo, hi) and a target probability vector p (zero outside the range, Σp = 1 unless all given
 * weights were zero). Realised per-(slot, worker) counts are kept over a sliding window
 * (`windowMs`/`slideMs`, SaS `KeyWorkerStatistics`). `pick(slot)` is SaS's deterministic deficit
 * rule (saspartitioner.md §3.3): the allowed worker with p_w > 0 maximising `p_w − realisedShare_w`,
 * strict `>` so the lowest index wins ties; −1 when every p_w is 0 (caller falls back to its cold route).
 * Invariant: `version` grows by one on each `setWeights`/`setRanges` call. Initial weights: uniform over each range.
 */
export class RoutingTable {
  readonly numWorkers: number;
  readonly numSlots: number;
  /** Routing-table epoch; bumped by every change. */
  version = 0;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** Target probabilities, slot-major: prob[slot · P + w]. */
  readonly prob: Float64Array;
  private readonly realised: WindowedLoads; // n = numSlots · P
  private readonly realisedTotal: WindowedLoads; // n = numSlots

  constructor(numWorkers: number, ranges: readonly MaskRange[], opts: { windowMs: number; slideMs: number }) {
    this.numWorkers = numWorkers;
    this.numSlots = ranges.length;
    this.lo = new Int32Array(this.numSlots);
    this.hi = new Int32Array(this.numSlots);
    this.prob = new Float64Array(this.numSlots * numWorkers);
    this.realised = new WindowedLoads(Math.max(1, this.numSlots * numWorkers), opts);
    this.realisedTotal = new WindowedLoads(Math.max(1, this.numSlots), opts);
    this.applyRanges(ranges);
  }

  private applyRanges(ranges: readonly MaskRange[]): void {
    for (let s = 0; s < this.numSlots; s++) {
      const r = ranges[s];
      if (!(r.lo >= 0 && r.hi <= this.numWorkers && r.lo < r.hi)) throw new RangeError(`bad mask range [${r.lo}, ${r.hi}) for slot ${s}`);
      this.lo[s] = r.lo;
      this.hi[s] = r.hi;
      const base = s * this.numWorkers;
      this.prob.fill(0, base, base + this.numWorkers);
      for (let w = r.lo; w < r.hi; w++) this.prob[base + w] = 1 / (r.hi - r.lo);
    }
  }

  /** Replaces the allowed ranges (one per slot) and resets weights to uniform. Bumps the version. */
  setRanges(ranges: readonly MaskRange[]): void {
    if (ranges.length !== this.numSlots) throw new RangeError(`expected ${this.numSlots} ranges, got ${ranges.length}`);
    this.applyRanges(ranges);
    this.version++;
  }

  /**
   * Sets every slot's weights from a flat key-major vector over the allowed pairs (SaS action layout:
   * slot 0's workers lo..hi−1, then slot 1's, …); negative weights count as 0; each slot is
   * normalised. Bumps the version once.
   */
  setWeights(action: ArrayLike<number>): void {
    let i = 0;
    const n = this.numWorkers;
    for (let s = 0; s < this.numSlots; s++) {
      const base = s * n;
      let sum = 0;
      for (let w = this.lo[s]; w < this.hi[s]; w++) {
        const v = action[i++];
        const x = v > 0 ? v : 0;
        this.prob[base + w] = x;
        sum += x;
      }
      if (sum > 0) for (let w = this.lo[s]; w < this.hi[s]; w++) this.prob[base + w] /= sum;
    }
    this.version++;
  }

  /** Number of allowed pairs (the action dimension). */
  get pairs(): number {
    let a = 0;
    for (let s = 0; s < this.numSlots; s++) a += this.hi[s] - this.lo[s];
    return a;
  }

  /** Moves the realised-count window to `nowMs`. */
  advance(nowMs: number): void {
    this.realised.advance(nowMs);
    this.realisedTotal.advance(nowMs);
  }

  /** The deficit choice for `slot` without recording it; −1 when all of the slot's probabilities are 0. */
  choose(slot: number): number {
    const n = this.numWorkers;
    const base = slot * n;
    const tot = this.realisedTotal.load[slot];
    const inv = tot > 0 ? 1 / tot : 0;
    const load = this.realised.load;
    let best = -1;
    let bestV = -Infinity;
    for (let w = this.lo[slot], hi = this.hi[slot]; w < hi; w++) {
      const p = this.prob[base + w];
      if (p <= 0) continue;
      const v = p - load[base + w] * inv;
      if (v > bestV) {
        bestV = v;
        best = w;
      }
    }
    return best;
  }

  /** Counts one record of `slot` realised on worker `w`. */
  record(slot: number, w: number): void {
    this.realised.add(slot * this.numWorkers + w);
    this.realisedTotal.add(slot);
  }

  /** `choose` then `record`; returns the worker or −1 (nothing recorded). */
  pick(slot: number): number {
    const w = this.choose(slot);
    if (w >= 0) this.record(slot, w);
    return w;
  }

  /** Realised count of (slot, w) in the window. */
  realisedCount(slot: number, w: number): number {
    return this.realised.load[slot * this.numWorkers + w];
  }
}
