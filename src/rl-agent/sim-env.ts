// Simulated partitioning environment (after SaSPartitioner's RemoteSimEnv): seeded worker speeds, busy = load/speed.
import { z } from 'zod';
import { murmur3Int } from '../common/hash.js';
import { Rng } from '../common/rng.js';
import { parseOrThrow } from '../common/validate.js';
import { DataError } from '../common/errors.js';
import { rewardFromBusy, scaleObservation, stepInfo, validateRewardBase, type StepInfo } from './env-math.js';
import { maskActionDim, maskFromFrequencies, routingShares, type Mask } from './mask.js';

/** Simulator config. Defaults are small so that tests and smoke runs are fast; the comment says where each comes from. */
export const simEnvConfigSchema = z
  .object({
    /** P, number of workers. Small default for tests; the reference used 64 or 128 (§5.4). */
    numWorkers: z.number().int().min(1).max(4096).default(8),
    /** Size of the key space; keys are Zipf ranks. The reference's tests use 100,000 (§5.2). */
    numKeys: z.number().int().min(1).default(100_000),
    /** Zipf exponent of the key distribution. Reference default 1.5 (§2.7). */
    zipf: z.number().min(0).default(1.5),
    /** True hot keys (the mask's keys); the rest are hashed. Reference `num_true_hot_keys` 10 (§2.7). */
    numHotKeys: z.number().int().min(1).default(10),
    /** Leading hot keys allowed on every worker. Reference `spread_keys` 0 (§2.7). */
    spreadKeys: z.number().int().min(0).default(0),
    /** Minimum mask range width (ours; mask.ts `minWidth`). Default 1 (the reference heuristic). */
    minWidth: z.number().int().min(1).default(1),
    /** Worker speeds are uniform in [speedMin, speedMax] (relative units), drawn once from the seed. Our choice. */
    speedMin: z.number().positive().default(0.75),
    speedMax: z.number().positive().default(1.25),
    /** Offered load as a fraction of the total capacity Σ speed: at perfect balance every worker is this busy. Our choice (the reference kept busy in 700–900 ms/s, §5.3). */
    utilization: z.number().positive().max(1).default(0.8),
    /** Std of multiplicative Gaussian noise on counts and busy times (0 = deterministic). Our choice. */
    noise: z.number().min(0).max(1).default(0),
    /** Steps per episode; `done` is true on the last. Reference `max_steps` 128 (§2.5). */
    episodeLength: z.number().int().min(1).default(128),
    /** Reward base (initial perf), > 0. Reference `initial_perf` 0.6 (§2.4). */
    rewardBase: z.number().positive().default(0.6),
    /** Seed of the worker speeds and the noise. */
    seed: z.number().int().default(0),
  })
  .strict();

/** Validated simulator config. */
export type SimEnvConfig = z.infer<typeof simEnvConfigSchema>;

/** What one simulator step returns. `reward` is the result of the action passed to this step. */
export interface SimStep {
  readonly obs: Float32Array;
  readonly reward: number;
  readonly done: boolean;
  readonly info: StepInfo;
  /** Per-worker busy ms/s of the slide (for the caller's metrics). */
  readonly busyMs: Float64Array;
}

/**
 * A seeded simulator of one partitioned operator. Each step applies the action as a routing table
 * for the true hot keys (mask ranges from the Zipf frequencies), hashes the other keys, and derives
 * per-worker tuple counts and busy = 1000·min(1, load/speed); obs and reward come from env-math, the
 * same functions the online and offline paths use. Invariant: obs has length 2P, action length A.
 */
export class SimEnv {
  readonly config: SimEnvConfig;
  readonly mask: Mask;
  readonly hotKeyFreqs: readonly number[];
  readonly obsDim: number;
  readonly actionDim: number;
  readonly speeds: Float64Array;
  private readonly coldLoad: Float64Array;
  private readonly hotProb: Float64Array;
  private readonly rate: number;
  private readonly rng: Rng;
  private t = 0;

  constructor(config: Partial<SimEnvConfig> = {}) {
    this.config = parseOrThrow(simEnvConfigSchema, config, 'simEnv');
    const c = this.config;
    if (c.speedMax < c.speedMin) throw new DataError('simEnv.speedMax: must be >= speedMin', { field: 'simEnv.speedMax' });
    validateRewardBase(c.rewardBase, 'simEnv.rewardBase');
    const p = c.numWorkers;
    const hot = Math.min(c.numHotKeys, c.numKeys);
    this.rng = new Rng(c.seed);
    const speedRng = this.rng.fork(1);
    this.speeds = new Float64Array(p);
    for (let w = 0; w < p; w++) this.speeds[w] = c.speedMin + (c.speedMax - c.speedMin) * speedRng.next();
    // Zipf over ranks 1..numKeys; rank r is key r-1, so the hot keys are 0..hot-1.
    let z = 0;
    for (let k = 1; k <= c.numKeys; k++) z += Math.pow(k, -c.zipf);
    this.hotProb = new Float64Array(hot);
    for (let k = 0; k < hot; k++) this.hotProb[k] = Math.pow(k + 1, -c.zipf) / z;
    this.coldLoad = new Float64Array(p);
    for (let k = hot; k < c.numKeys; k++) this.coldLoad[murmur3Int(k, 0) % p] += Math.pow(k + 1, -c.zipf) / z;
    this.hotKeyFreqs = Array.from(this.hotProb);
    this.mask = maskFromFrequencies(this.hotKeyFreqs, p, { spreadKeys: c.spreadKeys, minWidth: c.minWidth });
    this.actionDim = maskActionDim(this.mask);
    this.obsDim = 2 * p;
    let cap = 0;
    for (let w = 0; w < p; w++) cap += this.speeds[w];
    this.rate = c.utilization * cap; // load fractions sum to 1, so busy at perfect balance = utilization
  }

  /** The action that spreads every hot key uniformly over its range (all ones; the reference's initial table, §3.3). */
  uniformAction(): Float32Array {
    return new Float32Array(this.actionDim).fill(1);
  }

  /** Starts an episode under the uniform routing table and returns its first observation. */
  reset(): Float32Array {
    this.t = 0;
    return this.simulate(this.uniformAction()).obs;
  }

  /** Applies `action` for one metric slide. */
  step(action: ArrayLike<number>): SimStep {
    if (action.length !== this.actionDim) {
      throw new DataError(`action: expected length ${this.actionDim}, got ${action.length}`, { field: 'action', got: action.length });
    }
    this.t++;
    const s = this.simulate(action);
    return { ...s, done: this.t >= this.config.episodeLength };
  }

  /** Per-worker busy ms/s that `action` would give, without noise and without advancing time. */
  busyOf(action: ArrayLike<number>): Float64Array {
    const load = this.loads(action);
    const busy = new Float64Array(load.length);
    for (let w = 0; w < load.length; w++) busy[w] = 1000 * Math.min(1, (this.rate * load[w]) / this.speeds[w]);
    return busy;
  }

  private loads(action: ArrayLike<number>): Float64Array {
    const p = this.config.numWorkers;
    const load = Float64Array.from(this.coldLoad);
    const shares = routingShares(this.mask, action);
    for (let k = 0; k < this.mask.length; k++) {
      const sh = shares[k];
      if (sh === undefined) {
        load[murmur3Int(k, 0) % p] += this.hotProb[k]; // all-zero weights: cold route (§3.3)
      } else {
        for (let j = 0; j < sh.length; j++) load[this.mask[k].start + j] += this.hotProb[k] * sh[j];
      }
    }
    return load;
  }

  private simulate(action: ArrayLike<number>): Omit<SimStep, 'done'> {
    const p = this.config.numWorkers;
    const load = this.loads(action);
    const counts = new Float64Array(p);
    const busy = new Float64Array(p);
    const noise = this.config.noise;
    for (let w = 0; w < p; w++) {
      const nc = noise > 0 ? Math.max(0, 1 + noise * this.rng.normal()) : 1;
      const nb = noise > 0 ? Math.max(0, 1 + noise * this.rng.normal()) : 1;
      counts[w] = this.rate * load[w] * 1000 * nc;
      busy[w] = 1000 * Math.min(1, ((this.rate * load[w]) / this.speeds[w]) * nb);
    }
    return {
      obs: scaleObservation(counts, busy),
      reward: rewardFromBusy(busy, this.config.rewardBase),
      info: stepInfo(busy),
      busyMs: busy,
    };
  }
}
