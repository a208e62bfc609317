// SaSPartitioner: hot keys from a top-k detector, a masked routing table from a learned policy, deficit routing.
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import type { PartitionerGuardMetrics, SlideReport } from '../common/metrics.js';
import { DEFAULT_REWARD_BASE } from '../rl-agent/env-math.js';
import { maskFromFrequencies, validateMask, zipfTopProbabilities, type Mask } from '../rl-agent/mask.js';
import { MetricWindow } from '../rl-agent/metric-window.js';
import { LearnedRouter } from './learned/learned-router.js';
import { DEFAULT_RESIDUAL_SCALE, type ActionMode } from './learned/prior.js';
import { SlideTable } from './learned/slide-table.js';
import { guardParam, resolveGuard, RewardGuard } from './learned/guard.js';
import { preparedPolicy, type LearnedPolicy } from './learned/policy.js';
import { DEFAULT_CHECKPOINT, PRIOR_CHECKPOINT, peekCheckpoint, resolveCheckpoint } from './learned/paths.js';
import { hashSeedField } from './shared/params.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `saspartitioner` (docs/learned.md lists each with its source). */
export const sasPartitionerParams = z
  .strictObject({
    /** Hot-key rank slots tracked by the top-k detector. Default max(10 (SaS `num_hot_keys`), the mask's keys). */
    numHotKeys: z.number().int().min(1).max(4096).optional(),
    /** True hot keys (mask ranges) when the mask does not come from a checkpoint. Default 10 (SaS `num_true_hot_keys`). */
    numTrueHotKeys: z.number().int().min(1).max(4096).default(10),
    /** Ours: widen each heuristic mask range to at least this many workers (no effect on a checkpoint's mask). Default 1 (SaS). */
    maskMinWidth: z.number().int().min(1).max(4096).default(1),
    /** Zipf exponent of the assumed distribution the mask is built from when no checkpoint gives one. Default 1.5. */
    zipfExponent: z.number().min(0).default(1.5),
    /**
     * Checkpoint: `default` (shipped checkpoints/default), `prior` (its mask and mode, no policy: the
     * prior alone), `none` (uniform table), or a directory. Default `default`.
     */
    checkpoint: z.string().min(1).default(DEFAULT_CHECKPOINT),
    /** Id of a policy registered with registerPolicy (overrides the checkpoint lookup). */
    policy: z.string().min(1).optional(),
    /** inline: policy in this process (virtual clock, evaluation, inline learning); remote: agent server over websocket. Default inline. */
    mode: z.enum(['inline', 'remote']).default('inline'),
    /** Agent server URL (remote mode), e.g. ws://127.0.0.1:49985. */
    url: z.string().regex(/^wss?:\/\//, 'expected ws://host:port').optional(),
    /** Shared secret of the agent server (remote mode). */
    token: z.string().min(8).optional(),
    /** Inline mode: fine-tune the policy online (observe + gradient steps every slide). Default false (deterministic inference). */
    learn: z.boolean().default(false),
    /** Fixed reward base (SaS `initial_perf`). Default 0.6. */
    rewardBase: z.number().positive().default(DEFAULT_REWARD_BASE),
    /** Slides in the metric window the observation and reward average over. Default 1. */
    metricWindowSlides: z.number().int().min(1).max(64).default(1),
    /** Steps per episode (done flag). Default 128 (SaS `max_steps`). */
    episodeLength: z.number().int().min(1).default(128),
    /** SpaceSaving counters of the top-k detector (≥ numHotKeys). Default max(100, 10 · numHotKeys). */
    sketchCapacity: z.number().int().min(1).optional(),
    /** Murmur seed of the cold route. Default 38324 (= `hash`). */
    seed: hashSeedField,
    /**
     * How the action becomes the table: `direct` (SaSPartitioner: the action's weights normalised per
     * key) or `residual` (ours: a water-filling prior from the measured loads, corrected by the action).
     * Default: the checkpoint's, else `direct`. A value that contradicts the checkpoint is an error.
     */
    actionMode: z.enum(['direct', 'residual']).optional(),
    /** Residual mode: largest correction, in uniform shares of the key's range (default: the checkpoint's, else 0.5). */
    residualScale: z.number().min(0).max(16).optional(),
    /** Residual mode: weight of the newest slide in the exponential average of the per-worker cold load (1 = none). Default 0.3 (measured, docs/learned.md). */
    priorSmoothing: z.number().gt(0).max(1).default(0.3),
    /**
     * How a true hot key's record picks among its allowed workers: `key-deficit` (SaSPartitioner: the
     * largest deficit of the key's own shares) or `load-deficit` (ours: the largest deficit of the
     * worker's total load this slide against its target, cold forecast + hot shares). Default
     * `load-deficit` (measured, docs/learned.md).
     */
    hotRule: z.enum(['key-deficit', 'load-deficit']).default('load-deficit'),
    /**
     * Ours: weigh each record by its cost (the task's cost units, which the engines pass) in the
     * deficits, so hot keys balance work instead of record counts. Without a cost (the Kafka adapter)
     * a record counts 1. Default true (measured, docs/learned.md).
     */
    weighByCost: z.boolean().default(true),
    /**
     * Ours: a cold key that takes more than 1/P of the current slide's records (a new hot key after a
     * distribution shift) goes to the least-loaded worker until the next slide makes it a hot key,
     * instead of to its hash for the rest of the slide. Default true (measured, docs/learned.md).
     */
    interimHot: z.boolean().default(true),
    /**
     * Ours: the reward guard (learned/guard.ts, docs/learned.md "The guard"): probe slides routed by the
     * water-filling prior alone measure the policy's reward against the prior's, and the prior routes
     * while the policy is measurably worse. `true` / `false` / `{ probeEvery, maxProbeEvery, margin,
     * minSamples, smoothing }`. Default: on with a policy that neither learns (`learn`) nor is remote.
     */
    guard: guardParam,
  })
  .refine((p) => p.sketchCapacity === undefined || p.sketchCapacity >= (p.numHotKeys ?? 10), { message: 'must be ≥ numHotKeys', path: ['sketchCapacity'] })
  .refine((p) => p.mode !== 'remote' || (p.url !== undefined && p.token !== undefined), { message: 'remote mode needs url and token', path: ['url'] });

/** Validated parameters of `saspartitioner`. */
export type SasPartitionerParams = z.infer<typeof sasPartitionerParams>;

/** `saspartitioner` with what the training commands and tests read. */
export interface SasPartitioner extends Partitioner {
  readonly router: LearnedRouter;
  readonly mask: Mask;
  /** The policy in use, or undefined (uniform table over the mask). */
  readonly policy: LearnedPolicy | undefined;
  /** Policy steps taken (slides with a full metric window). */
  readonly steps: number;
  /** The action mode in use. */
  readonly actionMode: ActionMode;
  /** Residual mode's correction scale. */
  readonly residualScale: number;
  /** The reward guard (arm 0 = the policy, arm 1 = the prior alone), or undefined when it is off. */
  readonly guard: RewardGuard | undefined;
}

/** saspartitioner's guard arms. */
const POLICY_ARM = 0;
const PRIOR_ARM = 1;

/** Hot-key slots of a job: `numHotKeys`, else max(10, the mask's keys) (a checkpoint may track more than SaS's 10). */
export function hotSlotsFor(p: Pick<SasPartitionerParams, 'numHotKeys'>, mask: Mask): number {
  return p.numHotKeys ?? Math.max(10, mask.length);
}

/** The action mode and residual scale of a job: params, else the policy's / checkpoint's, else direct. */
export function actionModeFor(numWorkers: number, p: Pick<SasPartitionerParams, 'actionMode' | 'residualScale' | 'checkpoint'>, policy?: LearnedPolicy): { mode: ActionMode; scale: number } {
  let trained: ActionMode | undefined;
  let trainedScale: number | undefined;
  if (policy) {
    // a remote policy may not know its mode (undefined: the params decide)
    trained = policy.actionMode;
    trainedScale = policy.residualScale;
  } else {
    const c = peekCheckpoint(resolveCheckpoint(p.checkpoint));
    // a checkpoint made for another P is not used (uniform table / prior), so its mode does not bind
    if (c?.actionDim !== undefined && (c.numWorkers === undefined || c.numWorkers === numWorkers)) {
      trained = c.actionMode ?? 'direct';
      trainedScale = c.residualScale;
    }
  }
  if (p.actionMode !== undefined && trained !== undefined && p.actionMode !== trained) {
    throw new ConfigError(`partitioner.params.actionMode: the checkpoint was trained for "${trained}", got "${p.actionMode}"`, { field: 'partitioner.params.actionMode', got: p.actionMode });
  }
  return { mode: p.actionMode ?? trained ?? 'direct', scale: p.residualScale ?? trainedScale ?? DEFAULT_RESIDUAL_SCALE };
}

/** The registry id of the policy a params set refers to (what `preloadLearnedPolicies` registers). */
export function policyIdOf(p: Pick<SasPartitionerParams, 'policy' | 'mode' | 'checkpoint' | 'url' | 'learn'>): string | undefined {
  if (p.policy) return p.policy;
  if (p.mode === 'remote') return `remote:${p.url}`;
  if (p.checkpoint === PRIOR_CHECKPOINT) return undefined; // the prior alone: no policy
  const dir = resolveCheckpoint(p.checkpoint);
  return dir ? `inline${p.learn ? '+learn' : ''}:${dir}` : undefined;
}

/**
 * The mask of a job: the policy's, else the checkpoint manifest's (if it was made for P workers),
 * else the SaS heuristic over Zipf(`zipfExponent`) top-`numTrueHotKeys` frequencies (§3.2).
 */
export function maskFor(numWorkers: number, p: Pick<SasPartitionerParams, 'numTrueHotKeys' | 'zipfExponent' | 'checkpoint' | 'maskMinWidth'>, policy?: LearnedPolicy): Mask {
  if (policy) return validateMask(policy.mask, numWorkers, 'partitioner.params.checkpoint.mask');
  const peek = peekCheckpoint(resolveCheckpoint(p.checkpoint));
  if (peek?.mask && peek.numWorkers === numWorkers) return validateMask(peek.mask, numWorkers, 'partitioner.params.checkpoint.mask');
  return maskFromFrequencies(zipfTopProbabilities(p.zipfExponent, p.numTrueHotKeys), numWorkers, { minWidth: p.maskMinWidth });
}

/**
 * Creates `saspartitioner` (research/saspartitioner.md §2.3, §3). `policy` (optional) is used as is;
 * otherwise the policy registered under `policyIdOf(params)` is looked up. Without one, the table is
 * uniform over each hot key's mask range (the reference's initial table) and never changes — the
 * slots still follow the detector. Once per slide `onSlide` pushes the report into the metric
 * window, re-ranks hot keys by the slide's top-k counts, asks the policy (when the window is full)
 * and swaps slots and table atomically; `tableVersion` bumps at most once per slide. With a policy
 * that neither learns nor is remote, the reward guard (ours, `guard`, learned/guard.ts) routes some
 * slides by the water-filling prior alone and all of them while the policy measures worse.
 */
export function createSasPartitioner(ctx: PartitionerContext, params: SasPartitionerParams, policy?: LearnedPolicy): SasPartitioner {
  const n = ctx.numWorkers;
  const id = policyIdOf(params);
  const pol = policy ?? (id !== undefined ? preparedPolicy(id) : undefined);
  if (params.policy && !pol) {
    throw new ConfigError(`partitioner.params.policy: no policy "${params.policy}" was prepared`, { field: 'partitioner.params.policy', got: params.policy });
  }
  const mask = maskFor(n, params, pol);
  const H = hotSlotsFor(params, mask);
  if (mask.length > H) {
    throw new ConfigError(`partitioner.params.numHotKeys: the mask has ${mask.length} hot keys, numHotKeys is ${H}`, { field: 'partitioner.params.numHotKeys', got: H });
  }
  const router = new LearnedRouter({ numWorkers: n, numKeys: ctx.numKeys, numHotKeys: H, mask, sketchCapacity: params.sketchCapacity ?? Math.max(100, 10 * H), hashSeed: params.seed, hotRule: params.hotRule, interimHot: params.interimHot });
  if (pol && pol.actionDim !== router.actionDim) {
    throw new ConfigError(`partitioner.params.checkpoint: policy action dim ${pol.actionDim} does not match the mask (${router.actionDim})`, { field: 'partitioner.params.checkpoint' });
  }
  const window = new MetricWindow(n, params.metricWindowSlides);
  const obs = new Float32Array(2 * n);
  let steps = 0;
  const { mode, scale } = actionModeFor(n, params, pol);
  const guardOpts = resolveGuard(params.guard, { hasArms: pol !== undefined, learning: (pol?.learning ?? false) || params.learn, remote: params.mode === 'remote' });
  const guard = guardOpts ? new RewardGuard(2, 1, n, params.rewardBase, guardOpts) : undefined;
  const slideTable = new SlideTable(router, mask, mode, scale, params.priorSmoothing, guard !== undefined);
  const guardStats = (): PartitionerGuardMetrics | undefined => {
    if (!guard) return undefined;
    const g = guard.snapshot();
    const kind = (a: number) => (a === PRIOR_ARM ? 'prior' : 'policy');
    const held = g.current < 0 ? POLICY_ARM : g.current;
    return {
      state: kind(held),
      routing: kind(g.routing < 0 ? POLICY_ARM : g.routing),
      model: 0,
      routingModel: 0,
      policyReward: g.rewards[POLICY_ARM],
      priorReward: g.rewards[PRIOR_ARM],
      ratio: g.ratios[POLICY_ARM] / g.ratios[PRIOR_ARM],
    };
  };
  return {
    name: 'saspartitioner',
    numWorkers: n,
    splitsKeys: n > 1,
    router,
    mask,
    policy: pol,
    get steps() {
      return steps;
    },
    usesCost: params.weighByCost,
    route: (key: number, cost?: number): number => router.route(key, cost),
    get actionMode() {
      return mode;
    },
    residualScale: scale,
    guard,
    onSlide(report: SlideReport): void {
      window.push(report);
      const top = router.detectTop();
      let action: Float32Array | undefined;
      if (pol && window.ready) {
        steps++;
        action = pol.step(window.observation(obs), window.reward(params.rewardBase), window.info(), steps % params.episodeLength === 0);
      }
      // The guard credits the slide just routed to the arm that routed it, then picks the next slide's arm.
      let arm = POLICY_ARM;
      if (guard) {
        guard.observe(report);
        if (window.ready) arm = guard.decide(0, POLICY_ARM);
        else guard.hold();
      }
      slideTable.apply(top, action, arm === PRIOR_ARM);
    },
    stats: () => {
      const g = guardStats();
      return { hotKeys: router.hotKeyCount(), tableVersion: router.version, ...(g ? { guard: g } : {}) };
    },
  };
}
