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
  /** Sweeps of {@link balance} (0 = keep EDF's per-worker totals). */
  readonly balanceSweeps: number;
  private readonly other: Float64Array;
  /**
   * Per-worker totals (base + hot) of the last `solve` before spreading: the level the mask allows.
   * Spreading keeps them only approximately (iterative proportional fitting along a chain of ranges
   * converges slowly), so the load-deficit targets start from these.
   */
  readonly totals: Float64Array;
  private readonly sorted: Float64Array;

  /** `spreadIters` default 100, `balanceSweeps` default 20 (ours; 0 = the min-max level only). */
  constructor(mask: Mask, numWorkers: number, spreadIters = 100, balanceSweeps = 20) {
    this.numWorkers = numWorkers;
    this.spreadIters = spreadIters;
    this.balanceSweeps = balanceSweeps;
    this.other = new Float64Array(numWorkers);
    this.totals = new Float64Array(numWorkers);
    this.sorted = new Float64Array(numWorkers);
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
    if (this.balanceSweeps > 0) this.balance(out, base, loads);
    for (let w = 0; w < n; w++) this.totals[w] = Math.max(0, base[w]);
    for (let k = 0; k < T; k++) for (let w = this.lo[k]; w < this.hi[k]; w++) this.totals[w] += out[k * n + w];
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
      // (a subnormal sum would make 1/s infinite: uniform then)
      const inv = s > 0 ? 1 / s : 0;
      const ok = inv > 0 && Number.isFinite(inv);
      for (let w = this.lo[k]; w < this.hi[k]; w++) out[b + w] = ok ? out[b + w] * inv : 1 / (this.hi[k] - this.lo[k]);
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
   * Levels the workers *below* the min-max level too: EDF at level L fills each range's first workers
   * up to L and leaves the slack on its last ones (a worker at 0.6 of the mean pushes the others up).
   * Block coordinate descent on Σ_w total_w²: each sweep re-water-fills every key alone over its range
   * given everything else on those workers (exact: sort, then the level ℓ with Σ max(0, ℓ − other_w)
   * = load). No step raises any worker above the largest total of its key's range, so the min-max
   * level is kept; the fixed point is the most even assignment the mask allows. `x` holds absolute
   * loads (slot-major) and is updated in place.
   */
  private balance(x: Float64Array, base: ArrayLike<number>, loads: ArrayLike<number>): void {
    const n = this.numWorkers;
    const T = this.lo.length;
    const o = this.other;
    for (let w = 0; w < n; w++) o[w] = Math.max(0, base[w]);
    for (let k = 0; k < T; k++) for (let w = this.lo[k]; w < this.hi[k]; w++) o[w] += x[k * n + w];
    for (let it = 0; it < this.balanceSweeps; it++) {
      for (let k = 0; k < T; k++) {
        const l = Math.max(0, loads[k]);
        if (!(l > 0)) continue;
        const a = this.lo[k];
        const m = this.hi[k] - a;
        const b = k * n;
        for (let w = a; w < a + m; w++) o[w] -= x[b + w];
        const srt = this.sorted;
        for (let j = 0; j < m; j++) srt[j] = o[a + j];
        srt.subarray(0, m).sort();
        // largest j with Σ_{i<j} (srt[j−1] − srt[i]) < l: the level lies at or above srt[j−1]
        let sum = 0;
        let level = srt[0] + l;
        for (let j = 1; j <= m; j++) {
          sum += srt[j - 1];
          const lv = (l + sum) / j;
          if (j === m || lv <= srt[j]) {
            level = lv;
            break;
          }
        }
        for (let w = a; w < a + m; w++) {
          const v = Math.max(0, level - o[w]);
          x[b + w] = v;
          o[w] += v;
        }
      }
    }
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
