// Planner: order/batch/replicate functions, the built-in strategies, and validatePlan's rejections.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, PlanError, SasError } from '../../src/common/errors.js';
import {
  BinMap,
  type BinMove,
  type MigrationPlan,
  STRATEGY_NAMES,
  batchMatching,
  diffMaps,
  maxBipartiteMatching,
  orderHotFirst,
  orderRandom,
  planMigration,
  validatePlan,
} from '../../src/engine/migration/index.js';

const mapPair = fc
  .record({ P: fc.integer({ min: 1, max: 8 }), bits: fc.integer({ min: 1, max: 6 }) })
  .chain(({ P, bits }) =>
    fc.record({
      P: fc.constant(P),
      to: fc.array(fc.nat({ max: P - 1 }), { minLength: 2 ** bits, maxLength: 2 ** bits }),
    }),
  )
  .map(({ P, to }) => ({ P, from: BinMap.initial(to.length, P), to: BinMap.fromOwners(to, P) }));

/** Largest number of moves a worker sends or receives. */
function maxDegree(moves: readonly BinMove[]): number {
  const out = new Map<number, number>();
  const inn = new Map<number, number>();
  let d = 0;
  for (const m of moves) {
    out.set(m.from, (out.get(m.from) ?? 0) + 1);
    inn.set(m.to, (inn.get(m.to) ?? 0) + 1);
    d = Math.max(d, out.get(m.from) as number, inn.get(m.to) as number);
  }
  return d;
}

/** Maximum matching size of moves as sender→receiver edges, by Kuhn's simple augmenting paths (independent oracle). */
function kuhnMaxMatching(moves: readonly BinMove[]): number {
  const adj = new Map<number, number[]>();
  for (const m of moves) adj.set(m.from, [...(adj.get(m.from) ?? []), m.to]);
  const matchR = new Map<number, number>();
  const tryL = (u: number, seen: Set<number>): boolean => {
    for (const v of adj.get(u) ?? []) {
      if (seen.has(v)) continue;
      seen.add(v);
      const w = matchR.get(v);
      if (w === undefined || tryL(w, seen)) {
        matchR.set(v, u);
        return true;
      }
    }
    return false;
  };
  let n = 0;
  for (const u of adj.keys()) if (tryL(u, new Set())) n++;
  return n;
}

const sortMoves = (ms: readonly BinMove[]) => [...ms].sort((a, b) => a.bin - b.bin);

describe('planMigration', () => {
  it('every strategy moves exactly the diff, each bin once, and validates to the target map', () => {
    fc.assert(
      fc.property(mapPair, fc.constantFrom(...STRATEGY_NAMES), fc.constantFrom('hot-first', 'bin', 'random'), ({ P, from, to }, strategy, order) => {
        const plan = planMigration(from, to, strategy, { order, seed: 3, chunkSize: 5 });
        const all = plan.steps.flatMap((s) => s.moves);
        expect(sortMoves(all)).toEqual(diffMaps(from, to));
        const final = validatePlan(plan, from, P, from.numBins);
        expect(final.owners).toEqual(to.owners);
        expect(final.version).toBe(plan.steps.length);
        expect(plan.replicas).toEqual([]);
        expect(plan.steps.every((s) => s.moves.length > 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('all-at-once is one step, fluid one bin per step, chunked fixed-size steps', () => {
    const from = BinMap.initial(32, 4);
    const to = BinMap.fromOwners(
      Array.from({ length: 32 }, (_, b) => (b + 1) % 4),
      4,
    );
    const n = diffMaps(from, to).length;
    expect(n).toBe(32);
    expect(planMigration(from, to, 'all-at-once').steps.map((s) => s.moves.length)).toEqual([32]);
    expect(planMigration(from, to, 'fluid').steps.map((s) => s.moves.length)).toEqual(new Array(32).fill(1));
    expect(planMigration(from, to, 'chunked', { chunkSize: 10 }).steps.map((s) => s.moves.length)).toEqual([10, 10, 10, 2]);
    expect(planMigration(from, from, 'batched').steps).toEqual([]);
  });

  it('batched: every step is a matching, maximum among the remaining moves, and steps are between Δ and 2Δ−1', () => {
    fc.assert(
      fc.property(mapPair, ({ from, to }) => {
        const moves = diffMaps(from, to);
        const steps = batchMatching(moves);
        let rest = moves;
        for (const s of steps) {
          expect(new Set(s.map((m) => m.from)).size).toBe(s.length);
          expect(new Set(s.map((m) => m.to)).size).toBe(s.length);
          expect(s.length).toBe(kuhnMaxMatching(rest));
          rest = rest.filter((m) => !s.includes(m));
        }
        expect(rest).toEqual([]);
        const d = maxDegree(moves);
        expect(steps.length).toBeGreaterThanOrEqual(d);
        expect(steps.length).toBeLessThanOrEqual(Math.max(0, 2 * d - 1));
      }),
      { numRuns: 300 },
    );
  });

  it('batched reuses a round\'s matching only when it would compute the same one: equal to matching every round afresh', () => {
    /** The planner without reuse: one Hopcroft–Karp per round over each pair's first remaining move. */
    const everyRound = (ordered: readonly BinMove[]): BinMove[][] => {
      const n = Math.max(0, ...ordered.map((m) => Math.max(m.from, m.to) + 1));
      const rest = ordered.map((_, i) => i);
      const out: BinMove[][] = [];
      while (rest.length > 0) {
        const seen = new Set<number>();
        const reps = rest.filter((i) => {
          const pair = ordered[i].from * n + ordered[i].to;
          if (seen.has(pair)) return false;
          seen.add(pair);
          return true;
        });
        const picked = maxBipartiteMatching({ nLeft: n, nRight: n, left: reps.map((i) => ordered[i].from), right: reps.map((i) => ordered[i].to) });
        const step = picked.map((e) => reps[e]).sort((a, b) => a - b);
        out.push(step.map((i) => ordered[i]));
        for (const i of step) rest.splice(rest.indexOf(i), 1);
      }
      return out;
    };
    fc.assert(
      fc.property(mapPair, fc.nat(), ({ from, to }, seed) => {
        const ordered = orderRandom(seed)(diffMaps(from, to), {});
        expect(batchMatching(ordered)).toEqual(everyRound(ordered));
      }),
      { numRuns: 300 },
    );
  });

  it('batched on a perfect shift (each worker sends 1 and receives 1 per round) needs exactly Δ steps', () => {
    const P = 6;
    const from = BinMap.initial(48, P);
    const to = BinMap.fromOwners(
      Array.from({ length: 48 }, (_, b) => (b + 1) % P),
      P,
    );
    const steps = planMigration(from, to, 'batched').steps;
    expect(steps.length).toBe(8);
    expect(steps.every((s) => s.moves.length === P)).toBe(true);
  });

  it('hot-first orders by descending bin rate, ties by bin; all-at-once keeps that order', () => {
    const moves: BinMove[] = [0, 1, 2, 3].map((b) => ({ bin: b, from: 0, to: 1 }));
    const rate = [1, 5, 5, 9];
    expect(orderHotFirst(moves, { binRate: rate }).map((m) => m.bin)).toEqual([3, 1, 2, 0]);
    expect(orderHotFirst(moves, {}).map((m) => m.bin)).toEqual([0, 1, 2, 3]);
    const from = BinMap.fromOwners([0, 0, 0, 0], 2);
    const to = BinMap.fromOwners([1, 1, 1, 1], 2);
    expect(planMigration(from, to, 'fluid', {}, { binRate: rate }).steps.map((s) => s.moves[0].bin)).toEqual([3, 1, 2, 0]);
  });

  it('batched puts the hottest move in the first step', () => {
    // worker 0 sends bins 0..3 to worker 1: 4 rounds; hot-first must send bin 2 first.
    const from = BinMap.fromOwners([0, 0, 0, 0], 2);
    const to = BinMap.fromOwners([1, 1, 1, 1], 2);
    const steps = planMigration(from, to, 'batched', {}, { binRate: [0, 0, 7, 1] }).steps;
    expect(steps.map((s) => s.moves.map((m) => m.bin))).toEqual([[2], [3], [0], [1]]);
  });

  it('random order is a seeded permutation', () => {
    const moves: BinMove[] = Array.from({ length: 50 }, (_, b) => ({ bin: b, from: 0, to: 1 }));
    const a = orderRandom(1)(moves, {});
    expect(orderRandom(1)(moves, {})).toEqual(a);
    expect(sortMoves(a)).toEqual(moves);
    expect(orderRandom(2)(moves, {})).not.toEqual(a);
  });

  it('a custom strategy composes order, batch and replicate', () => {
    const from = BinMap.initial(8, 2);
    const to = BinMap.initial(8, 1);
    const plan = planMigration(from, BinMap.fromOwners(to.owners, 2), {
      order: (ms) => [...ms].reverse(),
      batch: (ms) => [ms.slice(0, 1), ms.slice(1)],
      replicate: (ordered) => ordered.map((m) => ({ bin: m.bin, worker: m.to })),
    });
    expect(plan.steps[0].moves.map((m) => m.bin)).toEqual([7]);
    expect(plan.steps[1].moves.map((m) => m.bin)).toEqual([5, 3, 1]);
    expect(plan.replicas).toEqual([7, 5, 3, 1].map((bin) => ({ bin, worker: 0 })));
  });

  it('replicate option: standby copies of the last ⌈fraction · moves⌉ moves in plan order, at their destinations', () => {
    const from = BinMap.initial(8, 2); // odd bins on worker 1
    const to = BinMap.fromOwners(BinMap.initial(8, 1).owners, 2); // everything on worker 0
    const plan = planMigration(from, to, 'fluid', { order: 'bin', replicate: 0.5 });
    expect(plan.steps.map((s) => s.moves[0].bin)).toEqual([1, 3, 5, 7]);
    expect(plan.replicas).toEqual([{ bin: 5, worker: 0 }, { bin: 7, worker: 0 }]);
    expect(planMigration(from, to, 'fluid', { order: 'bin', replicate: 0.25 }).replicas).toEqual([{ bin: 7, worker: 0 }]);
    expect(planMigration(from, to, 'fluid', { order: 'bin', replicate: 0.3 }).replicas).toHaveLength(2); // ⌈1.2⌉
    expect(planMigration(from, to, 'fluid', { order: 'bin' }).replicas).toEqual([]);
    expect(() => planMigration(from, to, 'fluid', { replicate: 1.5 })).toThrow(/migration\.replicate/);
  });

  it('rejects an unknown strategy and bad options with errors naming the field', () => {
    const m = BinMap.initial(4, 2);
    try {
      planMigration(m, m, 'teleport' as never);
      expect.unreachable();
    } catch (e) {
      expect((e as SasError).code).toBe('UNKNOWN_NAME');
      expect((e as SasError).context.field).toBe('migration.strategy');
    }
    for (const [opts, field] of [
      [{ chunkSize: 0 }, 'migration.chunkSize'],
      [{ order: 'cold-first' }, 'migration.order'],
      [{ bogus: 1 }, 'migration'],
    ] as const) {
      try {
        planMigration(m, m, 'chunked', opts);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).context.field).toBe(field);
      }
    }
  });
});

describe('validatePlan', () => {
  const P = 3;
  const cur = BinMap.initial(6, P); // owners 0 1 2 0 1 2
  const plan = (...steps: BinMove[][]): MigrationPlan => ({ steps: steps.map((moves) => ({ moves })), replicas: [] });
  const expectPlanError = (p: MigrationPlan, ctx: Record<string, unknown>) => {
    try {
      validatePlan(p, cur, P, 6);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).code).toBe('PLAN_INVALID');
      expect((e as PlanError).context).toMatchObject(ctx);
    }
  };

  it('accepts a valid multi-step plan (a bin moving twice) and returns the final map', () => {
    const final = validatePlan(plan([{ bin: 0, from: 0, to: 1 }], [{ bin: 0, from: 1, to: 2 }, { bin: 1, from: 1, to: 0 }]), cur, P, 6);
    expect([...final.owners]).toEqual([2, 0, 2, 0, 1, 2]);
    expect([...cur.owners]).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('rejects an unknown worker', () => {
    expectPlanError(plan([{ bin: 0, from: 0, to: 3 }]), { step: 0, bin: 0, worker: 3, reason: 'unknown-worker' });
    expectPlanError(plan([], [{ bin: 1, from: -1, to: 0 }]), { step: 1, bin: 1, worker: -1, reason: 'unknown-worker' });
  });

  it('rejects an unknown bin', () => {
    expectPlanError(plan([{ bin: 6, from: 0, to: 1 }]), { step: 0, bin: 6, reason: 'unknown-bin' });
    expectPlanError(plan([{ bin: 1.5, from: 0, to: 1 }]), { step: 0, reason: 'unknown-bin' });
  });

  it('rejects a from that is not the owner at that step (after earlier steps)', () => {
    expectPlanError(plan([{ bin: 1, from: 0, to: 2 }]), { step: 0, bin: 1, worker: 0, owner: 1, reason: 'not-owner' });
    expectPlanError(plan([{ bin: 0, from: 0, to: 1 }], [{ bin: 0, from: 0, to: 2 }]), { step: 1, bin: 0, worker: 0, owner: 1, reason: 'not-owner' });
  });

  it('rejects a duplicate bin within one step, and a self-move', () => {
    expectPlanError(plan([{ bin: 2, from: 2, to: 0 }, { bin: 2, from: 0, to: 1 }]), { step: 0, bin: 2, reason: 'duplicate-bin' });
    expectPlanError(plan([{ bin: 2, from: 2, to: 2 }]), { step: 0, bin: 2, worker: 2, reason: 'self-move' });
  });

  it('rejects replicas on unknown bins or workers, and a map of the wrong size', () => {
    expect(() => validatePlan({ steps: [], replicas: [{ bin: 9, worker: 0 }] }, cur, P, 6)).toThrow(PlanError);
    expect(() => validatePlan({ steps: [], replicas: [{ bin: 0, worker: 5 }] }, cur, P, 6)).toThrow(PlanError);
    expect(() => validatePlan(plan(), cur, P, 8)).toThrow(PlanError);
    expect(() => validatePlan(plan(), cur, 2, 6)).toThrow(PlanError);
  });

  it('a replica must sit on the worker the plan first moves its bin to, once per bin', () => {
    const steps = [[{ bin: 0, from: 0, to: 1 }], [{ bin: 0, from: 1, to: 2 }, { bin: 1, from: 1, to: 0 }]];
    const withReplicas = (replicas: { bin: number; worker: number }[]): MigrationPlan => ({ steps: steps.map((moves) => ({ moves })), replicas });
    expect([...validatePlan(withReplicas([{ bin: 0, worker: 1 }, { bin: 1, worker: 0 }]), cur, P, 6).owners]).toEqual([2, 0, 2, 0, 1, 2]);
    expectPlanError(withReplicas([{ bin: 0, worker: 2 }]), { bin: 0, worker: 2, reason: 'replica-not-destination' }); // 2 is its second move
    expectPlanError(withReplicas([{ bin: 3, worker: 1 }]), { bin: 3, worker: 1, reason: 'replica-not-destination' }); // not moved
    expectPlanError(withReplicas([{ bin: 1, worker: 0 }, { bin: 1, worker: 0 }]), { bin: 1, reason: 'duplicate-bin' });
  });
});
