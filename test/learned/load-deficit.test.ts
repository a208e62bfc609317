// load-deficit hot routing (ours) and the water-filling balance pass: golden sequences by hand, fast-check invariants.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LearnedRouter, type HotRule } from '../../src/partitioners/learned/learned-router.js';
import { WaterFill } from '../../src/partitioners/learned/prior.js';
import { createSasPartitioner, sasPartitionerParams } from '../../src/partitioners/saspartitioner.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import { createHash } from '../../src/partitioners/hash.js';
import { ConfigError } from '../../src/common/errors.js';
import { Rng } from '../../src/common/rng.js';
import type { Mask } from '../../src/rl-agent/mask.js';

const ctx = (P: number, numKeys = 1000) => ({ numWorkers: P, seed: 1, numKeys, slideMs: 1000, clock: { nowMs: 0 } });

/** P = 4, one true hot key (42) uniform over workers [1, 4); cold key 4 hashes to worker 2 (murmur3 seed 38324). */
function router(rule: HotRule): LearnedRouter {
  const r = new LearnedRouter({ numWorkers: 4, numKeys: 100, numHotKeys: 1, mask: [{ start: 1, end: 4 }], sketchCapacity: 0, hotRule: rule });
  r.swap([42], 1, [1], null);
  return r;
}

describe('load-deficit routing (golden)', () => {
  it('hot records make up for the cold load of their workers, inside the mask range only', () => {
    expect(createHash(ctx(4), { seed: 38324 }).route(4)).toBe(2);
    const stream = [4, 42, 42, 42, 4, 42, 42, 42];
    const r = router('load-deficit');
    r.setTargets([1, 1, 1, 1]);
    // By hand, targets .25 each, v_w = .25·N − load_w (N counts the record being routed):
    // cold → 2, load (0,0,1,0); N=2: v(1,2,3) = (.5, −.5, .5) → 1; N=3: (−.25, −.25, .75) → 3;
    // N=4: (0, 0, 0) tie → 1; cold → 2, load (0,2,2,1); N=6: (−.5, −.5, .5) → 3;
    // N=7: (−.25, −.25, −.25) tie → 1; N=8: (−1, 0, 0) → 2. Worker 0 is the furthest behind throughout
    // but outside the key's range.
    expect(stream.map((k) => r.route(k))).toEqual([2, 1, 3, 1, 2, 3, 1, 2]);
    // SaS's per-key rule on the same table ignores the cold load: 1, 2, 3, 1, 2, 3.
    const s = router('key-deficit');
    s.setTargets([1, 1, 1, 1]);
    expect(stream.map((k) => s.route(k))).toEqual([2, 1, 2, 3, 2, 1, 2, 3]);
  });

  it('unequal targets are followed; without targets (or after a swap) the rule is key-deficit', () => {
    const r = router('load-deficit');
    r.setTargets([0, 1, 2, 1]);
    // targets (0, .25, .5, .25), hot records only, v over workers (1, 2, 3): N=1: (.25, .5, .25) → 2;
    // N=2: (.5, 0, .5) → 1 (tie, lowest); N=3: (−.25, .5, .75) → 3; N=4: (0, 1, 0) → 2.
    expect([42, 42, 42, 42].map((k) => r.route(k))).toEqual([2, 1, 3, 2]);
    r.swap(undefined, 0, undefined, undefined);
    const k = router('key-deficit');
    expect([4, 42, 42, 42, 4, 42, 42, 42].map((x) => r.route(x))).toEqual([4, 42, 42, 42, 4, 42, 42, 42].map((x) => k.route(x)));
    // zero targets leave it on key-deficit too
    r.swap(undefined, 0, undefined, undefined);
    r.setTargets([0, 0, 0, 0]);
    const k2 = router('key-deficit');
    expect([42, 4, 42, 42].map((x) => r.route(x))).toEqual([42, 4, 42, 42].map((x) => k2.route(x)));
  });

  it('with record costs the deficits weigh work, not records', () => {
    const stream = [4, 42, 42, 42, 42, 42];
    const costs = [5, 1, 1, 3, 1, 2];
    const r = router('load-deficit');
    r.setTargets([1, 1, 1, 1]);
    // By hand, N and loads in cost units, v_w = .25·N − load_w over workers (1, 2, 3):
    // cold (5) → 2, load (0,0,5,0); N=6: (1.5, −3.5, 1.5) tie → 1; N=7: (.75, −3.25, 1.75) → 3;
    // N=10 (cost 3): (1.5, −2.5, 1.5) tie → 1, load (0,4,5,1); N=11: (−1.25, −2.25, 1.75) → 3;
    // N=13 (cost 2): (−.75, −1.75, 1.25) → 3.
    expect(stream.map((k, i) => r.route(k, costs[i]))).toEqual([2, 1, 3, 1, 3, 3]);
    // counting records instead (no costs): N=2..4 gives 1, 3, 1, then (−.75, .25, .25) → 2, then (−.5, −.5, .5) → 3
    const c = router('load-deficit');
    c.setTargets([1, 1, 1, 1]);
    expect(stream.map((k) => c.route(k))).toEqual([2, 1, 3, 1, 2, 3]);
    // key-deficit on shares of the key's cost (targets 1/3 each), realised cost per worker before each
    // hot record: (0,0,0) → 1; (1,0,0) → 2; (1,1,0) → 3 (cost 3); (1,1,3): deficits (.13, .13, −.27) → 1;
    // (2,1,3): (0, .17, −.17) → 2
    const k = router('key-deficit');
    expect(stream.map((x, i) => k.route(x, costs[i]))).toEqual([2, 1, 2, 3, 1, 2]);
    // the detector's and the offline action's counts stay in records
    expect(Array.from({ length: 4 }, (_, w) => r.slideCounts[w])).toEqual([0, 2, 0, 3]);
  });

  it('the partitioner asks the engine for costs unless weighByCost is false', () => {
    const on = createPartitioner('saspartitioner', ctx(4), { checkpoint: 'none', numHotKeys: 2, numTrueHotKeys: 2 });
    expect(on.usesCost).toBe(true);
    const off = createPartitioner('saspartitioner', ctx(4), { checkpoint: 'none', numHotKeys: 2, numTrueHotKeys: 2, weighByCost: false });
    expect(off.usesCost).toBe(false);
    expect(createPartitioner('saspartitioner-adaptive', ctx(4), { models: [{ alpha: 0, checkpoint: 'none' }], weighByCost: false }).usesCost).toBe(false);
    expect(createPartitioner('saspartitioner-adaptive', ctx(4), { models: [{ alpha: 0, checkpoint: 'none' }] }).usesCost).toBe(true);
    expect(() => createPartitioner('saspartitioner', ctx(4), { checkpoint: 'none', weighByCost: 'yes' })).toThrow(/weighByCost/);
  });

  it('the partitioner parameter is validated and defaults to load-deficit', () => {
    expect(sasPartitionerParams.parse({ checkpoint: 'none' }).hotRule).toBe('load-deficit');
    expect(() => createPartitioner('saspartitioner', ctx(4), { checkpoint: 'none', hotRule: 'nope' })).toThrow(ConfigError);
    const p = createPartitioner('saspartitioner', ctx(4), { checkpoint: 'none', hotRule: 'key-deficit', numHotKeys: 2, numTrueHotKeys: 2 }) as ReturnType<typeof createSasPartitioner>;
    expect(p.router.hotRule).toBe('key-deficit');
  });
});

/** A random mask over P workers: `t` contiguous ranges. */
const maskArb = fc.integer({ min: 2, max: 16 }).chain((P) =>
  fc.record({
    P: fc.constant(P),
    mask: fc.array(
      fc.tuple(fc.integer({ min: 0, max: P - 1 }), fc.integer({ min: 1, max: P })).map(([a, w]): { start: number; end: number } => ({ start: a, end: Math.min(P, a + w) })),
      { minLength: 1, maxLength: 5 },
    ),
    targets: fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: P, maxLength: P }),
    action: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 80, maxLength: 80 }),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  }),
);

describe('load-deficit routing (properties)', () => {
  it('route is in [0, P), hot keys stay on positive shares of their range, cold keys go where hash does, same input → same routes', () => {
    fc.assert(
      fc.property(maskArb, ({ P, mask, targets, action, seed }) => {
        const m: Mask = mask;
        const T = m.length;
        const mk = () => {
          const r = new LearnedRouter({ numWorkers: P, numKeys: 200, numHotKeys: T, mask: m, sketchCapacity: 0, hotRule: 'load-deficit' });
          r.swap(Array.from({ length: T }, (_, i) => 100 + i), T, undefined, action);
          r.setTargets(targets);
          return r;
        };
        const a = mk();
        const b = mk();
        const hash = createHash(ctx(P, 200), { seed: 38324 });
        const rng = new Rng(seed);
        for (let i = 0; i < 400; i++) {
          const key = rng.next() < 0.6 ? 100 + Math.floor(rng.next() * T) : Math.floor(rng.next() * 100);
          const w = a.route(key);
          expect(b.route(key)).toBe(w);
          expect(w).toBeGreaterThanOrEqual(0);
          expect(w).toBeLessThan(P);
          const s = a.slotOfKey(key);
          if (s < 0) expect(w === hash.route(key)).toBe(true);
          else if (m[s].end > m[s].start && Array.from({ length: P }, (_, x) => a.share(s, x)).some((p) => p > 0)) {
            expect(w).toBeGreaterThanOrEqual(m[s].start);
            expect(w).toBeLessThan(m[s].end);
            expect(a.share(s, w)).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('one hot key over all workers with equal targets: hot records only ever fill the least loaded workers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 1 << 30 }), (P, colds, seed) => {
        const r = new LearnedRouter({ numWorkers: P, numKeys: 100, numHotKeys: 1, mask: [{ start: 0, end: P }], sketchCapacity: 0, hotRule: 'load-deficit' });
        r.swap([7], 1, undefined, null);
        r.setTargets(new Array(P).fill(1));
        const load = new Array(P).fill(0);
        const rng = new Rng(seed);
        for (let i = 0; i < colds; i++) load[r.route(8 + Math.floor(rng.next() * 90))]++;
        const spread0 = Math.max(...load) - Math.min(...load);
        // P · spread0 hot records: each goes to a least-loaded worker (lowest index), so the spread never
        // grows past max(spread0, 1) and ends at most 1 (SaS's per-key rule ignores the cold records)
        for (let i = 0; i < P * Math.max(1, spread0); i++) {
          const min = Math.min(...load);
          const w = r.route(7);
          expect(load[w]).toBe(min);
          expect(w).toBe(load.indexOf(min));
          load[w]++;
          expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(Math.max(spread0, 1));
        }
        expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });
});

describe('load-deficit routing with costs (properties)', () => {
  it('one hot key over all workers, equal targets: each hot record goes to the least loaded worker in cost, and the spread ends within the largest cost', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.array(fc.tuple(fc.integer({ min: 8, max: 97 }), fc.integer({ min: 1, max: 10 })), { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 400 }),
        (P, colds, hots) => {
          const r = new LearnedRouter({ numWorkers: P, numKeys: 100, numHotKeys: 1, mask: [{ start: 0, end: P }], sketchCapacity: 0, hotRule: 'load-deficit' });
          r.swap([7], 1, undefined, null);
          r.setTargets(new Array(P).fill(1));
          const load = new Array(P).fill(0);
          for (const [key, cost] of colds) load[r.route(key, cost)] += cost;
          const spread0 = Math.max(...load) - Math.min(...load);
          let hotCost = 0;
          for (const cost of hots) {
            const min = Math.min(...load);
            const w = r.route(7, cost);
            expect(w).toBe(load.indexOf(min));
            load[w] += cost;
            hotCost += cost;
          }
          // enough hot work to level everything: the spread is at most one record's cost
          if (hotCost >= P * (spread0 + 10)) expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(10);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('water-filling balance pass (ours)', () => {
  it('golden: levels the workers below the min-max level too', () => {
    // key 0 only on worker 0 (load 5), key 1 on workers 1–2 (load 2): the level is 5 (worker 0).
    // EDF at level 5 packs key 1 on worker 1 → totals (5, 2, 0); the balance pass gives (5, 1, 1).
    const mask = [{ start: 0, end: 1 }, { start: 1, end: 3 }];
    const packed = new WaterFill(mask, 3, 0, 0);
    const out = new Float64Array(6);
    expect(packed.solve([0, 0, 0], [5, 2], out)).toBeCloseTo(5, 9);
    expect(Array.from(packed.totals)).toEqual([5, 2, 0]);
    const fill = new WaterFill(mask, 3);
    expect(fill.solve([0, 0, 0], [5, 2], out)).toBeCloseTo(5, 9);
    expect(Array.from(fill.totals, (x) => Number(x.toFixed(9)))).toEqual([5, 1, 1]);
    expect(Array.from(out.slice(3), (x) => Number(x.toFixed(9)))).toEqual([0, 0.5, 0.5]);
    // with cold load 0.5 on worker 2, key 1 levels workers 1 and 2 at 1.25
    fill.solve([0, 0, 0.5], [5, 2], out);
    expect(Array.from(fill.totals, (x) => Number(x.toFixed(9)))).toEqual([5, 1.25, 1.25]);
  });

  it('never raises the min-max level, and the totals are a balanced split of the same load', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }).chain((P) =>
          fc.record({
            P: fc.constant(P),
            mask: fc.array(fc.tuple(fc.integer({ min: 0, max: P - 1 }), fc.integer({ min: 1, max: P })).map(([a, w]) => ({ start: a, end: Math.min(P, a + w) })), { minLength: 1, maxLength: 6 }),
            base: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: P, maxLength: P }),
            loads: fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { minLength: 6, maxLength: 6 }),
          }),
        ),
        ({ P, mask, base, loads }) => {
          const T = mask.length;
          const l = loads.slice(0, T);
          const packed = new WaterFill(mask, P, 0, 0);
          const fill = new WaterFill(mask, P, 0);
          const o1 = new Float64Array(T * P);
          const o2 = new Float64Array(T * P);
          const L0 = packed.solve(base, l, o1);
          const L1 = fill.solve(base, l, o2);
          const total = base.reduce((a, b) => a + b, 0) + l.reduce((a, b) => a + b, 0);
          const tol = 1e-6 * Math.max(1, total);
          expect(L1).toBeLessThanOrEqual(L0 + tol);
          expect(Math.abs(fill.totals.reduce((a, b) => a + b, 0) - total)).toBeLessThan(tol);
          // sum of squares never grows (coordinate descent on Σ total²)
          const sq = (t: Float64Array) => t.reduce((a, b) => a + b * b, 0);
          expect(sq(fill.totals)).toBeLessThanOrEqual(sq(packed.totals) + tol * Math.max(1, total));
        },
      ),
      { numRuns: 300 },
    );
  });
});
