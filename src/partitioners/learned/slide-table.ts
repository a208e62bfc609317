// Once per slide: a learned router's new slots and shares from the detected top keys and the policy's action (direct or residual).
import { InvariantError } from '../../common/errors.js';
import type { Mask } from '../../rl-agent/mask.js';
import { residualShares, WaterFill, type ActionMode } from './prior.js';
import type { LearnedRouter } from './learned-router.js';

/** The top keys of a slide, by count descending: `keys[0..size)` and their counts. */
export interface SlideTop {
  readonly keys: ArrayLike<number>;
  readonly counts: ArrayLike<number>;
  readonly size: number;
}

/**
 * Turns a slide's top keys and a policy action into a router's next table, the same way for
 * `saspartitioner` and every model of `saspartitioner-adaptive`:
 * - `direct` (SaSPartitioner §2.3): the action's weights, normalised per key, are the shares;
 * - `residual` (ours): a water-filling prior over the measured loads, corrected by the action
 *   (`residualShares`); a slide without a new action keeps applying the last one to the new prior.
 *
 * With the router's `hotRule` `load-deficit`, it also sets the per-worker targets: the level the
 * prior allows moved by the action's correction (residual), or the expected loads under the new
 * shares (direct). With `withPrior` (the reward guard, learned/guard.ts) a slide can be routed by the
 * water-filling prior alone in either mode (`apply(top, action, true)`: the action is ignored for that
 * slide but kept for the next). Allocates only at construction.
 */
export class SlideTable {
  private readonly fill: WaterFill | undefined;
  private readonly base: Float64Array;
  private readonly hot: Float64Array;
  private readonly prior: Float64Array;
  private readonly table: Float64Array;
  private readonly target: Float64Array;
  private readonly loadDeficit: boolean;
  private lastAction: ArrayLike<number> | undefined;
  /** The last slide installed the prior alone (so a direct-mode slide without a new action re-installs the last one). */
  private priorInstalled = false;

  /**
   * @param router the router whose table this sets (its mask is `mask`)
   * @param mode how an action becomes shares
   * @param scale residual mode's largest correction, in uniform shares of a key's range
   * @param priorSmoothing weight of the newest slide in the cold-load average (router.estimateLoads)
   * @param withPrior build the water-filling prior in direct mode too, so `apply` can route by it alone
   */
  constructor(
    readonly router: LearnedRouter,
    readonly mask: Mask,
    readonly mode: ActionMode,
    readonly scale: number,
    readonly priorSmoothing: number,
    withPrior = false,
  ) {
    const n = router.numWorkers;
    this.fill = mode === 'residual' || withPrior ? new WaterFill(mask, n) : undefined;
    this.base = new Float64Array(n);
    this.hot = new Float64Array(mask.length);
    this.prior = new Float64Array(mask.length * n);
    this.table = new Float64Array(mask.length * n);
    this.target = new Float64Array(n);
    this.loadDeficit = router.hotRule === 'load-deficit';
  }

  /**
   * Installs the slide's table: slots from `top`, shares from `action` (undefined = none this slide),
   * or, with `priorOnly` (needs residual mode or `withPrior`), the water-filling prior alone. Must run
   * once per slide, after the slide's records were routed by this router. Returns whether the
   * router's slots or shares changed (its `version` moved).
   */
  apply(top: SlideTop, action: ArrayLike<number> | undefined, priorOnly = false): boolean {
    const { router, fill, base, hot } = this;
    const n = router.numWorkers;
    if (priorOnly && !fill) throw new InvariantError('SlideTable.apply: priorOnly needs residual mode or withPrior', { field: 'priorOnly' });
    if (fill || this.loadDeficit) router.estimateLoads(top.keys, top.size, top.counts, this.priorSmoothing, base, hot);
    // a remote policy answers late (undefined = no new action): keep applying its last one
    if (action) this.lastAction = action;
    if (this.mode === 'direct' && !priorOnly) {
      // after a prior-only slide, re-install the last action (none yet: the initial uniform table, null)
      const a = action ?? (this.priorInstalled ? (this.lastAction ?? null) : undefined);
      this.priorInstalled = false;
      const changed = router.swap(top.keys, top.size, top.counts, a);
      if (this.loadDeficit) router.setTargets(router.expectedLoads(base, hot, this.target));
      return changed;
    }
    const { mask, prior, table, target } = this;
    fill!.solve(base, hot, prior);
    this.priorInstalled = priorOnly;
    const changed = router.swap(top.keys, top.size, top.counts, undefined, residualShares(mask, n, prior, priorOnly ? undefined : this.lastAction, this.scale, table));
    if (this.loadDeficit) {
      // the level the mask allows (before spreading), moved by the action's correction
      for (let w = 0; w < n; w++) target[w] = fill!.totals[w];
      for (let k = 0; k < mask.length; k++) {
        const h = Math.max(0, hot[k]);
        for (let w = mask[k].start; w < mask[k].end; w++) target[w] += h * (table[k * n + w] - prior[k * n + w]);
      }
      router.setTargets(target);
    }
    return changed;
  }
}
