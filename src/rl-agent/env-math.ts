// Observation scaling and reward, shared by the online path, the offline dataset and the simulator.
import { DataError, ConfigError } from '../common/errors.js';
import { imbalance, nmad } from '../common/metrics.js';

/**
 * Busy-time value (ms per second) at or above which a worker counts as saturated; its observation
 * entry becomes SATURATED_OBS. Follows the offline parser and simulator of SaSPartitioner
 * (research/saspartitioner.md §2.2); the reference's online path did not do this (gotcha §7.1).
 */
export const SATURATED_BUSY_MS = 1000;
/** Observation value of a saturated worker (busy ≥ 1000 ms/s). */
export const SATURATED_OBS = 2.0;
/** Lower and upper bound of every observation entry. */
export const OBS_MIN = 0;
export const OBS_MAX = 2;

function checkFinite(xs: ArrayLike<number>, field: string): void {
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    if (!Number.isFinite(v) || v < 0) {
      throw new DataError(`${field}[${i}]: expected a finite number >= 0, got ${v}`, { field: `${field}[${i}]`, got: v });
    }
  }
}

/**
 * Builds the 2P observation (research/saspartitioner.md §2.2), one scaling for every path:
 * - workload block [0, P): per worker tuple count c → (c − mean)/(5·std) + 1 clipped to [0, 2], or 1
 *   when std = 0 (std is the population standard deviation over the P workers);
 * - busy block [P, 2P): busy ms/s → busy/1000, and busy ≥ 1000 → 2.0 (saturated or back-pressured).
 * `counts` and `busyMs` must have the same length P ≥ 1 and hold finite values ≥ 0 (DataError
 * otherwise). Writes into `out` when given (length 2P), so the hot path need not allocate.
 */
export function scaleObservation(counts: ArrayLike<number>, busyMs: ArrayLike<number>, out?: Float32Array): Float32Array {
  const p = counts.length;
  if (p < 1 || busyMs.length !== p) {
    throw new DataError(`observation: counts (${p}) and busyMs (${busyMs.length}) must have the same length >= 1`, {
      field: 'busyMs',
      expected: p,
      got: busyMs.length,
    });
  }
  checkFinite(counts, 'counts');
  checkFinite(busyMs, 'busyMs');
  const obs = out ?? new Float32Array(2 * p);
  if (obs.length !== 2 * p) throw new DataError(`observation: out has length ${obs.length}, expected ${2 * p}`, { field: 'out' });
  let sum = 0;
  for (let i = 0; i < p; i++) sum += counts[i];
  const mean = sum / p;
  let sq = 0;
  for (let i = 0; i < p; i++) sq += (counts[i] - mean) ** 2;
  const std = Math.sqrt(sq / p);
  for (let i = 0; i < p; i++) {
    obs[i] = std === 0 ? 1 : clip((counts[i] - mean) / (5 * std) + 1, OBS_MIN, OBS_MAX);
    const b = busyMs[i];
    obs[p + i] = b >= SATURATED_BUSY_MS ? SATURATED_OBS : b / 1000;
  }
  return obs;
}

/**
 * Performance score on busy time (lower is better): perf = (imbalance + NMAD)/2 with
 * imbalance = max/mean − 1 and NMAD = Σ|b − mean|/(P·mean) (research/saspartitioner.md §2.4; both
 * from src/common/metrics.ts, 0 when every worker is idle).
 */
export function perfScore(busyMs: ArrayLike<number>): number {
  return (imbalance(busyMs) + nmad(busyMs)) / 2;
}

/** Throws a ConfigError unless `base` is a finite number > 0 (the reference divided by zero at 0; §7.2). */
export function validateRewardBase(base: number, field = 'rewardBase'): number {
  if (!Number.isFinite(base) || base <= 0) {
    throw new ConfigError(`${field}: expected a finite number > 0, got ${base}`, { field, expected: '> 0', got: base });
  }
  return base;
}

/**
 * Reward from a perf score (research/saspartitioner.md §2.4): f = (base − perf)/base and
 * r = 2f + sign(f)·f², i.e. (1+f)² − 1 for f > 0 and −((1−f)² − 1) otherwise. `base` is the fixed
 * reference perf (default DEFAULT_REWARD_BASE) and must be > 0.
 */
export function rewardFromPerf(perf: number, base: number = DEFAULT_REWARD_BASE): number {
  validateRewardBase(base);
  const f = (base - perf) / base;
  return 2 * f + Math.sign(f) * f * f;
}

/** Default reward base: SaSPartitioner's `initial_perf = 0.6` (RemoteEnvConfig, §2.7). */
export const DEFAULT_REWARD_BASE = 0.6;

/** Reward of a slide directly from per-worker busy ms/s: rewardFromPerf(perfScore(busyMs), base). */
export function rewardFromBusy(busyMs: ArrayLike<number>, base: number = DEFAULT_REWARD_BASE): number {
  return rewardFromPerf(perfScore(busyMs), base);
}

/** The `info` fields sent with every step (and logged): imbalance, nmad and perf over busy time. */
export interface StepInfo {
  imbalance: number;
  nmad: number;
  perf: number;
}

/** The info record of one slide from per-worker busy ms/s. */
export function stepInfo(busyMs: ArrayLike<number>): StepInfo {
  const im = imbalance(busyMs);
  const nm = nmad(busyMs);
  return { imbalance: im, nmad: nm, perf: (im + nm) / 2 };
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
