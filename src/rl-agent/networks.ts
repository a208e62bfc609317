// MLP parameters as TF.js variables: the actor (squashed Gaussian) and a vectorised critic ensemble.
import { tf } from './backend.js';
import { Rng } from '../common/rng.js';

/** Shape of an MLP: input → hidden… → output, with one hidden activation and a linear head. */
export interface MlpTopology {
  readonly inputDim: number;
  readonly hidden: readonly number[];
  readonly outputDim: number;
  readonly activation: 'tanh' | 'relu';
  /** Ensemble members sharing the topology (1 for the actor). */
  readonly members: number;
}

/** A named weight tensor, as stored in checkpoints. */
export interface NamedWeight {
  readonly name: string;
  readonly variable: tf.Variable;
}

/**
 * Seeded init of one layer: U(−1/√fanIn, 1/√fanIn) for weights and biases, PyTorch nn.Linear's
 * default (the reference's RLlib torch modules use it).
 */
function uniformInit(rng: Rng, size: number, fanIn: number): Float32Array {
  const b = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * rng.next() - 1) * b;
  return out;
}

/**
 * y = x·W + b with hand-written gradients that only use plain (non-transposed, 2-D) matmuls after an
 * explicit transpose. The wasm backend's transposed and batched matmuls measured 8–15× slower than
 * transpose + matmul (docs/rl-agent.md), and TF.js's own MatMul gradient uses the transposed forms.
 */
const linearOp = tf.customGrad((...args) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g), tf.sum(g, 0)];
    },
  };
});
const linear = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D => linearOp(x, w, b) as tf.Tensor2D;

/** y = x·W for a data input x that is never differentiated: the gradient w.r.t. x is skipped (zeros). */
const dataMatMulOp = tf.customGrad((...args) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [tf.zerosLike(saved[0]), tf.matMul(tf.transpose(saved[0]), dy as tf.Tensor2D)],
  };
});
const dataMatMul = (x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D => dataMatMulOp(x, w) as tf.Tensor2D;

/** y = x·W with both gradients through plain matmuls after explicit transposes (see `linear`). */
const matMulOp = tf.customGrad((...args) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g)];
    },
  };
});
const matMul = (x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D => matMulOp(x, w) as tf.Tensor2D;

/**
 * An MLP (or an ensemble of `members` MLPs of the same shape, as the reference's vectorised critic,
 * §2.6; here one 2-D matmul per member, which is faster on wasm than a batched matmul). Weight `l` of
 * member `m` is named `m{m}/w{l}` with shape [in, out], its bias `m{m}/b{l}` with shape [out].
 * `apply` maps [B, in] → [members, B, out].
 */
export class Mlp {
  readonly topology: MlpTopology;
  readonly weights: NamedWeight[] = [];

  constructor(topology: MlpTopology, rng: Rng, prefix: string, trainable = true) {
    this.topology = topology;
    const dims = [topology.inputDim, ...topology.hidden, topology.outputDim];
    for (let m = 0; m < topology.members; m++) {
      for (let l = 0; l + 1 < dims.length; l++) {
        const [i, o] = [dims[l], dims[l + 1]];
        const w = tf.tidy(() => tf.variable(tf.tensor2d(uniformInit(rng, i * o, i), [i, o]), trainable, `${prefix}/m${m}/w${l}_${uid()}`));
        const b = tf.tidy(() => tf.variable(tf.tensor1d(uniformInit(rng, o, i)), trainable, `${prefix}/m${m}/b${l}_${uid()}`));
        this.weights.push({ name: `m${m}/w${l}`, variable: w }, { name: `m${m}/b${l}`, variable: b });
      }
    }
  }

  /** The variables, member-major then layer order (m0/w0, m0/b0, m0/w1, …). */
  variables(): tf.Variable[] {
    return this.weights.map((w) => w.variable);
  }

  /** Forward pass of one member: x [B, in] → [B, out]. Call inside tf.tidy. */
  applyMember(x: tf.Tensor2D, member: number): tf.Tensor2D {
    const layers = this.topology.hidden.length + 1;
    const base = member * 2 * layers;
    let h = x;
    for (let l = 0; l < layers; l++) {
      h = linear(h, this.weights[base + 2 * l].variable as tf.Tensor2D, this.weights[base + 2 * l + 1].variable as tf.Tensor1D);
      if (l + 1 < layers) h = this.topology.activation === 'tanh' ? tf.tanh(h) : tf.relu(h);
    }
    return h;
  }

  /**
   * Forward pass of one member on concat(a, b) where each row of `a` [B, da] is shared by `repeat`
   * consecutive rows of `b` [B·repeat, db] (state-major). The first layer is split into its `a` and
   * `b` blocks, so the shared part is computed once per row of `a`, and `a` gets no input gradient
   * (it is data); `b` gets one only when `bGrad` (the actor loss differentiates Q through the
   * action). Equal to applyMember(concat(repeatRows(a), b)). Call inside tf.tidy.
   */
  applyMemberShared(a: tf.Tensor2D, b: tf.Tensor2D, repeat: number, member: number, bGrad = true): tf.Tensor2D {
    const layers = this.topology.hidden.length + 1;
    const base = member * 2 * layers;
    const w0 = this.weights[base].variable as tf.Tensor2D;
    const b0 = this.weights[base + 1].variable as tf.Tensor1D;
    const [da, width] = [a.shape[1], w0.shape[1]];
    const shared = tf.add(dataMatMul(a, tf.slice(w0, [0, 0], [da, width])), b0); // [B, width]
    const wb = tf.slice(w0, [da, 0], [w0.shape[0] - da, width]) as tf.Tensor2D;
    const own = bGrad ? matMul(b, wb) : dataMatMul(b, wb); // [B·repeat, width]
    const n = a.shape[0];
    let h = tf.reshape(tf.add(tf.reshape(own, [n, repeat, width]), tf.expandDims(shared, 1)), [n * repeat, width]) as tf.Tensor2D;
    for (let l = 1; l < layers; l++) {
      h = this.topology.activation === 'tanh' ? tf.tanh(h) : tf.relu(h);
      h = linear(h, this.weights[base + 2 * l].variable as tf.Tensor2D, this.weights[base + 2 * l + 1].variable as tf.Tensor1D);
    }
    return h;
  }

  /** Forward pass of every member: x [B, in] → [members, B, out]. Call inside tf.tidy. */
  apply(x: tf.Tensor2D): tf.Tensor3D {
    const outs: tf.Tensor2D[] = [];
    for (let m = 0; m < this.topology.members; m++) outs.push(this.applyMember(x, m));
    return tf.stack(outs) as tf.Tensor3D;
  }

  /** Copies `src`'s weights into this MLP (same topology): this ← τ·src + (1 − τ)·this. τ = 1 copies. */
  softUpdateFrom(src: Mlp, tau: number): void {
    tf.tidy(() => {
      for (let i = 0; i < this.weights.length; i++) {
        const t = this.weights[i].variable;
        const s = src.weights[i].variable;
        t.assign(tau === 1 ? s : tf.add(tf.mul(s, tau), tf.mul(t, 1 - tau)));
      }
    });
  }

  /** Frees the variables. */
  dispose(): void {
    for (const w of this.weights) w.variable.dispose();
  }
}

let counter = 0;
function uid(): number {
  return counter++;
}

/** A process-unique TF.js variable name (TF.js refuses duplicates; agents may coexist). */
export function uniqueVariableName(prefix: string): string {
  return `${prefix}_${uid()}`;
}

/** Sum over the last axis of log N(u; μ, σ) written with ε = (u − μ)/σ. */
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Squashed-Gaussian policy head (research/saspartitioner.md §2.6): the actor's 2A outputs are
 * mean and log-std (clipped to [logStdMin, logStdMax]); u = μ + σ·ε, action = (tanh(u) + 1)/2 in
 * [0, 1]. log π follows RLlib's squashed Gaussian: Gaussian log-density minus Σ log(1 − tanh²(u)),
 * without the constant of the affine map to [0, 1] (so the target entropy −A means what it meant there).
 */
export class SquashedGaussianActor {
  readonly net: Mlp;
  readonly actionDim: number;
  private readonly logStdMin: number;
  private readonly logStdMax: number;

  constructor(obsDim: number, actionDim: number, hidden: readonly number[], activation: 'tanh' | 'relu', logStd: [number, number], rng: Rng) {
    this.actionDim = actionDim;
    this.logStdMin = logStd[0];
    this.logStdMax = logStd[1];
    this.net = new Mlp({ inputDim: obsDim, hidden, outputDim: 2 * actionDim, activation, members: 1 }, rng, 'actor');
  }

  /** Mean and clipped log-std, each [B, A]. */
  private heads(obs: tf.Tensor2D): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
    const out = this.net.applyMember(obs, 0);
    const [mean, rawLogStd] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return { mean, logStd: tf.clipByValue(rawLogStd, this.logStdMin, this.logStdMax) };
  }

  /** Reparameterised sample: action [B, A] in [0, 1] and log π [B]. `seed` drives the noise. Call inside tf.tidy. */
  sample(obs: tf.Tensor2D, seed: number): { action: tf.Tensor2D; logp: tf.Tensor1D } {
    const { mean, logStd } = this.heads(obs);
    const eps = tf.randomNormal(mean.shape, 0, 1, 'float32', seed);
    const u = tf.add(mean, tf.mul(tf.exp(logStd), eps));
    const gauss = tf.sum(tf.sub(tf.mul(tf.square(eps), -0.5), tf.add(logStd, HALF_LOG_2PI)), 1);
    const logp = tf.sub(gauss, tf.sum(logOneMinusTanhSq(u), 1)) as tf.Tensor1D;
    return { action: tf.mul(tf.add(tf.tanh(u), 1), 0.5) as tf.Tensor2D, logp };
  }

  /**
   * `k` reparameterised samples per observation from one forward pass: action [B·k, A] state-major
   * (row i·k + j is sample j of state i) and log π [B·k]. Same distribution as `sample` on each
   * observation repeated k times. Call inside tf.tidy.
   */
  sampleMany(obs: tf.Tensor2D, k: number, seed: number): { action: tf.Tensor2D; logp: tf.Tensor1D } {
    const { mean, logStd } = this.heads(obs);
    const [n, a] = mean.shape;
    const eps = tf.randomNormal([n, k, a], 0, 1, 'float32', seed);
    const u = tf.add(tf.expandDims(mean, 1), tf.mul(tf.expandDims(tf.exp(logStd), 1), eps)); // [B, k, A]
    const gauss = tf.sum(tf.sub(tf.mul(tf.square(eps), -0.5), tf.add(tf.expandDims(logStd, 1), HALF_LOG_2PI)), 2);
    const logp = tf.reshape(tf.sub(gauss, tf.sum(logOneMinusTanhSq(u), 2)), [n * k]) as tf.Tensor1D;
    return { action: tf.reshape(tf.mul(tf.add(tf.tanh(u), 1), 0.5), [n * k, a]) as tf.Tensor2D, logp };
  }

  /**
   * CPU copy of the weights for {@link modeInto} (undefined = stale): per layer the weights transposed
   * to [out, in] (row j = the inputs of unit j, so each unit is one contiguous dot product), the biases,
   * and a scratch row. The last layer keeps only the A mean units.
   */
  private cpu: { wt: Float64Array[]; b: Float64Array[]; h: Float64Array[]; dims: number[]; x: Float64Array } | undefined;

  /** Marks the CPU copy of the weights stale; call after every change of the actor's variables. */
  invalidate(): void {
    this.cpu = undefined;
  }

  /**
   * Deterministic action of one observation, (tanh(μ) + 1)/2, computed on the CPU in float64 from a
   * copy of the weights (read once after each {@link invalidate}) into `out` (length A); the log-std
   * half of the head is skipped. Equal to {@link mode} up to float32 rounding (≈ 1e-6; tested). Why:
   * for one observation of a small actor, TF.js's per-op dispatch and tensor allocation cost more than
   * the arithmetic, and its garbage shows up in the step-latency tail (docs/rl-agent.md).
   * Allocation-free once warm.
   */
  modeInto(obs: ArrayLike<number>, out: Float32Array): Float32Array {
    const top = this.net.topology;
    if (!this.cpu) {
      const dims = [top.inputDim, ...top.hidden, this.actionDim];
      const wt: Float64Array[] = [];
      const b: Float64Array[] = [];
      for (let l = 0; l + 1 < dims.length; l++) {
        const W = this.net.weights[2 * l].variable.dataSync() as Float32Array;
        const B = this.net.weights[2 * l + 1].variable.dataSync() as Float32Array;
        const [n, o, full] = [dims[l], dims[l + 1], l + 2 === dims.length ? top.outputDim : dims[l + 1]];
        const t = new Float64Array(o * n);
        for (let j = 0; j < o; j++) for (let i = 0; i < n; i++) t[j * n + i] = W[i * full + j];
        wt.push(t);
        b.push(Float64Array.from(B.subarray(0, o)));
      }
      this.cpu = { wt, b, h: dims.slice(1).map((d) => new Float64Array(d)), dims, x: new Float64Array(top.inputDim) };
    }
    const { wt, b, h, dims } = this.cpu;
    const relu = top.activation === 'relu';
    const last = h.length - 1;
    let x = this.cpu.x;
    for (let i = 0; i < x.length; i++) x[i] = obs[i];
    for (let l = 0; l <= last; l++) {
      const n = dims[l];
      const y = h[l];
      const W = wt[l];
      const bl = b[l];
      for (let j = 0, r = 0; j < y.length; j++, r += n) {
        let acc = bl[j];
        for (let i = 0; i < n; i++) acc += x[i] * W[r + i];
        y[j] = l === last ? acc : relu ? (acc > 0 ? acc : 0) : Math.tanh(acc);
      }
      x = y;
    }
    const mean = h[last];
    for (let a = 0; a < this.actionDim; a++) out[a] = (Math.tanh(mean[a]) + 1) * 0.5;
    return out;
  }

  /** Deterministic action (tanh(μ) + 1)/2, [B, A]. Call inside tf.tidy. */
  mode(obs: tf.Tensor2D): tf.Tensor2D {
    return tf.mul(tf.add(tf.tanh(this.heads(obs).mean), 1), 0.5) as tf.Tensor2D;
  }

  /**
   * log π(a | s) of given actions in [0, 1] (for behaviour cloning): t = 2a − 1 clipped to
   * ±(1 − 1e-6), u = atanh(t). Call inside tf.tidy.
   */
  logProb(obs: tf.Tensor2D, action: tf.Tensor2D): tf.Tensor1D {
    const { mean, logStd } = this.heads(obs);
    const t = tf.clipByValue(tf.sub(tf.mul(action, 2), 1), -1 + 1e-6, 1 - 1e-6);
    const u = tf.atanh(t);
    const eps = tf.div(tf.sub(u, mean), tf.exp(logStd));
    const gauss = tf.sum(tf.sub(tf.mul(tf.square(eps), -0.5), tf.add(logStd, HALF_LOG_2PI)), 1);
    return tf.sub(gauss, tf.sum(logOneMinusTanhSq(u), 1)) as tf.Tensor1D;
  }
}

/** log(1 − tanh²(u)) = 2·(log 2 − u − softplus(−2u)), the numerically stable form. */
function logOneMinusTanhSq(u: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sub(tf.sub(Math.log(2), u), tf.softplus(tf.mul(u, -2))), 2);
}

/**
 * The critic ensemble: N Q-nets on concat(obs, action) → scalar (§2.6). `q` gives [N, B]; `minQ`
 * the min over members, [B], used by both the actor loss and the TD target.
 */
export class CriticEnsemble {
  readonly net: Mlp;

  constructor(obsDim: number, actionDim: number, hidden: readonly number[], activation: 'tanh' | 'relu', members: number, rng: Rng, trainable = true) {
    this.net = new Mlp({ inputDim: obsDim + actionDim, hidden, outputDim: 1, activation, members }, rng, 'critic', trainable);
  }

  /**
   * Q-values of every member, [N, B]. `actionGrad` = false when the actions are data (critic
   * training), which skips their input gradient. Call inside tf.tidy.
   */
  q(obs: tf.Tensor2D, action: tf.Tensor2D, actionGrad = true): tf.Tensor2D {
    return this.qRepeated(obs, action, 1, actionGrad);
  }

  /**
   * Q-values of `repeat` actions per state: obs [B, od], actions [B·repeat, ad] state-major
   * (row b·repeat + r belongs to state b) → [N, B·repeat]. The obs half of the first layer is
   * computed once per state (CQL evaluates 3·numActions actions per state). Call inside tf.tidy.
   */
  qRepeated(obs: tf.Tensor2D, actions: tf.Tensor2D, repeat: number, actionGrad = true): tf.Tensor2D {
    const outs: tf.Tensor[] = [];
    for (let m = 0; m < this.net.topology.members; m++) outs.push(tf.reshape(this.net.applyMemberShared(obs, actions, repeat, m, actionGrad), [-1]));
    return tf.stack(outs) as tf.Tensor2D;
  }

  /** Min over the ensemble, [B]. Call inside tf.tidy. */
  minQ(obs: tf.Tensor2D, action: tf.Tensor2D): tf.Tensor1D {
    return tf.min(this.q(obs, action), 0) as tf.Tensor1D;
  }
}
