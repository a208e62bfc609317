// CQL-N: SAC-N plus the conservative critic term and a behaviour-cloning warm-up, trained from a fixed dataset.
import { tf } from './backend.js';
import type { AgentConfig } from './config.js';
import { SacAgent, type AgentDims, type BatchTensors, type CriticPenalty, type SacMetrics } from './sac.js';
import type { OfflineDataset } from './dataset.js';
import { DataError } from '../common/errors.js';

/**
 * A CQL-N agent (research/saspartitioner.md §2.1, §2.6): SAC-N whose critic loss adds, per ensemble
 * member, minQWeight·(T·logsumexp(Q(s, a_i)/T) − mean Q(s, a_data)), the logsumexp taken over
 * numActions actions from each of three sources: uniform on [0, 1]^A (log-density 0), π(·|s) and
 * π(·|s') (minus their detached log π, the importance correction). For the first `cql.bcIters`
 * gradient steps the actor is trained by behaviour cloning: mean(α·log π(ã|s) − log π(a_data|s)).
 */
export class CqlAgent extends SacAgent {
  constructor(config: AgentConfig, dims: AgentDims) {
    super(config, dims);
  }

  /** The conservative term; policy samples are drawn here, outside the critic's gradient tape. */
  protected override criticPenalty(b: BatchTensors): CriticPenalty | undefined {
    const { numActions: k, temperature: t, minQWeight: w } = this.config.cql;
    if (w === 0) return undefined;
    const n = b.size;
    const ad = this.dims.actionDim;
    // State-major samples: row i·k + j is the j-th sample for state i (one actor pass per state).
    const uniform = tf.randomUniform([n * k, ad], 0, 1, 'float32', this.rng.nextU32());
    const cur = this.actor.sampleMany(b.obs, k, this.rng.nextU32());
    const nxt = this.actor.sampleMany(b.nextObs, k, this.rng.nextU32());
    // Per state, 3k actions [uniform; π(s); π(s')], all evaluated at s, with their log-densities.
    const perState = (x: tf.Tensor, width: number): tf.Tensor => tf.reshape(x, [n, k, width]);
    const actions = tf.reshape(tf.concat([perState(uniform, ad), perState(cur.action, ad), perState(nxt.action, ad)], 1), [n * 3 * k, ad]) as tf.Tensor2D;
    const correction = tf.concat([tf.zeros([n, k]), tf.reshape(cur.logp, [n, k]), tf.reshape(nxt.logp, [n, k])], 1); // [B, 3k]
    return () => {
      const members = this.config.ensembleSize;
      const q = tf.sub(tf.reshape(this.critic.qRepeated(b.obs, actions, 3 * k, false), [members, n, 3 * k]), correction);
      const lse = tf.mul(tf.logSumExp(tf.div(q, t), 2), t); // [N, B]
      const qData = this.critic.q(b.obs, b.actions, false); // [N, B]
      const gap = tf.sub(tf.mean(lse, 1), tf.mean(qData, 1)); // [N]
      const loss = tf.mul(tf.sum(gap), w) as tf.Scalar;
      return { loss, metrics: { cql_loss: loss, cql_logsumexp: tf.mean(lse) as tf.Scalar } };
    };
  }

  /** Behaviour cloning while updates < bcIters, the SAC actor loss afterwards. */
  protected override actorLoss(b: BatchTensors, alpha: tf.Scalar, s: { action: tf.Tensor2D; logp: tf.Tensor1D }): tf.Scalar {
    if (this.updates < this.config.cql.bcIters) {
      return tf.mean(tf.sub(tf.mul(alpha, s.logp), this.actor.logProb(b.obs, b.actions))) as tf.Scalar;
    }
    return super.actorLoss(b, alpha, s);
  }

  /** Adds `bc` = 1 while the step used behaviour cloning. */
  protected override decorateMetrics(m: SacMetrics): SacMetrics {
    m.bc = this.updates <= this.config.cql.bcIters ? 1 : 0;
    return m;
  }
}

/** Progress of an offline run, reported every `progressEvery` steps and at the end. */
export interface OfflineProgress {
  readonly step: number;
  readonly total: number;
  readonly metrics: SacMetrics;
}

/** Options of `trainOffline`. */
export interface OfflineOptions {
  /** Gradient steps to run (default: config.offlineSteps). */
  readonly gradientSteps?: number;
  /** Called every `progressEvery` steps (default 50) and after the last step. */
  readonly onProgress?: (p: OfflineProgress) => void;
  readonly progressEvery?: number;
  /** Stops early (after the current step) when aborted. */
  readonly signal?: AbortSignal;
  /** Continue training this agent instead of a new one (its dims must match the dataset). */
  readonly agent?: CqlAgent;
}

/** Result of `trainOffline`: the trained agent and the metrics of each reported step. */
export interface OfflineResult {
  readonly agent: CqlAgent;
  readonly steps: number;
  readonly history: OfflineProgress[];
}

/**
 * Trains CQL-N on a dataset (research/saspartitioner.md §2.8): loads every transition into a uniform
 * replay buffer sized to the dataset, then runs `gradientSteps` updates of batch `config.batchSize`.
 * Yields to the event loop between progress reports so that a progress bar or a signal can run.
 */
export async function trainOffline(dataset: OfflineDataset, config: AgentConfig, opts: OfflineOptions = {}): Promise<OfflineResult> {
  const m = dataset.manifest;
  const total = opts.gradientSteps ?? config.offlineSteps;
  const every = Math.max(1, opts.progressEvery ?? 50);
  const cfg: AgentConfig = { ...config, bufferSize: Math.max(1, m.count), replay: { ...config.replay, prioritized: false } };
  const agent = opts.agent ?? new CqlAgent(cfg, { obsDim: m.obsDim, actionDim: m.actionDim });
  if (agent.dims.obsDim !== m.obsDim || agent.dims.actionDim !== m.actionDim) {
    throw new DataError(`dataset dims (obs ${m.obsDim}, action ${m.actionDim}) do not match the agent (${agent.dims.obsDim}, ${agent.dims.actionDim})`, {
      field: 'manifest.obsDim',
    });
  }
  for (let i = 0; i < m.count; i++) agent.replay.add(transitionAt(dataset, i));
  const history: OfflineProgress[] = [];
  let step = 0;
  while (step < total && !opts.signal?.aborted) {
    const metrics = agent.update();
    step++;
    if (step % every === 0 || step === total) {
      const p = { step, total, metrics };
      history.push(p);
      opts.onProgress?.(p);
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  return { agent, steps: step, history };
}

/** Transition `i` of a dataset, as views into its arrays (no copy). */
export function transitionAt(d: OfflineDataset, i: number): { obs: Float32Array; action: Float32Array; reward: number; nextObs: Float32Array; done: boolean } {
  const { obsDim: od, actionDim: ad } = d.manifest;
  return {
    obs: d.obs.subarray(i * od, (i + 1) * od),
    action: d.actions.subarray(i * ad, (i + 1) * ad),
    reward: d.rewards[i],
    nextObs: d.nextObs.subarray(i * od, (i + 1) * od),
    done: d.dones[i] === 1,
  };
}
