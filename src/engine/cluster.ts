// The simulated cluster: per-worker speeds, straggler schedules, per-slide jitter, and hidden key costs.
import { ConfigError } from '../common/errors.js';
import { Rng } from '../common/rng.js';

/** One scheduled change of a worker's speed: worker `worker` runs at `factor` × its speed in [fromMs, toMs). */
export interface SpeedChange {
  readonly worker: number;
  readonly factor: number;
  readonly fromMs: number;
  readonly toMs: number;
}

/** What the config says about the cluster's speeds (validated by the config layer). */
export interface ClusterSpec {
  /** Base speed factor per worker (length P), or a seeded uniform draw in [min, max]. Default all 1. */
  readonly speeds?: readonly number[] | { readonly min: number; readonly max: number };
  /** Stragglers and noisy neighbours. Times are multiples of the metric slide. */
  readonly schedule?: readonly SpeedChange[];
  /** Per-slide multiplicative jitter: each worker's factor in each slide is drawn from [1 − j, 1 + j]. Default 0. */
  readonly jitter?: number;
  /** Seed of the speed draw and the jitter (default: the job's seed). */
  readonly seed?: number;
}

/** Murmur-style 32-bit mix of three integers (the jitter of worker w in slide s; no state, any order). */
function mix3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(c + 0x27d4eb2f, 0x165667b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * A worker's speed at any slide: base × schedule × jitter. Speed scales a worker's capacity (a worker at
 * speed 0.5 takes twice as long per cost unit). Partitioners never see it; busy time shows it.
 * Deterministic for a seed: `factor(w, s)` is a pure function of (seed, w, s).
 */
export class ClusterModel {
  /** Base speed per worker. */
  readonly base: Float64Array;
  /** False when every factor is constant over time (no schedule, no jitter): engines may cache. */
  readonly dynamic: boolean;
  private readonly byWorker: SpeedChange[][];
  private readonly jitter: number;
  private readonly seed: number;

  constructor(
    readonly P: number,
    readonly slideMs: number,
    /** The spec it was built from (the real clock's threads rebuild the model from it). */
    readonly spec: ClusterSpec = {},
    readonly jobSeed = 1,
  ) {
    this.seed = (spec.seed ?? jobSeed) >>> 0;
    this.base = new Float64Array(P).fill(1);
    const sp = spec.speeds;
    if (Array.isArray(sp)) {
      if (sp.length !== P) throw new ConfigError(`cluster.speeds: expected one value per worker (${P}), got ${sp.length}`, { field: 'cluster.speeds', expected: `${P} values`, got: sp.length });
      sp.forEach((v, w) => (this.base[w] = v));
    } else if (sp) {
      const { min, max } = sp as { min: number; max: number };
      if (!(min > 0 && max >= min)) throw new ConfigError(`cluster.speeds: expected 0 < min <= max, got min ${min}, max ${max}`, { field: 'cluster.speeds', expected: '0 < min <= max', got: { min, max } });
      const rng = new Rng(this.seed ^ 0x5eed5);
      for (let w = 0; w < P; w++) this.base[w] = min + (max - min) * rng.next();
    }
    this.byWorker = Array.from({ length: P }, () => []);
    (spec.schedule ?? []).forEach((c, i) => {
      const f = `cluster.schedule[${i}]`;
      if (!Number.isInteger(c.worker) || c.worker < 0 || c.worker >= P) throw new ConfigError(`${f}.worker: expected a worker in [0, ${P}), got ${c.worker}`, { field: `${f}.worker`, expected: `0..${P - 1}`, got: c.worker });
      if (!(c.factor > 0)) throw new ConfigError(`${f}.factor: expected > 0, got ${c.factor}`, { field: `${f}.factor`, expected: '> 0', got: c.factor });
      if (!(c.toMs > c.fromMs) || c.fromMs < 0) throw new ConfigError(`${f}: expected 0 <= fromMs < toMs, got ${c.fromMs}..${c.toMs}`, { field: `${f}.toMs`, expected: '> fromMs', got: c.toMs });
      for (const k of ['fromMs', 'toMs'] as const)
        if (c[k] % slideMs !== 0) throw new ConfigError(`${f}.${k}: expected a multiple of slideMs (${slideMs}), got ${c[k]}`, { field: `${f}.${k}`, expected: `multiple of ${slideMs}`, got: c[k] });
      for (const o of this.byWorker[c.worker])
        if (c.fromMs < o.toMs && o.fromMs < c.toMs) throw new ConfigError(`${f}: overlaps another change of worker ${c.worker} (${o.fromMs}..${o.toMs})`, { field: f, expected: 'non-overlapping changes per worker' });
      this.byWorker[c.worker].push(c);
    });
    this.jitter = spec.jitter ?? 0;
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new ConfigError(`cluster.jitter: expected 0 <= jitter < 1, got ${this.jitter}`, { field: 'cluster.jitter', expected: '[0, 1)', got: this.jitter });
    this.dynamic = this.jitter > 0 || this.byWorker.some((l) => l.length > 0);
  }

  /** Speed factor of worker `w` during slide `slide` (> 0). */
  factor(w: number, slide: number): number {
    let f = this.base[w];
    const changes = this.byWorker[w];
    if (changes.length > 0) {
      const t = slide * this.slideMs;
      for (let i = 0; i < changes.length; i++) if (t >= changes[i].fromMs && t < changes[i].toMs) f *= changes[i].factor;
    }
    if (this.jitter > 0) f *= 1 + this.jitter * (2 * mix3(this.seed, w, slide) - 1);
    return f;
  }

  /** Mean speed factor of worker `w` over [0, durationMs) (the jitter's mean is 1). */
  meanFactor(w: number, durationMs: number): number {
    if (!(durationMs > 0)) return this.base[w];
    let scaled = 0;
    for (const c of this.byWorker[w]) {
      const a = Math.min(c.fromMs, durationMs);
      const b = Math.min(c.toMs, durationMs);
      scaled += (b - a) * (c.factor - 1);
    }
    return this.base[w] * (1 + scaled / durationMs);
  }
}

/** Hidden per-key cost: each key's true cost is its visible cost times a seeded lognormal factor of mean 1. */
export interface HiddenCostSpec {
  /** σ of the factor's log (0 = no hidden cost). */
  readonly sigma: number;
  /** Seed of the per-key draw (default: the job's seed). */
  readonly seed?: number;
}

/**
 * The hidden cost factor of every key in [0, numKeys): exp(σ·z − σ²/2) with z standard normal, so the
 * mean over keys is 1 in expectation. Only the engine reads it (service time); partitioners see the
 * visible cost (`TaskOperator.cost`) alone.
 */
export function hiddenCostFactors(numKeys: number, spec: HiddenCostSpec, jobSeed = 1): Float64Array {
  const out = new Float64Array(numKeys);
  const rng = new Rng(((spec.seed ?? jobSeed) ^ 0x41dd3c) >>> 0);
  const s = spec.sigma;
  for (let k = 0; k < numKeys; k++) {
    out[k] = Math.exp(s * rng.normal() - (s * s) / 2);
  }
  return out;
}
