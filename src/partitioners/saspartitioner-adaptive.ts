// Workload-aware SaSPartitioner: exact top-k per slide, the nearest Zipf(α) model first, then the best by measured reward.
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import type { GuardArmKind, PartitionerGuardMetrics, SlideReport } from '../common/metrics.js';
import { DEFAULT_REWARD_BASE } from '../rl-agent/env-math.js';
import { maskFromFrequencies, validateMask, zipfTopProbabilities, type Mask } from '../rl-agent/mask.js';
import { MetricWindow } from '../rl-agent/metric-window.js';
import { LearnedRouter } from './learned/learned-router.js';
import { SlideTable } from './learned/slide-table.js';
import { guardParam, resolveGuard, RewardGuard } from './learned/guard.js';
import { actionModeFor } from './saspartitioner.js';
import { preparedPolicy, type LearnedPolicy } from './learned/policy.js';
import { NO_CHECKPOINT, PRIOR_CHECKPOINT, peekCheckpoint, resolveCheckpoint } from './learned/paths.js';
import { hashSeedField } from './shared/params.js';
import type { Partitioner, PartitionerContext } from './types.js';

const modelSchema = z.strictObject({
  /** Zipf exponent the model was trained for; 0 = uniform table. */
  alpha: z.number().min(0),
  /** Checkpoint (`default`, a directory, `prior` = the shipped checkpoint's mask and mode with no policy, or `none` = uniform table over the mask). */
  checkpoint: z.string().min(1).default(NO_CHECKPOINT),
});

/** Parameters of `saspartitioner-adaptive` (SaS `alphaValues` + one policy per model, §3.5). */
export const sasAdaptiveParams = z
  .strictObject({
    /** Models to choose from. Default: α 0 (uniform) and α 1.5 with the shipped checkpoint. */
    models: z.array(modelSchema).min(1).default([
      { alpha: 0, checkpoint: NO_CHECKPOINT },
      { alpha: 1.5, checkpoint: 'default' },
    ]),
    /** Hot-key slots (top-k of the exact counts). Default max(10, the largest checkpoint mask's keys). */
    numHotKeys: z.number().int().min(1).max(4096).optional(),
    /** Fixed reward base. Default 0.6. */
    rewardBase: z.number().positive().default(DEFAULT_REWARD_BASE),
    /** Slides in the metric window. Default 1. */
    metricWindowSlides: z.number().int().min(1).max(64).default(1),
    /** Steps per episode. Default 128. */
    episodeLength: z.number().int().min(1).default(128),
    /** Murmur seed of the cold route. Default 38324. */
    seed: hashSeedField,
    /** As saspartitioner's: weight of the newest slide in the cold-load average of the residual prior. Default 0.3. */
    priorSmoothing: z.number().gt(0).max(1).default(0.3),
    /** As saspartitioner's: `key-deficit` (SaS) or `load-deficit` (ours). Default `load-deficit`. */
    hotRule: z.enum(['key-deficit', 'load-deficit']).default('load-deficit'),
    /** As saspartitioner's: weigh records by their cost in the deficits. Default true. */
    weighByCost: z.boolean().default(true),
    /** As saspartitioner's, on the exact counts: a cold key above 1/P of the slide so far goes to the least-loaded worker. Default true. */
    interimHot: z.boolean().default(true),
    /**
     * Ours: choose by measured reward (learned/guard.ts, docs/learned.md "The guard"). Each model with a
     * policy offers two arms (its policy, its water-filling prior alone), a model without one its own
     * table; per α-matched model the guard starts at that model's first arm, probes the others and
     * keeps the one with the best measured reward. `false` = the α-match alone (SaSPartitioner §3.5).
     * Same parameters as saspartitioner's `guard`. Default on.
     */
    guard: guardParam,
  });

/** Validated parameters of `saspartitioner-adaptive`. */
export type SasAdaptiveParams = z.infer<typeof sasAdaptiveParams>;

/** `saspartitioner-adaptive` with its model choice exposed. */
export interface SasAdaptivePartitioner extends Partitioner {
  /** Index into params.models of the model routing now. */
  readonly active: number;
  readonly routers: readonly LearnedRouter[];
  /** The reward guard over `arms` (contexts = the α-matched model), or undefined when it is off. */
  readonly guard: RewardGuard | undefined;
  /** The guard's arms: which model, routing by what. */
  readonly arms: readonly { readonly model: number; readonly kind: GuardArmKind }[];
}

/** Registry id of an adaptive model's inline policy (what `preloadLearnedPolicies` registers). */
export function adaptivePolicyId(checkpoint: string): string | undefined {
  if (checkpoint === PRIOR_CHECKPOINT) return undefined; // the prior alone: no policy
  const dir = resolveCheckpoint(checkpoint);
  return dir ? `inline:${dir}` : undefined;
}

/** Euclidean distance between two vectors of the same length. */
export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/**
 * Index of the model whose Zipf(α) top-k distribution (normalised over k) is nearest (Euclidean) to
 * the measured top-k counts normalised over their sum; the first model wins ties.
 */
export function nearestModel(topCounts: ArrayLike<number>, alphas: readonly number[]): number {
  const k = topCounts.length;
  let sum = 0;
  for (let i = 0; i < k; i++) sum += topCounts[i];
  const d = Array.from({ length: k }, (_, i) => (sum > 0 ? topCounts[i] / sum : 0));
  let best = 0;
  let bestD = Infinity;
  alphas.forEach((a, i) => {
    const e = euclidean(d, zipfTopProbabilities(a, k));
    if (e < bestD) {
      bestD = e;
      best = i;
    }
  });
  return best;
}

/**
 * Creates `saspartitioner-adaptive` (research/saspartitioner.md §3.5). It counts every key exactly
 * during a slide; at the slide's end it takes the top `numHotKeys` and picks the nearest model
 * (`nearestModel`). With the guard (ours, default) that model is the context and its first arm the
 * starting choice: the guard measures every arm's reward in that context (probe slides) and routes by
 * the best (RewardGuard). The chosen model maps the top keys onto its rank slots 0..k−1 and its policy
 * (if any; none = uniform over its mask), or its prior alone, sets the table. Each model has its own
 * mask and router; a switch swaps the router atomically and bumps `tableVersion`. `policies`
 * (optional) overrides the prepared-policy lookup, one entry per model.
 */
export function createSasAdaptive(ctx: PartitionerContext, params: SasAdaptiveParams, policies?: readonly (LearnedPolicy | undefined)[]): SasAdaptivePartitioner {
  const n = ctx.numWorkers;
  const pols = params.models.map((m, i) => {
    if (policies) return policies[i];
    const id = adaptivePolicyId(m.checkpoint);
    return id ? preparedPolicy(id) : undefined;
  });
  // A model's own mask: its policy's, else its checkpoint's (made for P workers); undefined = the Zipf heuristic below.
  const own = params.models.map((m, i): Mask | undefined => {
    const p = pols[i];
    if (p) return validateMask(p.mask, n, `partitioner.params.models[${i}].checkpoint.mask`);
    const peek = peekCheckpoint(resolveCheckpoint(m.checkpoint));
    return peek?.mask && peek.numWorkers === n ? peek.mask : undefined;
  });
  // Like saspartitioner: a checkpoint may track more hot keys than SaS's 10.
  const H = params.numHotKeys ?? Math.max(10, ...own.map((m) => m?.length ?? 0));
  const routers = params.models.map((m, i) => {
    const mask = own[i] ?? maskFromFrequencies(zipfTopProbabilities(m.alpha, H), n);
    if (mask.length > H) throw new ConfigError(`partitioner.params.numHotKeys: model ${i}'s mask has ${mask.length} hot keys, numHotKeys is ${H}`, { field: 'partitioner.params.numHotKeys', got: H });
    const router = new LearnedRouter({ numWorkers: n, numKeys: ctx.numKeys, numHotKeys: H, mask, sketchCapacity: 0, hashSeed: params.seed, hotRule: params.hotRule });
    const p = pols[i];
    if (p && p.actionDim !== router.actionDim) {
      throw new ConfigError(`partitioner.params.models[${i}].checkpoint: policy action dim ${p.actionDim} does not match the mask (${router.actionDim})`, { field: `partitioner.params.models[${i}].checkpoint` });
    }
    return router;
  });
  // The guard's arms: per model its policy and its prior alone, or (no policy) its own table.
  const arms: { model: number; kind: GuardArmKind }[] = [];
  const firstArm = params.models.map((m, i) => {
    const a = arms.length;
    if (pols[i]) arms.push({ model: i, kind: 'policy' }, { model: i, kind: 'prior' });
    else arms.push({ model: i, kind: actionModeFor(n, { checkpoint: m.checkpoint }).mode === 'residual' ? 'prior' : 'table' });
    return a;
  });
  const guardOpts = resolveGuard(params.guard, { hasArms: arms.length > 1, learning: pols.some((p) => p?.learning === true), remote: false });
  const guard = guardOpts ? new RewardGuard(arms.length, params.models.length, n, params.rewardBase, guardOpts) : undefined;
  // Each model applies its action as it was trained: direct (SaS) or residual over the water-filling prior.
  const tables = params.models.map((m, i) => {
    const { mode, scale } = actionModeFor(n, { checkpoint: m.checkpoint }, pols[i]);
    return new SlideTable(routers[i], routers[i].mask, mode, scale, params.priorSmoothing, guard !== undefined && pols[i] !== undefined);
  });
  const alphas = params.models.map((m) => m.alpha);
  const counts = new Float64Array(Math.max(1, ctx.numKeys));
  const touched = new Int32Array(Math.max(1, ctx.numKeys));
  let touchedN = 0;
  let slideRecords = 0;
  const topKeys = new Int32Array(H);
  const topCounts = new Float64Array(H);
  const window = new MetricWindow(n, params.metricWindowSlides);
  const obs = new Float32Array(2 * n);
  let active = 0;
  let context = 0;
  let router = routers[0];
  let version = 0;
  let steps = 0;

  function guardStats(): PartitionerGuardMetrics | undefined {
    if (!guard) return undefined;
    const g = guard.snapshot();
    const held = g.current < 0 ? firstArm[context] : g.current;
    const routing = g.routing < 0 ? held : g.routing;
    const model = arms[held].model;
    const p = pols[model] ? firstArm[model] : -1; // its policy arm; its prior arm is p + 1
    return {
      state: arms[held].kind,
      routing: arms[routing].kind,
      model,
      routingModel: arms[routing].model,
      policyReward: p >= 0 ? g.rewards[p] : Number.NaN,
      priorReward: p >= 0 ? g.rewards[p + 1] : arms[held].kind === 'prior' ? g.rewards[held] : Number.NaN,
      ratio: p >= 0 ? g.ratios[p] / g.ratios[p + 1] : Number.NaN,
    };
  }

  function exactTop(): number {
    topKeys.fill(-1);
    topCounts.fill(0);
    let m = 0;
    for (let i = 0; i < touchedN; i++) {
      const k = touched[i];
      const c = counts[k];
      counts[k] = 0;
      if (m === H && !(c > topCounts[m - 1] || (c === topCounts[m - 1] && k < topKeys[m - 1]))) continue;
      let j = m < H ? m++ : H - 1;
      while (j > 0 && (c > topCounts[j - 1] || (c === topCounts[j - 1] && k < topKeys[j - 1]))) {
        topKeys[j] = topKeys[j - 1];
        topCounts[j] = topCounts[j - 1];
        j--;
      }
      topKeys[j] = k;
      topCounts[j] = c;
    }
    touchedN = 0;
    slideRecords = 0;
    return m;
  }

  return {
    name: 'saspartitioner-adaptive',
    numWorkers: n,
    splitsKeys: n > 1,
    routers,
    guard,
    arms,
    get active() {
      return active;
    },
    usesCost: params.weighByCost,
    route(key: number, cost?: number): number {
      slideRecords++;
      if (key < counts.length) {
        if (counts[key] === 0) touched[touchedN++] = key;
        const c = ++counts[key];
        // Interim hot key: the same rule as saspartitioner's (there on the sketch's guaranteed count).
        if (params.interimHot && slideRecords >= 2 * n && c * n > slideRecords && router.slotOfKey(key) < 0) return router.routeInterim(key, cost);
      }
      return router.route(key, cost);
    },
    onSlide(report: SlideReport): void {
      window.push(report);
      const m = exactTop();
      const prev = active;
      if (m > 0) context = nearestModel(topCounts.subarray(0, m), alphas);
      // Without a guard the α-match routes (SaS); with one it credits the slide routed and picks an arm.
      let arm = firstArm[context];
      if (guard) {
        guard.observe(report);
        if (window.ready) arm = guard.decide(context, firstArm[context]);
        else guard.hold();
      }
      active = arms[arm].model;
      const pol = pols[active];
      let action: Float32Array | undefined;
      if (pol && window.ready) {
        steps++;
        action = pol.step(window.observation(obs), window.reward(params.rewardBase), window.info(), steps % params.episodeLength === 0);
      }
      // A model that was idle takes over the slide its predecessor routed, so its prior starts from that slide's loads.
      if (active !== prev) routers[active].adoptSlide(routers[prev]);
      const changed = tables[active].apply({ keys: topKeys, counts: topCounts, size: m }, action, pol !== undefined && arms[arm].kind === 'prior');
      router = routers[active];
      if (changed || prev !== active) version++;
    },
    stats: () => {
      const g = guardStats();
      return { hotKeys: router.hotKeyCount(), tableVersion: version, ...(g ? { guard: g } : {}) };
    },
  };
}
