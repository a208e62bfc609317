// Checks a migration plan against the current bin map before anything moves.
import { PlanError } from '../../common/errors.js';
import { BinMap, type BinMove } from './bins.js';
import type { MigrationPlan } from './planner.js';

/**
 * Checks one step's moves against `owners` (bin → owner before the step) and applies them in place.
 * Throws PlanError (code PLAN_INVALID, context { step, bin, worker, ... }) for an unknown bin, an
 * unknown worker, a move whose `from` is not the owner, a move to its own owner, or a bin twice in the step.
 * `owners` is left unchanged when it throws.
 */
export function checkStep(moves: readonly BinMove[], owners: Int32Array, numWorkers: number, step: number): void {
  // Every endpoint runs this on every marker: no allocation for small steps (duplicates found by a scan
  // below SMALL_STEP moves, with a Set above), context objects only when a move is rejected.
  const seen = moves.length > SMALL_STEP ? new Set<number>() : undefined;
  for (let i = 0; i < moves.length; i++) {
    const m = moves[i];
    if (!(Number.isInteger(m.bin) && m.bin >= 0 && m.bin < owners.length)) {
      throw new PlanError(`step ${step}: unknown bin ${m.bin} (bins are 0..${owners.length - 1})`, { ...stepCtx(step, m), reason: 'unknown-bin' });
    }
    if (!isWorker(m.from, numWorkers)) {
      throw new PlanError(`step ${step}, bin ${m.bin}: unknown worker ${m.from}`, { ...stepCtx(step, m), worker: m.from, reason: 'unknown-worker' });
    }
    if (!isWorker(m.to, numWorkers)) {
      throw new PlanError(`step ${step}, bin ${m.bin}: unknown worker ${m.to}`, { ...stepCtx(step, m), worker: m.to, reason: 'unknown-worker' });
    }
    if (seen !== undefined ? seen.has(m.bin) : repeats(moves, i)) {
      throw new PlanError(`step ${step}: bin ${m.bin} appears twice`, { ...stepCtx(step, m), reason: 'duplicate-bin' });
    }
    seen?.add(m.bin);
    if (owners[m.bin] !== m.from) {
      throw new PlanError(`step ${step}, bin ${m.bin}: from ${m.from} is not the owner (owner is ${owners[m.bin]})`, {
        ...stepCtx(step, m),
        worker: m.from,
        owner: owners[m.bin],
        reason: 'not-owner',
      });
    }
    if (m.from === m.to) {
      throw new PlanError(`step ${step}, bin ${m.bin}: moves to its own owner ${m.to}`, { ...stepCtx(step, m), worker: m.to, reason: 'self-move' });
    }
  }
  for (const m of moves) owners[m.bin] = m.to;
}

const SMALL_STEP = 32;

/** True when moves[i].bin already occurs in moves[0..i). */
function repeats(moves: readonly BinMove[], i: number): boolean {
  const bin = moves[i].bin;
  for (let j = 0; j < i; j++) if (moves[j].bin === bin) return true;
  return false;
}

function isWorker(w: number, numWorkers: number): boolean {
  return Number.isInteger(w) && w >= 0 && w < numWorkers;
}

function stepCtx(step: number, m: BinMove): { step: number; bin: number; from: number; to: number } {
  return { step, bin: m.bin, from: m.from, to: m.to };
}

/**
 * Validates every step of `plan` in order against `currentMap`, as the steps would apply, with
 * `numWorkers` workers and `numBins` bins; also checks each replica (known bin and worker, one per
bin, on the worker the plan first moves that bin to: reason `replica-not-destination`). Throws the
 * first PlanError (context names step, bin and worker); nothing is mutated. Returns the map after the
 * last step (version = currentMap.version + number of steps).
 */
export function validatePlan(plan: MigrationPlan, currentMap: BinMap, numWorkers: number, numBins: number): BinMap {
  if (currentMap.numBins !== numBins) {
    throw new PlanError(`current map has ${currentMap.numBins} bins, expected ${numBins}`, { numBins, mapBins: currentMap.numBins });
  }
  for (let b = 0; b < numBins; b++) {
    if (currentMap.owners[b] >= numWorkers) {
      throw new PlanError(`bin ${b} is owned by worker ${currentMap.owners[b]}, beyond ${numWorkers} workers`, {
        bin: b,
        worker: currentMap.owners[b],
        reason: 'unknown-worker',
      });
    }
  }
  const owners = currentMap.owners.slice();
  plan.steps.forEach((s, i) => checkStep(s.moves, owners, numWorkers, i));
  // A standby copy serves one move: the bin's first move in the plan must go to the replica's worker.
  const firstMoveTo = new Map<number, number>();
  for (const st of plan.steps) for (const m of st.moves) if (!firstMoveTo.has(m.bin)) firstMoveTo.set(m.bin, m.to);
  const replicated = new Set<number>();
  for (const r of plan.replicas) {
    if (!(Number.isInteger(r.bin) && r.bin >= 0 && r.bin < numBins)) {
      throw new PlanError(`replica: unknown bin ${r.bin}`, { bin: r.bin, worker: r.worker, reason: 'unknown-bin' });
    }
    if (!(Number.isInteger(r.worker) && r.worker >= 0 && r.worker < numWorkers)) {
      throw new PlanError(`replica of bin ${r.bin}: unknown worker ${r.worker}`, { bin: r.bin, worker: r.worker, reason: 'unknown-worker' });
    }
    if (replicated.has(r.bin)) throw new PlanError(`replica: bin ${r.bin} twice`, { bin: r.bin, worker: r.worker, reason: 'duplicate-bin' });
    replicated.add(r.bin);
    const to = firstMoveTo.get(r.bin);
    if (to !== r.worker) {
      throw new PlanError(`replica of bin ${r.bin} on worker ${r.worker}: the plan ${to === undefined ? 'does not move that bin' : `moves it to worker ${to} first`}`, {
        bin: r.bin,
        worker: r.worker,
        reason: 'replica-not-destination',
      });
    }
  }
  return BinMap.fromOwners(owners, numWorkers, currentMap.version + plan.steps.length);
}
