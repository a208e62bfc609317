// Exactness of the epoch-aligned hand-over under random plans and random delivery interleavings (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PlanSource, type SimConfig, simulate } from './sim.js';

const sources: PlanSource[] = ['all-at-once', 'fluid', 'batched', 'chunked', 'walk'];

const config = (source: PlanSource, maxInFlight: number) =>
  fc.record<SimConfig>({
    seed: fc.nat(),
    P: fc.integer({ min: 1, max: 16 }),
    binBits: fc.integer({ min: 1, max: 7 }),
    numKeys: fc.integer({ min: 1, max: 400 }),
    records: fc.integer({ min: 0, max: 1500 }),
    plans: fc.integer({ min: 1, max: 6 }),
    source: fc.constant(source),
    maxInFlight: fc.constant(maxInFlight),
    maxMoves: fc.constant(1000),
  });

describe('migration protocol exactness (keyed count vs. a run without migration)', () => {
  for (const source of sources) {
    it(`${source}: no loss, no duplication, per-key order kept, every worker idle at the end`, () => {
      fc.assert(
        fc.property(config(source, 1), (cfg) => {
          const r = simulate(cfg);
          expect(r.problems).toEqual([]);
        }),
        { numRuns: 150 },
      );
    });
  }

  for (const source of ['batched', 'walk'] as const) {
    it(`${source} with overlapping configurations (steps released before the previous completed)`, () => {
      fc.assert(
        fc.property(config(source, Infinity), (cfg) => {
          expect(simulate(cfg).problems).toEqual([]);
        }),
        { numRuns: 150 },
      );
    });
  }

  for (const source of ['batched', 'walk'] as const) {
    it(`${source} with several input channels per worker, aligned by EpochAligner`, () => {
      fc.assert(
        fc.property(config(source, Infinity), fc.integer({ min: 2, max: 4 }), (cfg, inputs) => {
          expect(simulate({ ...cfg, inputs }).problems).toEqual([]);
        }),
        { numRuns: 100 },
      );
    });
  }

  for (const source of ['batched', 'walk'] as const) {
    it(`${source} with the hot keys isolated in bins of their own`, () => {
      fc.assert(
        fc.property(config(source, Infinity), (cfg) => {
          expect(simulate({ ...cfg, isolateHot: true }).problems).toEqual([]);
        }),
        { numRuns: 100 },
      );
    });
  }

  for (const source of ['fluid', 'batched', 'chunked', 'walk'] as const) {
    it(`${source} with standby copies (replica + delta of the keys changed since), overlapping or not, one or several inputs`, () => {
      fc.assert(
        fc.property(config(source, 1), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 2, 5, Infinity), (cfg, replicate, overlap, inputs, replicaLead) => {
          expect(simulate({ ...cfg, replicate, inputs, replicaLead, maxInFlight: overlap ? Infinity : 1 }).problems).toEqual([]);
        }),
        { numRuns: 120 },
      );
    });
  }

  it('standby copies are really used: deltas replace full transfers, some arrive before their snapshot, and they carry fewer keys', () => {
    let replicaMsgs = 0;
    let deltas = 0;
    let before = 0;
    for (let seed = 0; seed < 30; seed++) {
      const r = simulate({ seed, P: 4, binBits: 3, numKeys: 200, records: 1500, plans: 3, source: seed % 2 ? 'fluid' : 'walk', maxInFlight: seed % 3 ? 1 : Infinity, maxMoves: 1000, replicate: 1, replicaLead: seed % 4 ? 1 : Infinity });
      expect(r.problems).toEqual([]);
      replicaMsgs += r.replicaMsgs;
      deltas += r.deltas;
      before += r.deltasBeforeReplica;
    }
    expect(replicaMsgs).toBeGreaterThan(20);
    expect(deltas).toBeGreaterThan(20);
    expect(deltas).toBeLessThanOrEqual(replicaMsgs);
    expect(before).toBeGreaterThan(0);
  });

  it.each([1, 2, 3])('the same workload at P=%i workers is exact with every strategy', (P) => {
    for (const source of sources) {
      const r = simulate({ seed: 42, P, binBits: 4, numKeys: 300, records: 3000, plans: 3, source, maxInFlight: 1, maxMoves: 1000 });
      expect(r.problems).toEqual([]);
      expect(r.moves > 0).toBe(P > 1);
    }
  });

  it('a large run: P=16, 1000 moves, fluid (1000 epochs), still exact', () => {
    const r = simulate({ seed: 7, P: 16, binBits: 8, numKeys: 2000, records: 20000, plans: 10, source: 'fluid', maxInFlight: 1, maxMoves: 1000 });
    expect(r.problems).toEqual([]);
    expect(r.moves).toBeGreaterThanOrEqual(1000);
    expect(r.epochs).toBeGreaterThanOrEqual(r.steps); // plus epochs without moves (router.advance)
    expect(r.stateMsgs).toBe(r.moves);
    expect(r.replayed).toBeGreaterThan(0);
  });

  it('the scenarios really exercise buffering, early state and moving on before the state arrived', () => {
    let replayed = 0;
    let deferred = 0;
    let early = 0;
    let maxBuffered = 0;
    for (let seed = 0; seed < 40; seed++) {
      const r = simulate({ seed, P: 3, binBits: 2, numKeys: 50, records: 500, plans: 4, source: 'walk', maxInFlight: Infinity, maxMoves: 1000 });
      expect(r.problems).toEqual([]);
      replayed += r.replayed;
      deferred += r.deferredExports;
      early += r.earlyStates;
      maxBuffered = Math.max(maxBuffered, r.maxBuffered);
    }
    expect(replayed).toBeGreaterThan(100);
    expect(maxBuffered).toBeGreaterThan(5);
    expect(deferred).toBeGreaterThan(5);
    expect(early).toBeGreaterThan(5);
  });

  it('numeric state (TaskOperator.numeric: stores hold numbers): every strategy, overlapping or not, with or without standby copies, stays exact', () => {
    fc.assert(
      fc.property(fc.constantFrom(...sources), fc.boolean(), fc.constantFrom(0, 0.5, 1), fc.integer({ min: 1, max: 3 }), (source, overlap, replicate, inputs) =>
        fc.assert(
          fc.property(config(source, overlap ? Infinity : 1), (cfg) => {
            expect(simulate({ ...cfg, numeric: true, replicate, inputs: overlap ? inputs : 1 }).problems).toEqual([]);
          }),
          { numRuns: 5 },
        ),
      ),
      { numRuns: 40 },
    );
    const r = simulate({ seed: 7, P: 16, binBits: 8, numKeys: 2000, records: 20000, plans: 10, source: 'fluid', maxInFlight: 1, maxMoves: 1000, numeric: true });
    expect(r.problems).toEqual([]);
    expect(r.moves).toBeGreaterThanOrEqual(1000);
    expect(r.replayed).toBeGreaterThan(0);
  });

  it('the oracle has teeth: a lost state message and a duplicated record are reported', () => {
    const base: SimConfig = { seed: 3, P: 4, binBits: 3, numKeys: 100, records: 800, plans: 2, source: 'batched', maxInFlight: 1, maxMoves: 1000 };
    expect(simulate(base).problems).toEqual([]);
    const lost = simulate({ ...base, dropStateMsg: 1 });
    expect(lost.problems.length).toBeGreaterThan(0);
    const dup = simulate({ ...base, duplicateRecord: 5 });
    expect(dup.problems.some((p) => p.includes('applied after'))).toBe(true);
    // the same with numeric state: the lost state shows in the final sums
    expect(simulate({ ...base, numeric: true }).problems).toEqual([]);
    expect(simulate({ ...base, numeric: true, dropStateMsg: 1 }).problems.length).toBeGreaterThan(0);
  });
});
