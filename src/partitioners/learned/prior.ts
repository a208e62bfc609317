// Water-filling prior (ours, not SaSPartitioner's): hot-key shares that level the measured per-worker load inside the mask.
import type { Mask } from '../../rl-agent/mask.js';

/**
 * Water-filling over a mask: given the load each worker gets anyway (`base`, e.g. its hashed cold
 * keys) and the expected load of each true hot slot (`loads`), finds target shares that minimise the
 * largest per-worker total `base_w + Σ_k loads_k · shares_kw`, with key k only on its mask range.
 *
 * Method: bisection on the level L; at a given L, worker w offers `max(0, L − base_w)` and the keys
 * take it earliest-deadline-first (workers ascending; among the keys whose range holds w, the one whose
 * range ends first), which for interval constraints is feasible exactly when any assignment is. The
 * returned shares are those of the smallest feasible level found (≤ 1e-6·total above the optimum).
 * A key with zero load gets the uniform share over its range.
 * `out` is slot-major over all P (length mask.length · P, 0 outside each range). Allocates nothing
 * but a few small scratch arrays owned by the caller's {@link WaterFill} instance.
 * Invariants: every key's shares are ≥ 0, 0 outside its range and sum to 1.
 */
export class WaterFill {
  readonly numWorkers: number;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  /** Slots in earliest-deadline order (end ascending, then start). */
  private readonly order: Int32Array;
  private readonly rem: Float64Array;
  private readonly colTarget: Float64Array;
  /** Iterative proportional fitting rounds of {@link spread} (0 = keep the packed EDF assignment). */
  readonly spreadIters: number;

  constructor(mask: Mask, numWorkers: number, spreadIters = 100) {
    this.numWorkers = numWorkers;
    this.spreadIters = spreadIters;
    this.colTarget = new Float64Array(numWorkers);
    this.lo = Int32Array.from(mask, (r) => r.start);
    this.hi = Int32Array.from(mask, (r) => r.end);
    const idx = Array.from(mask, (_, i) => i).sort((a, b) => this.hi[a] - this.hi[b] || this.lo[a] - this.lo[b] || a - b);
    this.order = Int32Array.from(idx);
    this.rem = new Float64Array(mask.length);
    this.scratchCol = new Float64Array(numWorkers);
  }
  private readonly scratchCol: Float64Array;

  /**
   * Writes the shares into `out` (length T·P) and returns the level reached (largest per-worker total
   * of the assignment, in the units of `base` and `loads`).
   */
  solve(base: ArrayLike<number>, loads: ArrayLike<number>, out: Float64Array): number {
    const n = this.numWorkers;
    const T = this.lo.length;
    let total = 0;
    let maxBase = 0;
    let hot = 0;
    for (let w = 0; w < n; w++) {
      total += Math.max(0, base[w]);
      maxBase = Math.max(maxBase, base[w]);
    }
    for (let k = 0; k < T; k++) hot += Math.max(0, loads[k]);
    total += hot;
    let lo = total / n;
    let hi = maxBase + hot;
    if (hot > 0 && !this.fill(lo, base, loads, undefined)) {
      const eps = 1e-6 * Math.max(total, 1e-12);
      for (let it = 0; it < 60 && hi - lo > eps; it++) {
        const mid = 0.5 * (lo + hi);
        if (this.fill(mid, base, loads, undefined)) hi = mid;
        else lo = mid;
      }
    } else {
      hi = lo;
    }
    out.fill(0);
    this.fill(hi, base, loads, out);
    if (this.spreadIters > 0) this.spread(out, loads);
    for (let k = 0; k < T; k++) {
      const l = Math.max(0, loads[k]);
      const b = k * n;
      if (!(l > 0)) {
        const u = 1 / (this.hi[k] - this.lo[k]);
        for (let w = this.lo[k]; w < this.hi[k]; w++) out[b + w] = u;
        continue;
      }
      let s = 0;
      for (let w = this.lo[k]; w < this.hi[k]; w++) s += out[b + w];
      // s < l only by rounding at the final level; normalise so the shares sum to 1
      const inv = s > 0 ? 1 / s : 0;
      for (let w = this.lo[k]; w < this.hi[k]; w++) out[b + w] = s > 0 ? out[b + w] * inv : 1 / (this.hi[k] - this.lo[k]);
    }
    let level = 0;
    for (let w = 0; w < n; w++) {
      let t = Math.max(0, base[w]);
      for (let k = 0; k < T; k++) t += out[k * n + w] * Math.max(0, loads[k]);
      level = Math.max(level, t);
    }
    return level;
  }

  /**
   * Spreads an assignment without changing any worker's total: iterative proportional fitting from
   * the uniform split of each key over its range, towards the EDF assignment's row sums (key loads) and
   * column sums (per-worker hot load). The fixed point is the most even (max-entropy) split with those
   * sums, so each key is shared by as many workers as the mask and the balance allow. Why: a worker's
   * load from key k varies by x_kw²/h_k per slide (x its expected records, h_k the key's), so a key
   * packed on few workers makes their load noisy; EDF alone packs.
   */
  private spread(x: Float64Array, loads: ArrayLike<number>): void {
    const n = this.numWorkers;
    const T = this.lo.length;
    const col = this.colTarget;
    col.fill(0);
    for (let k = 0; k < T; k++) for (let w = this.lo[k]; w < this.hi[k]; w++) col[w] += x[k * n + w];
    for (let k = 0; k < T; k++) {
      const l = Math.max(0, loads[k]) / (this.hi[k] - this.lo[k]);
      for (let w = this.lo[k]; w < this.hi[k]; w++) x[k * n + w] = col[w] > 0 ? l : 0;
    }
    for (let it = 0; it < this.spreadIters; it++) {
      // columns
      for (let w = 0; w < n; w++) this.scratchCol[w] = 0;
      for (let k = 0; k < T; k++) for (let w = this.lo[k]; w < this.hi[k]; w++) this.scratchCol[w] += x[k * n + w];
      for (let k = 0; k < T; k++) {
        for (let w = this.lo[k]; w < this.hi[k]; w++) {
          const c = this.scratchCol[w];
          x[k * n + w] = c > 0 ? (x[k * n + w] * col[w]) / c : 0;
        }
      }
      // rows
      for (let k = 0; k < T; k++) {
        let r = 0;
        for (let w = this.lo[k]; w < this.hi[k]; w++) r += x[k * n + w];
        const l = Math.max(0, loads[k]);
        if (r > 0) for (let w = this.lo[k]; w < this.hi[k]; w++) x[k * n + w] *= l / r;
      }
    }
  }

  /** EDF assignment at level L; with `out`, writes absolute loads (slot-major). Returns whether every load fitted. */
  private fill(L: number, base: ArrayLike<number>, loads: ArrayLike<number>, out: Float64Array | undefined): boolean {
    const n = this.numWorkers;
    const T = this.lo.length;
    const tol = 1e-9 * Math.max(1, L);
    for (let k = 0; k < T; k++) this.rem[k] = Math.max(0, loads[k]);
    let ok = true;
    for (let w = 0; w < n; w++) {
      let cap = L - Math.max(0, base[w]);
      for (let j = 0; j < T && cap > 0; j++) {
        const k = this.order[j];
        if (this.lo[k] > w || this.hi[k] <= w || this.rem[k] <= 0) continue;
        const take = Math.min(cap, this.rem[k]);
        this.rem[k] -= take;
        cap -= take;
        if (out) out[k * n + w] += take;
      }
      for (let k = 0; k < T; k++) {
        if (this.hi[k] === w + 1 && this.rem[k] > tol) {
          if (!out) return false;
          // at the final level (feasible up to rounding): leave the crumbs on the key's last worker
          out[k * n + w] += this.rem[k];
          this.rem[k] = 0;
          ok = false;
        }
      }
    }
    return ok;
  }
}

/** How a policy's action becomes the routing table: `direct` = SaSPartitioner's (§2.3), `residual` = ours. */
export type ActionMode = 'direct' | 'residual';

/** Default `residualScale`: an action at 0 or 1 moves a worker's share by ±0.5 of a uniform share over the key's range. */
export const DEFAULT_RESIDUAL_SCALE = 0.5;

/**
 * Residual action mode (ours): target shares = the prior's shares plus a per-pair correction from the
 * action, `max(0, prior_kw + scale · (2a_kw − 1) / |range_k|)`, renormalised per key (a key whose sum
 * is 0 keeps its prior). An action of 0.5 everywhere (the mean of an untrained squashed-Gaussian
 * policy) reproduces the prior exactly. `prior` and `out` are slot-major over all P; the action is
 * key-major over the mask (as in direct mode); `out` must not be `prior`.
 */
export function residualShares(mask: Mask, numWorkers: number, prior: Float64Array, action: ArrayLike<number> | undefined, scale: number, out: Float64Array): Float64Array {
  const n = numWorkers;
  let off = 0;
  for (let k = 0; k < mask.length; k++) {
    const { start, end } = mask[k];
    const m = end - start;
    const b = k * n;
    let sum = 0;
    for (let w = start, j = off; w < end; w++, j++) {
      const a = action ? Math.min(1, Math.max(0, action[j])) : 0.5;
      const v = Math.max(0, prior[b + w] + (scale * (2 * a - 1)) / m);
      out[b + w] = v;
      sum += v;
    }
    if (sum > 0) for (let w = start; w < end; w++) out[b + w] /= sum;
    else for (let w = start; w < end; w++) out[b + w] = prior[b + w];
    off += m;
  }
  return out;
}
