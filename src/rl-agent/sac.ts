// SAC-N: squashed-Gaussian actor, min over an ensemble of critics, Huber TD loss, auto-tuned α, soft targets.
import { tf } from './backend.js';
import { Rng } from '../common/rng.js';
import { DataError } from '../common/errors.js';
import { targetEntropyOf, type AgentConfig } from './config.js';
import { CriticEnsemble, SquashedGaussianActor, uniqueVariableName } from './networks.js';
import { ReplayBuffer, type Batch, type Transition } from './replay.js';

/** Observation and action sizes of an agent: obs = 2P, action = Σ mask range sizes. */
export interface AgentDims {
  readonly obsDim: number;
  readonly actionDim: number;
}

/**
 * Metrics of one gradient step (documented in docs/rl-agent.md). Values are plain numbers read once
 * per update.
 */
export interface SacMetrics {
  /** Σ over critics of the importance-weighted Huber TD loss (plus the CQL term offline). */
  critic_loss: number;
  /** Actor loss: mean(α·log π − min Q), or the behaviour-cloning loss during warm-up. */
  actor_loss: number;
  /** Temperature loss −mean(log α·(log π + target entropy)). */
  alpha_loss: number;
  /** α after this step. */
  alpha: number;
  /** Mean Q(s, a_data) over critics and batch. */
  q_mean: number;
  /** Mean TD target r + γ(1−d)(min Q̄(s', a') − α log π(a'|s')). */
  target_q_mean: number;
  /** Mean log π(a|s) of fresh policy samples (−entropy estimate). */
  log_pi_mean: number;
  /** Mean over critics and batch of |Q − target| (the priorities of prioritized replay). */
  td_error_mean: number;
  /** Extra terms of subclasses (CQL adds cql_loss, cql_logsumexp, bc). */
  [extra: string]: number;
}

/** Minibatch tensors handed to the loss hooks. */
export interface BatchTensors {
  readonly size: number;
  readonly obs: tf.Tensor2D;
  readonly actions: tf.Tensor2D;
  readonly rewards: tf.Tensor1D;
  readonly nextObs: tf.Tensor2D;
  readonly dones: tf.Tensor1D;
  readonly weights: tf.Tensor1D;
}

/** An extra critic term, prepared outside and evaluated inside the critic's gradient tape. */
export type CriticPenalty = () => { loss: tf.Scalar; metrics: Record<string, tf.Scalar> };

/** Options of `act`. */
export interface ActOptions {
  /** true: the mean action (tanh(μ)+1)/2; false (default): a sample of the policy. */
  readonly deterministic?: boolean;
}

/**
 * A SAC-N agent (research/saspartitioner.md §2.1, §2.6) with its replay buffer. `act` gives an
 * action in [0, 1]^A; `observe` stores a transition and runs `trainingIntensity` gradient steps per
 * call once `learningStarts` transitions are stored; `update` is one gradient step and returns its
 * metrics. Invariant: no tensor outlives a call except the variables and the optimizers' state.
 */
export class SacAgent {
  readonly config: AgentConfig;
  readonly dims: AgentDims;
  readonly actor: SquashedGaussianActor;
  readonly critic: CriticEnsemble;
  readonly criticTarget: CriticEnsemble;
  readonly logAlpha: tf.Variable;
  readonly replay: ReplayBuffer;
  readonly targetEntropy: number;
  /** Gradient steps done. */
  updates = 0;
  /** Transitions observed. */
  envSteps = 0;
  protected readonly rng: Rng;
  protected readonly actorOpt: tf.Optimizer;
  protected readonly criticOpt: tf.Optimizer;
  protected readonly alphaOpt: tf.Optimizer;
  private updateCredit = 0;
  private disposed = false;

  constructor(config: AgentConfig, dims: AgentDims) {
    if (!Number.isInteger(dims.obsDim) || dims.obsDim < 1 || !Number.isInteger(dims.actionDim) || dims.actionDim < 1) {
      throw new DataError(`agent dims: obsDim and actionDim must be integers >= 1, got ${dims.obsDim}, ${dims.actionDim}`, { field: 'dims', got: dims });
    }
    this.config = config;
    this.dims = dims;
    this.rng = new Rng(config.seed);
    const initRng = this.rng.fork(1);
    const c = config;
    this.actor = new SquashedGaussianActor(dims.obsDim, dims.actionDim, c.hidden, c.activation, [c.logStdMin, c.logStdMax], initRng);
    this.critic = new CriticEnsemble(dims.obsDim, dims.actionDim, c.hidden, c.activation, c.ensembleSize, initRng);
    this.criticTarget = new CriticEnsemble(dims.obsDim, dims.actionDim, c.hidden, c.activation, c.ensembleSize, initRng, false);
    this.criticTarget.net.softUpdateFrom(this.critic.net, 1);
    this.logAlpha = tf.tidy(() => tf.variable(tf.scalar(Math.log(c.initialAlpha)), true, uniqueVariableName('log_alpha')));
    this.targetEntropy = targetEntropyOf(c, dims.actionDim);
    this.actorOpt = tf.train.adam(c.actorLr);
    this.criticOpt = tf.train.adam(c.criticLr);
    this.alphaOpt = tf.train.adam(c.alphaLr);
    const r = c.replay;
    this.replay = new ReplayBuffer(c.bufferSize, dims.obsDim, dims.actionDim, this.rng.fork(2), r.prioritized ? r : undefined);
  }

  /** Current α = exp(log α). */
  get alpha(): number {
    return Math.exp(this.logAlpha.dataSync()[0]);
  }

  /** One action for one observation (length obsDim). Returns a new Float32Array of length actionDim in [0, 1]. */
  act(obs: ArrayLike<number>, opts: ActOptions = {}): Float32Array {
    if (obs.length !== this.dims.obsDim) {
      throw new DataError(`obs: expected length ${this.dims.obsDim}, got ${obs.length}`, { field: 'obs', expected: this.dims.obsDim, got: obs.length });
    }
    const seed = this.rng.nextU32();
    // deterministic: the CPU forward pass (same action up to float32 rounding, a fraction of the latency)
    if (opts.deterministic) return this.actor.modeInto(obs, new Float32Array(this.dims.actionDim));
    const out = tf.tidy(() => {
      const x = tf.tensor2d(Float32Array.from(obs), [1, this.dims.obsDim]);
      return this.actor.sample(x, seed).action;
    });
    const a = out.dataSync() as Float32Array;
    out.dispose();
    return Float32Array.from(a);
  }

  /**
   * Stores a transition, then runs the gradient steps it earns (`trainingIntensity` per transition,
   * fractional credit carried over) once the buffer holds `learningStarts` transitions. Returns the
   * metrics of the last step run, or undefined when none ran.
   */
  observe(t: Transition): SacMetrics | undefined {
    this.replay.add(t);
    this.envSteps++;
    if (this.replay.size < Math.max(1, this.config.learningStarts)) return undefined;
    this.updateCredit += this.config.trainingIntensity;
    let last: SacMetrics | undefined;
    while (this.updateCredit >= 1) {
      this.updateCredit -= 1;
      last = this.update();
    }
    return last;
  }

  /** One gradient step of critics, actor and α on `batch` (default: a replay sample), then soft target updates. */
  update(batch: Batch = this.replay.sample(this.config.batchSize)): SacMetrics {
    const c = this.config;
    const { obsDim: od, actionDim: ad } = this.dims;
    const n = batch.size;
    const seeds = [this.rng.nextU32(), this.rng.nextU32()];
    const kept: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => {
      kept.push(tf.keep(t));
      return t;
    };
    try {
      const values = tf.tidy(() => {
        const b: BatchTensors = {
          size: n,
          obs: tf.tensor2d(batch.obs, [n, od]),
          actions: tf.tensor2d(batch.actions, [n, ad]),
          rewards: tf.tensor1d(batch.rewards),
          nextObs: tf.tensor2d(batch.nextObs, [n, od]),
          dones: tf.tensor1d(batch.dones),
          weights: tf.tensor1d(batch.weights),
        };
        const alpha = tf.exp(this.logAlpha) as tf.Scalar;

        // 1. TD target with the min over the target ensemble and the entropy bonus (§2.6).
        const next = this.actor.sample(b.nextObs, seeds[0]);
        const qNext = tf.sub(this.criticTarget.minQ(b.nextObs, next.action), tf.mul(alpha, next.logp));
        const target = tf.add(b.rewards, tf.mul(tf.mul(tf.sub(1, b.dones), c.gamma), qNext));

        // 2. Critic step: Σ over members of the importance-weighted Huber loss (δ = huberDelta), plus subclass terms.
        const penalty = this.criticPenalty(b);
        let penaltyMetrics: Record<string, tf.Scalar> = {};
        let qData: tf.Tensor2D | undefined;
        const criticStep = tf.variableGrads(() => {
          const q = keep(this.critic.q(b.obs, b.actions, false)); // [N, B]
          qData = q;
          const err = tf.abs(tf.sub(q, target));
          const d = c.huberDelta;
          const quad = tf.minimum(err, d); // Huber = ½·min(e, δ)² + δ·(e − min(e, δ))
          const huber = tf.add(tf.mul(tf.square(quad), 0.5), tf.mul(tf.sub(err, quad), d));
          let loss = tf.sum(tf.mean(tf.mul(huber, b.weights), 1)) as tf.Scalar;
          if (penalty) {
            const p = penalty();
            loss = tf.add(loss, p.loss) as tf.Scalar;
            penaltyMetrics = Object.fromEntries(Object.entries(p.metrics).map(([k, v]) => [k, keep(v)]));
          }
          return loss;
        }, this.critic.net.variables());
        this.criticOpt.applyGradients(criticStep.grads);
        const q = qData as unknown as tf.Tensor2D;
        const tdErr = tf.mean(tf.abs(tf.sub(q, target)), 0); // [B]

        // 3. Actor step on fresh samples: α·log π − min Q (or the subclass's loss).
        let logp: tf.Tensor1D | undefined;
        const actorStep = tf.variableGrads(() => {
          const s = this.actor.sample(b.obs, seeds[1]);
          logp = keep(s.logp);
          const loss = this.actorLoss(b, alpha, s);
          if (!(c.actionReg > 0)) return loss;
          // pull of the mean action towards 0.5 (config.actionReg; residual mode: towards the prior)
          const dev = tf.sub(this.actor.mode(b.obs), 0.5);
          return tf.add(loss, tf.mul(c.actionReg, tf.mean(tf.sum(tf.square(dev), 1)))) as tf.Scalar;
        }, this.actor.net.variables());
        this.actorOpt.applyGradients(actorStep.grads);
        this.actor.invalidate();
        const lp = logp as unknown as tf.Tensor1D;

        // 4. α step against the target entropy, log π held fixed.
        const entGap = tf.add(lp, this.targetEntropy);
        const alphaStep = tf.variableGrads(() => tf.neg(tf.mean(tf.mul(this.logAlpha, entGap))) as tf.Scalar, [this.logAlpha]);
        this.alphaOpt.applyGradients(alphaStep.grads);

        const names = ['critic_loss', 'actor_loss', 'alpha_loss', 'alpha', 'q_mean', 'target_q_mean', 'log_pi_mean', 'td_error_mean', ...Object.keys(penaltyMetrics)];
        const scalars = [
          criticStep.value,
          actorStep.value,
          alphaStep.value,
          tf.exp(this.logAlpha),
          tf.mean(q),
          tf.mean(target),
          tf.mean(lp),
          tf.mean(tdErr),
          ...Object.values(penaltyMetrics),
        ];
        return { names, stacked: tf.concat([tf.stack(scalars), tdErr]) };
      });
      const data = values.stacked.dataSync();
      values.stacked.dispose();
      const k = values.names.length;
      this.replay.updatePriorities(batch.indices, data.subarray(k, k + n));
      this.criticTarget.net.softUpdateFrom(this.critic.net, c.tau);
      this.updates++;
      const m = Object.fromEntries(values.names.map((name, i) => [name, data[i]])) as SacMetrics;
      return this.decorateMetrics(m);
    } finally {
      for (const t of kept) t.dispose();
    }
  }

  /** Extra critic term built outside the gradient tape (SAC: none). */
  protected criticPenalty(_b: BatchTensors): CriticPenalty | undefined {
    return undefined;
  }

  /** Actor loss: mean(α·log π − min_ens Q(s, ã)) on fresh reparameterised samples ã (§2.6). */
  protected actorLoss(b: BatchTensors, alpha: tf.Scalar, s: { action: tf.Tensor2D; logp: tf.Tensor1D }): tf.Scalar {
    return tf.mean(tf.sub(tf.mul(alpha, s.logp), this.critic.minQ(b.obs, s.action))) as tf.Scalar;
  }

  /** Hook for subclasses to add plain-number metrics. */
  protected decorateMetrics(m: SacMetrics): SacMetrics {
    return m;
  }

  /** Frees every variable and optimizer state. The agent is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.actor.net.dispose();
    this.critic.net.dispose();
    this.criticTarget.net.dispose();
    this.logAlpha.dispose();
    this.actorOpt.dispose();
    this.criticOpt.dispose();
    this.alphaOpt.dispose();
  }
}
