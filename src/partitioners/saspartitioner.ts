// SaSPartitioner: hot keys from a top-k detector, a masked routing table from a learned policy, deficit routing.
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import type { SlideReport } from '../common/metrics.js';
import { DEFAULT_REWARD_BASE } from '../rl-agent/env-math.js';
import { maskFromFrequencies, validateMask, zipfTopProbabilities, type Mask } from '../rl-agent/mask.js';
import { MetricWindow } from '../rl-agent/metric-window.js';
import { LearnedRouter } from './learned/router.js';
import { preparedPolicy, type LearnedPolicy } from './learned/policy.js';
import { DEFAULT_CHECKPOINT, peekCheckpoint, resolveCheckpoint } from './learned/paths.js';
import { hashSeedField } from './shared/params.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** Parameters of `saspartitioner` (docs/learned.md lists each with its source). */
export const sasPartitionerParams = z
  .strictObject({
    /** Hot-key rank slots tracked by the top-k detector. Default 10 (SaS `num_hot_keys`). */
    numHotKeys: z.number().int().min(1).max(4096).default(10),
    /** True hot keys (mask ranges) when the mask does not come from a checkpoint. Default 10 (SaS `num_true_hot_keys`). */
    numTrueHotKeys: z.number().int().min(1).max(4096).default(10),
    /** Zipf exponent of the assumed distribution the mask is built from when no checkpoint gives one. Default 1.5. */
    zipfExponent: z.number().min(0).default(1.5),
    /** Checkpoint: `default` (shipped checkpoints/default), `none` (uniform table), or a directory. Default `default`. */
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
    /** SpaceSaving counters of the top-k detector (≥ numHotKeys). Default 100. */
    sketchCapacity: z.number().int().min(1).default(100),
    /** Murmur seed of the cold route. Default 38324 (= `hash`). */
    seed: hashSeedField,
  })
  .refine((p) => p.sketchCapacity >= p.numHotKeys, { message: 'must be ≥ numHotKeys', path: ['sketchCapacity'] })
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
}

/** The registry id of the policy a params set refers to (what `preloadLearnedPolicies` registers). */
export function policyIdOf(p: Pick<SasPartitionerParams, 'policy' | 'mode' | 'checkpoint' | 'url' | 'learn'>): string | undefined {
  if (p.policy) return p.policy;
  if (p.mode === 'remote') return `remote:${p.url}`;
  const dir = resolveCheckpoint(p.checkpoint);
  return dir ? `inline${p.learn ? '+learn' : ''}:${dir}` : undefined;
}

/**
 * The mask of a job: the policy's, else the checkpoint manifest's (if it was made for P workers),
 * else the SaS heuristic over Zipf(`zipfExponent`) top-`numTrueHotKeys` frequencies (§3.2).
 */
export function maskFor(numWorkers: number, p: Pick<SasPartitionerParams, 'numTrueHotKeys' | 'zipfExponent' | 'checkpoint'>, policy?: LearnedPolicy): Mask {
  if (policy) return validateMask(policy.mask, numWorkers, 'partitioner.params.checkpoint.mask');
  const peek = peekCheckpoint(resolveCheckpoint(p.checkpoint));
  if (peek?.mask && peek.numWorkers === numWorkers) return validateMask(peek.mask, numWorkers, 'partitioner.params.checkpoint.mask');
  return maskFromFrequencies(zipfTopProbabilities(p.zipfExponent, p.numTrueHotKeys), numWorkers);
}

/**
 * Creates `saspartitioner` (research/saspartitioner.md §2.3, §3). `policy` (optional) is used as is;
 * otherwise the policy registered under `policyIdOf(params)` is looked up. Without one, the table is
 * uniform over each hot key's mask range (the reference's initial table) and never changes — the
 * slots still follow the detector. Once per slide `onSlide` pushes the report into the metric
 * window, re-ranks hot keys by the slide's top-k counts, asks the policy (when the window is full)
 * and swaps slots and table atomically; `tableVersion` bumps at most once per slide.
 */
export function createSasPartitioner(ctx: PartitionerContext, params: SasPartitionerParams, policy?: LearnedPolicy): SasPartitioner {
  const n = ctx.numWorkers;
  const id = policyIdOf(params);
  const pol = policy ?? (id !== undefined ? preparedPolicy(id) : undefined);
  if (params.policy && !pol) {
    throw new ConfigError(`partitioner.params.policy: no policy "${params.policy}" was prepared`, { field: 'partitioner.params.policy', got: params.policy });
  }
  const mask = maskFor(n, params, pol);
  if (mask.length > params.numHotKeys) {
    throw new ConfigError(`partitioner.params.numHotKeys: the mask has ${mask.length} hot keys, numHotKeys is ${params.numHotKeys}`, { field: 'partitioner.params.numHotKeys', got: params.numHotKeys });
  }
  const router = new LearnedRouter({ numWorkers: n, numKeys: ctx.numKeys, numHotKeys: params.numHotKeys, mask, sketchCapacity: params.sketchCapacity, hashSeed: params.seed });
  if (pol && pol.actionDim !== router.actionDim) {
    throw new ConfigError(`partitioner.params.checkpoint: policy action dim ${pol.actionDim} does not match the mask (${router.actionDim})`, { field: 'partitioner.params.checkpoint' });
  }
  const window = new MetricWindow(n, params.metricWindowSlides);
  const obs = new Float32Array(2 * n);
  let steps = 0;
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
    route: (key: number): number => router.route(key),
    onSlide(report: SlideReport): void {
      window.push(report);
      const top = router.detectTop();
      let action: Float32Array | undefined;
      if (pol && window.ready) {
        steps++;
        action = pol.step(window.observation(obs), window.reward(params.rewardBase), window.info(), steps % params.episodeLength === 0);
      }
      router.swap(top.keys, top.size, top.counts, action);
    },
    stats: () => ({ hotKeys: router.hotKeyCount(), tableVersion: router.version }),
  };
}
