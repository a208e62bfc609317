// Issue 7 on the engine: keyed state follows its key through migrations with no loss or duplication.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadJobConfig } from '../../src/engine/config.js';
import { buildJob, runJob } from '../../src/engine/job.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { Rng } from '../../src/common/rng.js';
import { referenceGlobal } from '../../src/tasks/index.js';

async function run(sets: string[], schedule?: (P: number, numBins: number) => Array<{ atMs: number; owners: number[] }>) {
  const cfg = loadJobConfig(undefined, ['task.name=keyedcount', 'workload.params.numKeys=2000', 'capacity=30000', 'source.rate=20000', 'queueCapacity=200', ...sets]);
  const sink = new CollectingSink();
  const job = buildJob(cfg, { sink });
  const numBins = 2 ** cfg.migration.binBits;
  const params = schedule ? { ...job.params, migrationSchedule: schedule(cfg.workers, numBins) } : job.params;
  const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
  const res = await runJob({ ...job, params }, { recordInput: input });
  const ref = referenceGlobal(job.parts.op, { keys: input.keys, payloads: input.payloads, timesMs: input.times });
  return { res, sink, ref, cfg };
}

function expectExact(sink: CollectingSink, ref: Array<{ key: number; output: unknown }>): void {
  expect(sink.state.size).toBe(ref.length);
  for (const r of ref) expect(sink.state.get(r.key), `key ${r.key}`).toEqual(r.output);
}

describe('migration on the virtual clock', () => {
  it('random plans (≥ 1000 moves in total), random P and strategies keep the final state exact', async () => {
    let totalMoves = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom('all-at-once', 'fluid', 'batched', 'chunked'),
        fc.integer({ min: 0, max: 1e6 }),
        async (P, strategy, seed) => {
          const { res, sink, ref } = await run([`workers=${P}`, `migration.strategy=${strategy}`, 'migration.binBits=6', 'durationMs=3000', `seed=${seed}`], (P, numBins) => {
            const rng = new Rng(seed);
            return Array.from({ length: 6 }, (_, i) => ({ atMs: 200 + i * 400, owners: Array.from({ length: numBins }, () => rng.int(P)) }));
          });
          expectExact(sink, ref);
          const moves = res.migrations.reduce((a, m) => a + m.moves, 0);
          if (P > 1) expect(moves).toBeGreaterThan(0);
          totalMoves += moves;
        },
      ),
      { numRuns: 30, seed: 42 },
    );
    expect(totalMoves).toBeGreaterThanOrEqual(1000);
  });

  it('dalton (which concentrates hot keys) migrates automatically; hash only aligns once, early', async () => {
    const d = await run(['workers=8', 'partitioner.name=dalton', 'workload.params.exponent=1.5', 'durationMs=6000']);
    expectExact(d.sink, d.ref);
    expect(d.res.migrations.length).toBeGreaterThan(0);
    // Hash sends each key to one fixed worker: a bin dominated by a hot key follows it there once, in the
    // first slides, and nothing moves afterwards.
    const h = await run(['workers=8', 'partitioner.name=hash', 'durationMs=8000']);
    expectExact(h.sink, h.ref);
    const released = h.res.migrations.flatMap((m) => m.steps.map((s) => s.startMs));
    expect(released.every((t) => t < 3000)).toBe(true);
    // Uniform keys, ~390 keys per bin: no bin has a majority worker under hash, so nothing moves at all.
    const u = await run(['workers=8', 'partitioner.name=hash', 'workload.name=uniform', 'workload.params.numKeys=100000', 'migration.binBits=8', 'durationMs=3000']);
    expectExact(u.sink, u.ref);
    expect(u.res.migrations.length).toBe(0);
  });

  it('standby copies (migration.replicate): exact, and the moves that reload a copy send only the keys changed since', async () => {
    for (const strategy of ['fluid', 'batched', 'chunked']) {
      const sched = (P: number, numBins: number) => {
        const rng = new Rng(11);
        return Array.from({ length: 4 }, (_, i) => ({ atMs: 300 + i * 600, owners: Array.from({ length: numBins }, () => rng.int(P)) }));
      };
      const base = ['workers=6', `migration.strategy=${strategy}`, 'migration.binBits=6', 'durationMs=3000', 'seed=5'];
      const full = await run(base, sched);
      const rep = await run([...base, 'migration.replicate=1'], sched);
      expectExact(rep.sink, rep.ref);
      const sum = (ms: typeof rep.res.migrations, f: (m: (typeof ms)[number]) => number) => ms.reduce((a, m) => a + f(m), 0);
      expect(sum(rep.res.migrations, (m) => m.moves), strategy).toBe(sum(full.res.migrations, (m) => m.moves));
      expect(sum(full.res.migrations, (m) => m.replicaBytes)).toBe(0);
      expect(sum(rep.res.migrations, (m) => m.replicaBytes), strategy).toBeGreaterThan(0);
      // bytes moved at the steps: only changed keys for the reloaded bins
      expect(sum(rep.res.migrations, (m) => m.bytes), strategy).toBeLessThan(sum(full.res.migrations, (m) => m.bytes));
    }
  });

  it('a plan naming an unknown worker is rejected before anything moves', async () => {
    await expect(run(['workers=4', 'durationMs=1000'], (_P, numBins) => [{ atMs: 100, owners: Array.from({ length: numBins }, () => 9) }])).rejects.toMatchObject({ code: 'PLAN_INVALID' });
  });
});

describe('migration on the real clock (worker threads)', () => {
  for (const strategy of ['all-at-once', 'fluid', 'batched']) {
    it(`${strategy}: random plans across threads keep the final state exact`, async () => {
      const { res, sink, ref } = await run(['workers=4', 'clock=real', 'threads=2', `migration.strategy=${strategy}`, 'migration.binBits=5', 'durationMs=1500'], (P, numBins) => {
        const rng = new Rng(7);
        return Array.from({ length: 3 }, (_, i) => ({ atMs: 200 + i * 300, owners: Array.from({ length: numBins }, () => rng.int(P)) }));
      });
      expectExact(sink, ref);
      expect(res.migrations.reduce((a, m) => a + m.moves, 0)).toBeGreaterThan(20);
    });
  }
  it('batched with standby copies across threads keeps the final state exact and reloads copies', async () => {
    const { res, sink, ref } = await run(['workers=4', 'clock=real', 'threads=2', 'migration.strategy=batched', 'migration.replicate=1', 'migration.binBits=5', 'durationMs=1500'], (P, numBins) => {
      const rng = new Rng(7);
      return Array.from({ length: 3 }, (_, i) => ({ atMs: 200 + i * 300, owners: Array.from({ length: numBins }, () => rng.int(P)) }));
    });
    expectExact(sink, ref);
    expect(res.migrations.reduce((a, m) => a + m.moves, 0)).toBeGreaterThan(20);
    expect(res.migrations.reduce((a, m) => a + m.replicaBytes, 0)).toBeGreaterThan(0);
  });
  it('dalton migrates automatically on the real clock too, exactly', async () => {
    const d = await run(['workers=4', 'clock=real', 'threads=2', 'partitioner.name=dalton', 'durationMs=2500']);
    expectExact(d.sink, d.ref);
    expect(d.res.migrations.length).toBeGreaterThan(0);
  });
});

describe('run-wide latency histogram (virtual clock)', () => {
  it('counts every record exactly once, replayed records included', async () => {
    const { res } = await run(['workers=4', 'migration.binBits=5', 'durationMs=2000'], (P, numBins) => [{ atMs: 500, owners: Array.from({ length: numBins }, (_, b) => (b + 1) % P) }]);
    expect(res.migrations.reduce((a, m) => a + m.replayed, 0)).toBeGreaterThan(0);
    expect(res.latency.total).toBe(res.records);
    const w = await run(['workers=4', 'task.name=wordcount', 'durationMs=1500']);
    expect(w.res.latency.total).toBe(w.res.records);
  });
});
