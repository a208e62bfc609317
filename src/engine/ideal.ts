// The physical ideal of a job: the highest rate any exact plan could sustain on its simulated cluster.
import type { TaskOperator, Workload } from '../tasks/types.js';
import type { EngineParams } from './types.js';

/** What the ideal is computed from (a built job's parts, with a fresh workload to sample). */
export interface IdealInputs {
  readonly params: EngineParams;
  readonly op: TaskOperator;
  /** A fresh instance of the job's workload (it is consumed by sampling). */
  readonly workload: Workload;
  /** Records sampled at each time point. Default 50000. */
  readonly sampleRecords?: number;
  /** Time points across the run at which the key distribution is sampled. Default 8. */
  readonly points?: number;
}

/** The ideal and how it was bound. */
export interface PhysicalIdeal {
  /** Records/s; Infinity when the cluster's capacity is unlimited. */
  readonly ideal: number;
  /** Which resource binds at the ideal: the workers' capacity or the reducers'. */
  readonly bound: 'workers' | 'reducers' | 'unlimited';
  /** Total worker capacity, units/s (speeds and schedules averaged over the run). */
  readonly capacity: number;
  /** Mean true cost of a record, units (hidden costs included). */
  readonly meanCost: number;
  /** Share of the workers' capacity that goes to emitting partials at the ideal. */
  readonly emitShare: number;
}

/**
 * The physical ideal (design.md, "The ideal is the physical limit"): the largest rate λ at which
 *
 *   λ · c̄ + emitCost · closes/s · (D(λ) + Σ_k (m_k − 1)) ≤ Σ_w capacity_w · speed_w
 *   mergeCost · closes/s · Σ_{k: m_k ≥ 2} m_k ≤ Σ_r reducerCapacity_r
 *
 * where c̄ is the mean true record cost, D(λ) = Σ_k (1 − e^(−λ·W·p_k)) the expected distinct keys in a
 * window of W seconds (every key present must be emitted at least once), and m_k = ⌈λ·p_k·c_k / max
 * worker capacity⌉ the fewest workers key k can be split over (a key heavier than one worker must be
 * split, and each part is one more partial to emit and merge). Key shares p_k and costs c_k are
 * sampled from the workload at several times; the ideal is the largest over them, so that it bounds
 * every interval a ramp may judge. An upper bound: no exact plan sustains more.
 */
export function physicalIdeal(inp: IdealInputs): PhysicalIdeal {
  const { params, op, workload } = inp;
  const P = params.P;
  let capacity = 0;
  let maxCap = 0;
  for (let w = 0; w < P; w++) {
    const c = params.capacity[w] * (params.cluster ? params.cluster.meanFactor(w, params.durationMs) : 1);
    capacity += c;
    if (c > maxCap) maxCap = c;
  }
  const n = inp.sampleRecords ?? 50_000;
  const points = inp.points ?? 8;
  const keys = new Int32Array(n);
  const payloads = new Int32Array(n);
  const hidden = params.hiddenCost;
  const windowed = op.kind === 'windowed';
  const m = params.merge;
  const emitCost = windowed && m ? m.emitCost : 0;
  const mergeCost = windowed && m ? m.mergeCost : 0;
  let reducerCap = 0;
  if (m) for (let r = 0; r < m.reducerCapacity.length; r++) reducerCap += m.reducerCapacity[r];
  else reducerCap = Infinity;
  const closesPerSec = 1000 / params.window.slideMs;
  const windowSec = params.window.sizeMs / 1000;
  let best: PhysicalIdeal | undefined;
  let meanCostAll = 0;
  for (let pt = 0; pt < points; pt++) {
    const t = (params.durationMs * pt) / points;
    const got = workload.fill(keys, payloads, 0, n, t);
    if (got === 0) break;
    const count = new Map<number, number>();
    const units = new Map<number, number>();
    let total = 0;
    for (let i = 0; i < got; i++) {
      const c = op.cost(payloads[i]) * (hidden ? hidden[keys[i]] : 1);
      total += c;
      count.set(keys[i], (count.get(keys[i]) ?? 0) + 1);
      units.set(keys[i], (units.get(keys[i]) ?? 0) + c);
    }
    const meanCost = total / got;
    meanCostAll += meanCost / points;
    const shares = [...count].map(([k, c]) => ({ p: c / got, cost: units.get(k)! / c }));
    /** Worker and reducer load per second at rate λ. */
    const load = (lambda: number): { workers: number; reducers: number; emit: number } => {
      let distinct = 0;
      let extraParts = 0;
      let mergeParts = 0;
      for (const s of shares) {
        if (windowed) distinct += 1 - Math.exp(-lambda * windowSec * s.p);
        const parts = maxCap > 0 ? Math.ceil((lambda * s.p * s.cost) / maxCap) : 1;
        if (parts >= 2) {
          extraParts += parts - 1;
          mergeParts += parts;
        }
      }
      const emit = emitCost * closesPerSec * (distinct + (windowed ? extraParts : 0));
      return { workers: lambda * meanCost + emit, reducers: mergeCost * closesPerSec * (windowed ? mergeParts : 0), emit };
    };
    if (!(capacity < Infinity)) return { ideal: Infinity, bound: 'unlimited', capacity, meanCost, emitShare: 0 };
    const feasible = (lambda: number): boolean => {
      const l = load(lambda);
      return l.workers <= capacity && l.reducers <= reducerCap;
    };
    let lo = 0;
    let hi = capacity / Math.max(meanCost, 1e-12);
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      if (feasible(mid)) lo = mid;
      else hi = mid;
    }
    const l = load(hi);
    const bound = l.reducers > reducerCap ? 'reducers' : 'workers';
    const cand: PhysicalIdeal = { ideal: lo, bound, capacity, meanCost, emitShare: load(lo).emit / capacity };
    if (!best || cand.ideal > best.ideal) best = cand;
  }
  return best ? { ...best, meanCost: meanCostAll } : { ideal: 0, bound: 'workers', capacity, meanCost: 0, emitShare: 0 };
}
