// The agent's one typed config (SAC-N, CQL-N, replay), with presets whose defaults cite the reference.
import { z } from 'zod';
import { parseOrThrow } from '../common/validate.js';

/**
 * Agent hyper-parameters. Field defaults are the from-scratch SAC-N preset; `PRESETS` overrides some
 * of them for offline CQL-N and for online fine-tuning. "§" refers to research/saspartitioner.md.
 */
export const agentConfigSchema = z
  .object({
    /** Discount γ. Reference `gamma` 0.99 (§2.7). */
    gamma: z.number().min(0).max(1).default(0.99),
    /** Minibatch size of one gradient step. Reference `train_batch_size` 128 (§2.7). */
    batchSize: z.number().int().min(1).default(128),
    /** Actor Adam learning rate. Reference `actor_lr` 1e-5 (§2.7, same in every preset). */
    actorLr: z.number().positive().default(1e-5),
    /** Critic Adam learning rate. Reference `Config.critic_lr` 1e-3; offline preset 1e-5 (§2.7). */
    criticLr: z.number().positive().default(1e-3),
    /** Temperature (α) Adam learning rate. Reference `alpha_lr` 1e-3 (§2.7). */
    alphaLr: z.number().positive().default(1e-3),
    /** Soft target update rate τ. Reference `Config.tau` 5e-4; offline and fine-tune presets 1e-5 (§2.7). */
    tau: z.number().positive().max(1).default(5e-4),
    /** Initial α. Reference `initial_alpha` 1e-2; fine-tune preset 0.002 (§2.7). */
    initialAlpha: z.number().positive().default(1e-2),
    /** Target entropy of the α tuning; 'auto' = −A. Reference: RLlib 'auto' = −A (−73 for P = 64, §2.6). */
    targetEntropy: z.union([z.literal('auto'), z.number()]).default('auto'),
    /** Critics in the Q ensemble (min over them). Reference `ensemble_size` 2 (§2.7). */
    ensembleSize: z.number().int().min(1).max(16).default(2),
    /** Hidden layer widths of actor and critics. RLlib default fcnet_hiddens [256, 256] (§2.6, inference). */
    hidden: z.array(z.number().int().min(1).max(4096)).min(1).max(8).default([256, 256]),
    /** Hidden activation. RLlib default fcnet_activation tanh (§2.6, inference). */
    activation: z.enum(['tanh', 'relu']).default('tanh'),
    /** Clip range of the actor's log-std output. CleanRL sac_continuous_action (LOG_STD_MIN −5, MAX 2); our choice over RLlib's wider clip. */
    logStdMin: z.number().default(-5),
    logStdMax: z.number().default(2),
    /** Huber δ of the critic loss. Reference: Huber with δ = 1 (§2.6). */
    huberDelta: z.number().positive().default(1),
    /** Replay capacity in transitions. Reference `PrioritizedEpisodeReplayBuffer` capacity 100k (§2.6). */
    bufferSize: z.number().int().min(1).default(100_000),
    /** Transitions collected before the first update. Reference 100 (0 when a checkpoint is loaded, §2.7). */
    learningStarts: z.number().int().min(0).default(100),
    /** Gradient updates per env step. Reference training_intensity 128 with batch 128 ≈ 1 (§2.7). */
    trainingIntensity: z.number().positive().max(64).default(1),
    /** Replay sampling. Reference: prioritized (§2.6); α 0.6, β 0.4, ε 1e-6 are RLlib's defaults. */
    replay: z
      .object({
        prioritized: z.boolean().default(true),
        alpha: z.number().min(0).default(0.6),
        beta: z.number().min(0).max(1).default(0.4),
        eps: z.number().positive().default(1e-6),
      })
      .strict()
      .default({ prioritized: true, alpha: 0.6, beta: 0.4, eps: 1e-6 }),
    /** CQL-N terms, used by offline training only (§2.6). */
    cql: z
      .object({
        /** Sampled actions per state per source (uniform, π(s), π(s')). RLlib CQL default 10 (§2.7, inference). */
        numActions: z.number().int().min(1).default(10),
        /** Temperature T of the logsumexp. Reference `cql_temperature` 1.0 (§2.7). */
        temperature: z.number().positive().default(1),
        /** Weight of the conservative term. Reference `cql_min_q_weight` 0.05 (§2.7). */
        minQWeight: z.number().min(0).default(0.05),
        /** Gradient steps of behaviour cloning before the SAC actor loss. Missing in the reference config (§2.7, §7.9); our choice (≈8% of offlineSteps). */
        bcIters: z.number().int().min(0).default(100),
      })
      .strict()
      .default({ numActions: 10, temperature: 1, minQWeight: 0.05, bcIters: 100 }),
    /** Gradient steps of one offline (CQL-N) run. Reference offline `num_iters` is missing (§2.7); our choice, sized so that a P = 64 run fits 15 minutes on 2 cores (≈0.5–0.65 s per step measured, docs/rl-agent.md). */
    offlineSteps: z.number().int().min(0).default(1200),
    /**
     * Ours (not in SaS): weight λ of a pull of the actor's mean action towards 0.5, added to the actor
     * loss as λ · mean over the batch of Σ_j (mode_j(s) − 0.5)². In residual action mode 0.5 is the
     * water-filling prior, so the policy only departs from it where the critics say it pays
     * (cf. TD3+BC's pull towards the data). Default 0 (off; the reference has no such term).
     */
    actionReg: z.number().min(0).default(0),
    /** Seed of weight init, action sampling and replay sampling. */
    seed: z.number().int().default(0),
  })
  .strict();

/** Validated agent config. */
export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** Input form of the config: every field optional (nested objects too). */
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

/** Names of the presets. */
export type PresetName = 'sac' | 'offline' | 'offline-fast' | 'finetune';

/**
 * Overrides per preset (§2.7): `sac` = `Config` (from scratch); `offline` = `RemoteOfflineConfig`
 * (critic lr 1e-5, τ 1e-5, uniform sampling of the fixed dataset, no warm-up), faithful but made for
 * ~10⁵ gradient steps; `offline-fast` = our choice for a 15-minute budget (≈1200 steps): critic lr
 * 3e-4 (CORL's CQL qf_lr), actor lr 1e-4, τ 5e-3 (CORL's soft_target_update_rate), so that the
 * critics and targets move within the budget; `finetune` = `RemoteOnlineConfig` (τ 1e-5, α 0.002,
 * learning starts 0 because a checkpoint is loaded).
 */
export const PRESETS: Readonly<Record<PresetName, AgentConfigInput>> = {
  sac: {},
  offline: { criticLr: 1e-5, tau: 1e-5, learningStarts: 0, replay: { prioritized: false } },
  'offline-fast': { criticLr: 3e-4, actorLr: 1e-4, tau: 5e-3, learningStarts: 0, replay: { prioritized: false } },
  finetune: { tau: 1e-5, initialAlpha: 0.002, learningStarts: 0 },
};

/**
 * Resolves a config: preset overrides, then the user's `overrides` (e.g. parsed from YAML), then
 * validation. Nested objects (`replay`, `cql`) merge field by field. Throws ConfigError naming the
 * field (prefixed by `prefix`).
 */
export function resolveAgentConfig(preset: PresetName = 'sac', overrides: unknown = {}, prefix = 'agent'): AgentConfig {
  const base = PRESETS[preset] as Record<string, unknown>;
  const user = (overrides ?? {}) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base, ...user };
  for (const k of ['replay', 'cql']) {
    const b = base[k];
    const u = user[k];
    if (isObject(b) || isObject(u)) merged[k] = { ...(isObject(b) ? b : {}), ...(isObject(u) ? u : {}) };
    if (u !== undefined && !isObject(u)) merged[k] = u; // let zod report the wrong type
  }
  return parseOrThrow(agentConfigSchema, merged, prefix);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Target entropy actually used: the configured number, or −actionDim for 'auto'. */
export function targetEntropyOf(config: AgentConfig, actionDim: number): number {
  return config.targetEntropy === 'auto' ? -actionDim : config.targetEntropy;
}
