// MigrationRouter: routing by the current epoch's map, plan validation up front, markers and plan summaries.
import { describe, expect, it } from 'vitest';
import { PlanError } from '../../src/common/errors.js';
import { BinMap, MigrationRouter, createBinning, planMigration } from '../../src/engine/migration/index.js';

const binning = createBinning({ binBits: 3 });

describe('MigrationRouter', () => {
  it('routes by bin owner, switches epoch only through poll, and records plan summaries', () => {
    const r = new MigrationRouter(binning, 2);
    for (let k = 0; k < 100; k++) expect(r.route(k)).toBe(binning.binOf(k) % 2);
    const target = BinMap.fromOwners([1, 1, 1, 1, 1, 1, 1, 1], 2);
    const plan = planMigration(r.map, target, 'batched');
    expect(plan.steps).toHaveLength(4); // worker 0 sends 4 bins to worker 1, one per step
    r.start(plan);
    expect(r.migrating).toBe(true);
    expect(r.epoch).toBe(0);
    const m1 = r.poll(0);
    expect(m1).toEqual({ type: 'migration.marker', epoch: 1, moves: plan.steps[0].moves });
    expect(r.epoch).toBe(1);
    expect(r.poll(1)).toBeUndefined(); // waits for the install ack
    expect(() => r.start(plan)).toThrow(PlanError);
    for (let e = 1; e <= 4; e++) {
      const bin = plan.steps[e - 1].moves[0].bin;
      r.onInstalled({ type: 'migration.installed', epoch: e, bin, from: 0, to: 1, bytes: 10, replayed: 0 }, 10 * e);
      if (e < 4) expect(r.poll(10 * e)?.epoch).toBe(e + 1);
    }
    expect(r.migrating).toBe(false);
    for (let k = 0; k < 100; k++) expect(r.route(k)).toBe(1);
    const [s] = r.summaries();
    expect(s).toMatchObject({ completedSteps: 4, moves: 4, bytes: 40 });
  });

  it('rejects an invalid plan before anything moves', () => {
    const r = new MigrationRouter(binning, 2);
    expect(() => r.start({ steps: [{ moves: [{ bin: 1, from: 0, to: 1 }] }], replicas: [] })).toThrow(PlanError);
    expect(r.migrating).toBe(false);
    expect(r.poll(0)).toBeUndefined();
    expect(r.epoch).toBe(0);
  });

  it('advance() starts an epoch without moves, also between steps of a running plan', () => {
    const r = new MigrationRouter(binning, 2);
    expect(r.advance()).toEqual({ type: 'migration.marker', epoch: 1, moves: [] });
    r.start(planMigration(r.map, BinMap.fromOwners([1, 1, 0, 1, 0, 1, 0, 1], 2), 'fluid'));
    expect(r.poll(0)?.epoch).toBe(2);
    expect(r.advance().epoch).toBe(3);
    r.onInstalled({ type: 'migration.installed', epoch: 2, bin: 0, from: 0, to: 1, bytes: 1, replayed: 0 }, 1);
    expect(r.migrating).toBe(false);
    expect([...r.map.owners]).toEqual([1, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('a plan without steps finishes at once', () => {
    const r = new MigrationRouter(binning, 2);
    r.start(planMigration(r.map, r.map, 'fluid'));
    expect(r.migrating).toBe(false);
    expect(r.summaries()).toHaveLength(1);
  });
});
