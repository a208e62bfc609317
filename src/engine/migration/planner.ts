// Spacker's planner split (order, batch, replicate) and the three classic strategies built from it.
import { z } from 'zod';
import { UnknownNameError } from '../../common/errors.js';
import { Rng } from '../../common/rng.js';
import { parseOrThrow } from '../../common/validate.js';
import { type BinMap, type BinMove, diffMaps } from './bins.js';
import { maxBipartiteMatching } from './matching.js';

/** One step of a plan: moves released together at one epoch. */
export interface MigrationStep {
  readonly moves: readonly BinMove[];
}

/**
 * A standby copy of a bin on `worker`, the worker the plan first moves the bin to (Spacker's
 * replication, per plan). The owner ships a snapshot a few steps before the move (coordinator
 * `replicaLeadSteps`) and records which keys change after it. At the bin's move the owner then sends
 * only those keys, and the destination installs snapshot + changed keys.
 */
export interface Replica {
  readonly bin: number;
  readonly worker: number;
}

/**
 * A migration plan: steps run one after another. Invariant (checked by validatePlan): within a step
 * every bin appears at most once and each move's `from` is the bin's owner after the earlier steps.
 * The driver starts step i+1 only after every move of step i was installed at its destination
 * (Megaphone §4.4 / Spacker `onMigrationCompleted`).
 */
export interface MigrationPlan {
  readonly steps: readonly MigrationStep[];
  /** Standby copies requested by the `replicate` function (empty by default). */
  readonly replicas: readonly Replica[];
}

/** Runtime statistics the order function may use. */
export interface PlanStats {
  /** Recent records per second (or any rate) of each bin, indexed by bin. Missing bins count as 0. */
  readonly binRate?: ArrayLike<number>;
}

/** Spacker's prioritisation: orders the moves (must return a permutation of its input). */
export type OrderFn = (moves: readonly BinMove[], stats: PlanStats) => BinMove[];
/** Spacker's progressiveness: cuts the ordered moves into steps, each bin in exactly one step. */
export type BatchFn = (ordered: readonly BinMove[]) => BinMove[][];
/** Spacker's replication: standby copies for some of the ordered moves, each on the move's destination (none by default). */
export type ReplicateFn = (ordered: readonly BinMove[]) => Replica[];

/** Hot-first (default order): descending `stats.binRate[bin]`, ties by ascending bin (Spacker §III-B2). */
export const orderHotFirst: OrderFn = (moves, stats) => {
  const rate = stats.binRate;
  const r = (b: number): number => (rate !== undefined && b < rate.length ? rate[b] : 0) || 0;
  return [...moves].sort((a, b) => r(b.bin) - r(a.bin) || a.bin - b.bin);
};

/** Ascending bin id (Spacker's `default` order function). */
export const orderByBin: OrderFn = (moves) => [...moves].sort((a, b) => a.bin - b.bin);

/** A seeded random order (Spacker's `random`): Fisher–Yates over bin order, driven by `Rng(seed)`. */
export function orderRandom(seed: number): OrderFn {
  return (moves) => {
    const out = [...moves].sort((a, b) => a.bin - b.bin);
    const rng = new Rng(seed);
    for (let i = out.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  };
}

/** Fixed-size chunks in the given order (Spacker `sync_keys`); size Infinity = one step. */
export function batchFixed(size: number): BatchFn {
  return (ordered) => {
    const out: BinMove[][] = [];
    if (ordered.length === 0) return out;
    if (!Number.isFinite(size)) return [[...ordered]];
    for (let i = 0; i < ordered.length; i += size) out.push(ordered.slice(i, i + size));
    return out;
  };
}

/**
 * Bipartite-matching rounds (Megaphone §4.4): repeatedly take a maximum matching (Hopcroft–Karp) of the
 * remaining moves seen as a multigraph sender → receiver, so that in each step every worker sends at most
 * one bin and receives at most one bin. Edges are offered in `ordered` order, so hotter moves tend to go
 * first; within a step moves keep that order. The number of steps is at least the largest number of
 * moves any worker sends or receives (not always equal to it: greedy rounds are not an optimal colouring).
 *
 * Parallel moves (same sender and receiver) are collapsed to their first remaining one before matching,
 * since a matching uses at most one of them: each round is a Hopcroft–Karp over at most P² edges instead
 * of over every remaining move (half of 1024 bins over 8 workers: ≈ 40 ms → < 1 ms, which the real
 * clock pays on its main thread when a plan starts).
 */
export const batchMatching: BatchFn = (ordered) => {
  let n = 0;
  for (const m of ordered) n = Math.max(n, m.from + 1, m.to + 1);
  // Per (sender, receiver) pair, its moves' indices in `ordered` order; `head` = next one not yet stepped.
  const queues = new Map<number, { idx: number[]; head: number }>();
  for (let i = 0; i < ordered.length; i++) {
    const pair = ordered[i].from * n + ordered[i].to;
    let q = queues.get(pair);
    if (q === undefined) queues.set(pair, (q = { idx: [], head: 0 }));
    q.idx.push(i);
  }
  const out: BinMove[][] = [];
  let left = ordered.length;
  // The matching depends only on the pairs offered and their order. While those stay the same (no pair
  // runs out, none overtakes another), the previous round's choice is the answer again: a plan of
  // 2048 moves over 4 pairs ran 512 matchings (5-14 ms on the real clock's main thread), now a few.
  let prevPairs: number[] = [];
  let prevPicked: number[] = [];
  while (left > 0) {
    // One representative edge per pair (its first remaining move), offered in `ordered` order.
    const reps: number[] = [];
    for (const q of queues.values()) if (q.head < q.idx.length) reps.push(q.idx[q.head]);
    reps.sort((a, b) => a - b);
    const pairs = reps.map((i) => ordered[i].from * n + ordered[i].to);
    const same = pairs.length === prevPairs.length && pairs.every((p, k) => p === prevPairs[k]);
    const picked = same
      ? prevPicked
      : maxBipartiteMatching({
          nLeft: n,
          nRight: n,
          left: reps.map((i) => ordered[i].from),
          right: reps.map((i) => ordered[i].to),
        });
    prevPairs = pairs;
    prevPicked = picked;
    const step = picked.map((e) => reps[e]).sort((a, b) => a - b);
    for (const i of step) queues.get(ordered[i].from * n + ordered[i].to)!.head++;
    out.push(step.map((i) => ordered[i]));
    left -= step.length;
  }
  return out;
};

/** No standby copies (default). */
export const replicateNone: ReplicateFn = () => [];

/**
 * Standby copies of the last ⌈fraction · moves⌉ moves in plan order, at their destinations: the bins
 * that wait longest, so their snapshots have the most time to travel before their step.
 */
export function replicateLast(fraction: number): ReplicateFn {
  return (ordered) => {
    const n = Math.ceil(Math.max(0, Math.min(1, fraction)) * ordered.length);
    return ordered.slice(ordered.length - n).map((m) => ({ bin: m.bin, worker: m.to }));
  };
}

/** A custom strategy: any combination of the three functions. */
export interface CustomStrategy {
  readonly order: OrderFn;
  readonly batch: BatchFn;
  readonly replicate?: ReplicateFn;
}

/** Built-in strategy names: `all-at-once` (one step), `fluid` (one bin per step), `batched` (matching rounds), `chunked` (fixed size). */
export const STRATEGY_NAMES = ['all-at-once', 'fluid', 'batched', 'chunked'] as const;
/** A built-in strategy name. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Options of planMigration, validated with zod (errors name `migration.<field>`). */
export const PlanOptionsSchema = z
  .object({
    /** Move order: `hot-first` (default; needs stats.binRate, else bin order), `bin`, `random`. */
    order: z.enum(['hot-first', 'bin', 'random']).default('hot-first'),
    /** Seed of the `random` order. Default 0. */
    seed: z.number().int().default(0),
    /** Moves per step for `chunked`. Default 16 (Spacker's chunk-16). */
    chunkSize: z.number().int().min(1).default(16),
    /** Share of the moves, the last in plan order, that get a standby copy at their destination first (`replicateLast`). Default 0. */
    replicate: z.number().min(0).max(1).default(0),
  })
  .strict();

/** Validated planMigration options. */
export type PlanOptions = z.infer<typeof PlanOptionsSchema>;

/** Resolves a built-in strategy name and options to the three functions (UnknownNameError for a bad name). */
export function strategyFunctions(strategy: StrategyName | CustomStrategy, opts: PlanOptions): CustomStrategy {
  if (typeof strategy !== 'string') return strategy;
  if (!(STRATEGY_NAMES as readonly string[]).includes(strategy)) {
    throw new UnknownNameError('migration strategy', String(strategy), STRATEGY_NAMES, 'migration.strategy');
  }
  const order = opts.order === 'hot-first' ? orderHotFirst : opts.order === 'bin' ? orderByBin : orderRandom(opts.seed);
  const replicate = opts.replicate > 0 ? replicateLast(opts.replicate) : replicateNone;
  switch (strategy) {
    case 'all-at-once':
      return { order, batch: batchFixed(Infinity), replicate };
    case 'fluid':
      return { order, batch: batchFixed(1), replicate };
    case 'batched':
      return { order, batch: batchMatching, replicate };
    case 'chunked':
      return { order, batch: batchFixed(opts.chunkSize), replicate };
  }
}

/**
 * Plans the migration from `fromMap` to `toMap`: moves = bins whose owner differs, then
 * `order(moves, stats)` → `batch(ordered)` → steps, and `replicate(ordered moves)` → replicas.
 * Strategies: all-at-once = one step with every move; fluid = one bin per step; batched = matching rounds;
 * chunked = fixed-size steps; or a CustomStrategy. Raw options are validated (ConfigError naming
 * `migration.<field>`). Identical maps give a plan with no steps.
 */
export function planMigration(
  fromMap: BinMap,
  toMap: BinMap,
  strategy: StrategyName | CustomStrategy = 'batched',
  rawOpts: unknown = {},
  stats: PlanStats = {},
): MigrationPlan {
  const opts = parseOrThrow(PlanOptionsSchema, rawOpts, 'migration');
  const fns = strategyFunctions(strategy, opts);
  const moves = diffMaps(fromMap, toMap);
  const ordered = fns.order(moves, stats);
  const steps = fns.batch(ordered).filter((s) => s.length > 0).map((moves) => ({ moves }));
  const replicas = (fns.replicate ?? replicateNone)(ordered);
  return { steps, replicas };
}
