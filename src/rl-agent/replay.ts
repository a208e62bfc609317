// Replay buffer with Float32Array storage: uniform, or proportional prioritized (sum tree).
import { Rng } from '../common/rng.js';
import { DataError } from '../common/errors.js';

/** One transition (s, a, r, s', done). `obs`/`nextObs` have length obsDim, `action` actionDim. */
export interface Transition {
  readonly obs: ArrayLike<number>;
  readonly action: ArrayLike<number>;
  readonly reward: number;
  readonly nextObs: ArrayLike<number>;
  readonly done: boolean;
}

/**
 * A sampled minibatch: row-major arrays (batch × dim), importance weights (all 1 when uniform) and
 * the buffer indices (for priority updates). The arrays are reused by the next `sample` call.
 */
export interface Batch {
  readonly size: number;
  readonly obs: Float32Array;
  readonly actions: Float32Array;
  readonly rewards: Float32Array;
  readonly nextObs: Float32Array;
  readonly dones: Float32Array;
  readonly weights: Float32Array;
  readonly indices: Int32Array;
}

/** Prioritized replay options (Schaul et al. 2016, proportional variant; RLlib's defaults α 0.6, β 0.4). */
export interface PrioritizedOptions {
  readonly alpha: number;
  readonly beta: number;
  readonly eps: number;
}

/**
 * A ring buffer of transitions. Invariant: `size` ≤ `capacity`; once full, the oldest transition is
 * overwritten. With `prioritized`, sampling is proportional to priority^α (new transitions get the
 * max priority seen) and returns importance weights (N·P(i))^−β normalised by their max.
 */
export class ReplayBuffer {
  readonly capacity: number;
  readonly obsDim: number;
  readonly actionDim: number;
  private readonly obs: Float32Array;
  private readonly actions: Float32Array;
  private readonly rewards: Float32Array;
  private readonly nextObs: Float32Array;
  private readonly dones: Float32Array;
  private readonly rng: Rng;
  private readonly per: PrioritizedOptions | undefined;
  private readonly treeSize: number;
  private readonly sumTree: Float64Array;
  private readonly minTree: Float64Array;
  private maxPriority = 1;
  private next = 0;
  private count = 0;
  private batch: Batch | undefined;

  constructor(capacity: number, obsDim: number, actionDim: number, rng: Rng, prioritized?: PrioritizedOptions) {
    this.capacity = capacity;
    this.obsDim = obsDim;
    this.actionDim = actionDim;
    this.obs = new Float32Array(capacity * obsDim);
    this.actions = new Float32Array(capacity * actionDim);
    this.rewards = new Float32Array(capacity);
    this.nextObs = new Float32Array(capacity * obsDim);
    this.dones = new Float32Array(capacity);
    this.rng = rng;
    this.per = prioritized;
    let t = 1;
    while (prioritized && t < capacity) t *= 2;
    this.treeSize = prioritized ? t : 0;
    this.sumTree = new Float64Array(2 * this.treeSize);
    this.minTree = new Float64Array(2 * this.treeSize).fill(Infinity);
  }

  /** Transitions stored. */
  get size(): number {
    return this.count;
  }

  /** Whether sampling is prioritized. */
  get prioritized(): boolean {
    return this.per !== undefined;
  }

  /** Stores a transition (DataError on a wrong length or a non-finite reward). */
  add(t: Transition): void {
    if (t.obs.length !== this.obsDim || t.nextObs.length !== this.obsDim || t.action.length !== this.actionDim) {
      throw new DataError(`transition: expected obs/nextObs length ${this.obsDim} and action length ${this.actionDim}`, {
        field: 'transition',
        got: { obs: t.obs.length, action: t.action.length, nextObs: t.nextObs.length },
      });
    }
    if (!Number.isFinite(t.reward)) throw new DataError(`transition.reward: not finite (${t.reward})`, { field: 'reward', got: t.reward });
    const i = this.next;
    this.obs.set(t.obs, i * this.obsDim);
    this.nextObs.set(t.nextObs, i * this.obsDim);
    this.actions.set(t.action, i * this.actionDim);
    this.rewards[i] = t.reward;
    this.dones[i] = t.done ? 1 : 0;
    if (this.per) this.setPriority(i, Math.pow(this.maxPriority, this.per.alpha));
    this.next = (i + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Samples `n` transitions (with replacement). Requires size ≥ 1. */
  sample(n: number): Batch {
    if (this.count === 0) throw new DataError('replay buffer is empty', { field: 'replay' });
    const b = this.batchOf(n);
    const idx = b.indices;
    if (this.per) {
      const total = this.sumTree[1];
      const pMin = this.minTree[1] / total;
      const maxW = Math.pow(this.count * pMin, -this.per.beta);
      const seg = total / n;
      for (let j = 0; j < n; j++) {
        const i = this.find(Math.min(total * (1 - 1e-12), seg * (j + this.rng.next())));
        idx[j] = i;
        const p = this.sumTree[this.treeSize + i] / total;
        b.weights[j] = Math.pow(this.count * p, -this.per.beta) / maxW;
      }
    } else {
      for (let j = 0; j < n; j++) idx[j] = this.rng.int(this.count);
      b.weights.fill(1);
    }
    const od = this.obsDim;
    const ad = this.actionDim;
    for (let j = 0; j < n; j++) {
      const i = idx[j];
      b.obs.set(this.obs.subarray(i * od, (i + 1) * od), j * od);
      b.nextObs.set(this.nextObs.subarray(i * od, (i + 1) * od), j * od);
      b.actions.set(this.actions.subarray(i * ad, (i + 1) * ad), j * ad);
      b.rewards[j] = this.rewards[i];
      b.dones[j] = this.dones[i];
    }
    return b;
  }

  /** Sets priorities |td| + ε of sampled indices (no-op for a uniform buffer). */
  updatePriorities(indices: ArrayLike<number>, tdErrors: ArrayLike<number>): void {
    if (!this.per) return;
    for (let j = 0; j < indices.length; j++) {
      const pr = Math.abs(tdErrors[j]) + this.per.eps;
      if (!Number.isFinite(pr)) continue;
      if (pr > this.maxPriority) this.maxPriority = pr;
      this.setPriority(indices[j], Math.pow(pr, this.per.alpha));
    }
  }

  private batchOf(n: number): Batch {
    if (this.batch && this.batch.size === n) return this.batch;
    this.batch = {
      size: n,
      obs: new Float32Array(n * this.obsDim),
      actions: new Float32Array(n * this.actionDim),
      rewards: new Float32Array(n),
      nextObs: new Float32Array(n * this.obsDim),
      dones: new Float32Array(n),
      weights: new Float32Array(n),
      indices: new Int32Array(n),
    };
    return this.batch;
  }

  private setPriority(i: number, p: number): void {
    let k = this.treeSize + i;
    this.sumTree[k] = p;
    this.minTree[k] = p;
    k >>= 1;
    while (k >= 1) {
      this.sumTree[k] = this.sumTree[2 * k] + this.sumTree[2 * k + 1];
      this.minTree[k] = Math.min(this.minTree[2 * k], this.minTree[2 * k + 1]);
      k >>= 1;
    }
  }

  /** Leaf index whose prefix-sum interval contains `mass`. */
  private find(mass: number): number {
    let k = 1;
    while (k < this.treeSize) {
      const left = 2 * k;
      if (mass < this.sumTree[left]) {
        k = left;
      } else {
        mass -= this.sumTree[left];
        k = left + 1;
      }
    }
    return Math.min(k - this.treeSize, this.count - 1);
  }
}
