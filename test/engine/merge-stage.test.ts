// The honest cluster on the virtual clock: merge costs bind, stragglers show in busy time, hidden costs
// stay hidden from route(), and results stay exact under all of it.
import { describe, expect, it } from 'vitest';
import { costSpy } from '../helpers/cost-spy.js';
import { loadJobConfig } from '../../src/engine/config.js';
import { physicalIdeal } from '../../src/engine/ideal.js';
import { buildJob, runJob } from '../../src/engine/job.js';
import { RampController } from '../../src/engine/ramp.js';
import { runMaxThroughput } from '../../src/engine/max-throughput.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import type { Partitioner } from '../../src/partitioners/types.js';
import { referenceWindowed, type Workload } from '../../src/tasks/index.js';

describe('the merge stage', () => {
  it("a reducer-bound job's max throughput is reducer capacity / merge cost per record, within one ramp step", async () => {
    // Each key arrives twice in a row and round robin sends the two records to the two workers, so
    // (but for a pair cut by a window boundary) every record becomes one partial merged at the one
    // reducer. Workers and emission are free: the reducer (1000 units/s, 2 units per merge) is the only
    // bound, 500 records/s.
    const step = 25;
    const bound = 1000 / 2;
    const maxRate = async (mergeCost: number): Promise<{ max: number; backpressured: boolean }> => {
      const cfg = loadJobConfig(undefined, [
        'workload.name=uniform',
        'workload.params={numKeys: 1000000}',
        'partitioner.name=shuffle',
        'workers=2',
        'reducers=1',
        'capacity=unlimited',
        `merge={emitCost: 0, mergeCost: ${mergeCost}, reducerCapacity: 1000, reducerQueue: 2000}`,
        "queueCapacity=200",
        'durationMs=200000',
        `ramp={initialRate: 300, rateStep: ${step}, maxStep: ${step}, stepDivisor: 2, intervalMs: 3000, maxRate: 1200}`,
      ]);
      const job = buildJob(cfg);
      let i = 0;
      const pairs: Workload = {
        name: 'pairs',
        numKeys: 1_000_000,
        fill(keys, payloads, offset, n) {
          for (let j = 0; j < n; j++, i++) {
            keys[offset + j] = Math.floor(i / 2) % 1_000_000;
            payloads[offset + j] = i % 1000;
          }
          return n;
        },
      };
      const ramp = new RampController(cfg.ramp);
      await runJob({ ...job, params: { ...job.params, rate: ramp }, parts: { ...job.parts, workload: pairs } }, { onSlide: (r) => ramp.onSlide(r), shouldStop: () => ramp.done });
      const last = ramp.steps[ramp.steps.length - 1];
      return { max: ramp.maxSustained, backpressured: last !== undefined && !last.sustained };
    };
    const bound2 = await maxRate(2);
    expect(bound2.backpressured).toBe(true);
    expect(Math.abs(bound2.max - bound)).toBeLessThanOrEqual(step);
    // Free merges (the old model): the same job runs past the reducer's bound, to the ramp's cap.
    const free = await maxRate(0);
    expect(free.max).toBeGreaterThan(2 * bound);
  });

  it('emitting partials costs the combiner emitCost units each, charged to its busy time', async () => {
    const base = ['workload.params={numKeys: 50, exponent: 1.0}', 'workers=2', 'capacity=100000', 'source.rate=200', 'durationMs=4000', 'partitioner.name=hash', 'merge.mergeCost=0'];
    const busy = async (emit: number): Promise<{ busy: number; partials: number }> => {
      const sink = new CollectingSink();
      const job = buildJob(loadJobConfig(undefined, [...base, `merge.emitCost=${emit}`]), { sink });
      const res = await runJob(job);
      return { busy: res.reports.reduce((a, r) => a + r.workers.reduce((b, w) => b + w.busyMs, 0), 0), partials: sink.windows.size };
    };
    const a = await busy(0);
    const b = await busy(500);
    // Hash never splits: one partial per (window, key) present, each 500 units at 100000 units/s = 5 ms.
    expect(b.partials).toBe(a.partials);
    expect(b.busy - a.busy).toBeCloseTo(a.partials * 5, 6);
  });
});

describe('uneven clusters', () => {
  it('a straggler schedule shows in busy time exactly', async () => {
    // 100 rec/s, one record every 10 ms, 1 unit each at 1000 units/s: 1 ms of service, never queued and
    // never across a slide boundary. Worker 1 runs at half speed in [2000, 4000): 2 ms per record there.
    const cfg = loadJobConfig(undefined, [
      'task.name=keyedcount',
      'migration.enabled=false',
      'workload.params={numKeys: 40, exponent: 0.5}',
      'workers=2',
      'capacity=1000',
      'source.rate=100',
      'durationMs=6000',
      'cluster={schedule: [{worker: 1, factor: 0.5, fromMs: 2000, toMs: 4000}]}',
    ]);
    const res = await runJob(buildJob(cfg));
    const slides = res.reports.filter((r) => r.slideStartMs < 6000);
    expect(slides.length).toBe(6);
    for (const r of slides) {
      const slow = r.slideStartMs >= 2000 && r.slideStartMs < 4000;
      expect(r.workers[0].busyMs).toBe(r.workers[0].recordsIn * 1);
      expect(r.workers[1].busyMs).toBe(r.workers[1].recordsIn * (slow ? 2 : 1));
      expect(r.workers[1].recordsIn).toBeGreaterThan(0);
    }
  });

  it('seeded speeds: the same seed gives the same cluster, and bad schedules name their field', () => {
    const a = buildJob(loadJobConfig(undefined, ['workers=8', 'cluster.speeds={min: 0.5, max: 1.5}']));
    const b = buildJob(loadJobConfig(undefined, ['workers=8', 'cluster.speeds={min: 0.5, max: 1.5}']));
    expect([...a.params.cluster!.base]).toEqual([...b.params.cluster!.base]);
    for (const v of a.params.cluster!.base) expect(v >= 0.5 && v <= 1.5).toBe(true);
    expect(new Set(a.params.cluster!.base).size).toBe(8);
    const err = (sets: string[]): unknown => {
      try {
        buildJob(loadJobConfig(undefined, ['workers=4', ...sets]));
      } catch (e) {
        return (e as { context?: { field?: string } }).context?.field;
      }
      return undefined;
    };
    expect(err(['cluster={schedule: [{worker: 9, factor: 0.5, fromMs: 0, toMs: 1000}]}'])).toBe('cluster.schedule[0].worker');
    expect(err(['cluster={schedule: [{worker: 1, factor: 0.5, fromMs: 500, toMs: 1000}]}'])).toBe('cluster.schedule[0].fromMs');
    expect(err(['cluster={schedule: [{worker: 1, factor: 0.5, fromMs: 0, toMs: 3000}, {worker: 1, factor: 2, fromMs: 2000, toMs: 4000}]}'])).toBe('cluster.schedule[1]');
    expect(err(['cluster.speeds=[1, 2]'])).toBe('cluster.speeds');
  });
});

describe('hidden per-key cost', () => {
  it('never reaches route(): the partitioner sees the visible cost, busy time the true one', async () => {
    const seen: number[] = [];
    const spy = (inner: Partitioner): Partitioner => costSpy(inner, seen);
    const run = async (sigma: number) => {
      seen.length = 0;
      const cfg = loadJobConfig(undefined, ['workload.params={numKeys: 200, exponent: 1.0}', 'workers=4', 'capacity=50000', 'source.rate=500', 'durationMs=2000', ...(sigma > 0 ? [`workload.hiddenCost={sigma: ${sigma}}`] : [])]);
      const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
      const job = buildJob(cfg, { partitioner: (clock, numKeys) => spy(createPartitioner('hash', { numWorkers: 4, seed: 1, numKeys, slideMs: 1000, clock })) });
      const res = await runJob(job, { recordInput: input });
      const visible = input.payloads.map((p) => job.parts.op.cost(p));
      return { seen: [...seen], visible, busy: res.reports.reduce((a, r) => a + r.workers.reduce((b, w) => b + w.busyMs, 0), 0) };
    };
    const plain = await run(0);
    const hidden = await run(1.5);
    // route() runs for a whole batch before the source stops at the duration: compare the records emitted.
    const n = hidden.visible.length;
    expect(n).toBeGreaterThan(500);
    expect(hidden.seen.slice(0, n)).toEqual(hidden.visible);
    expect(plain.seen.slice(0, n)).toEqual(hidden.seen.slice(0, n)); // same stream, same visible costs
    expect(Math.abs(hidden.busy - plain.busy) / plain.busy).toBeGreaterThan(0.05);
  });
});

describe('exactness under the honest model', () => {
  for (const name of ['hash', 'shuffle', 'w-choices', 'cam']) {
    it(`${name}: word counts equal the reference with merge costs, uneven speeds, a straggler and hidden costs`, async () => {
      const cfg = loadJobConfig(undefined, [
        `partitioner.name=${name}`,
        'workload.params={numKeys: 300, exponent: 1.4}',
        'workload.hiddenCost={sigma: 1}',
        'workers=4',
        'reducers=2',
        'capacity=40000',
        'cluster={speeds: {min: 0.5, max: 1.5}, jitter: 0.2, schedule: [{worker: 2, factor: 0.25, fromMs: 500, toMs: 1000}]}',
        'merge={reducerQueue: 4}',
        'source.rate=6000',
        'slideMs=100',
        'window={sizeMs: 200, slideMs: 100}',
        'queueCapacity=32',
        'durationMs=1500',
      ]);
      const sink = new CollectingSink();
      const job = buildJob(cfg, { sink });
      const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
      const res = await runJob(job, { recordInput: input });
      expect(res.records).toBeGreaterThan(500);
      const ref = referenceWindowed(job.parts.op, { keys: input.keys, payloads: input.payloads, timesMs: input.times }, job.params.window);
      expect(sink.windows.size).toBe(ref.length);
      for (const r of ref) expect(sink.windows.get(`${r.windowStart}:${r.key}`)).toEqual(r.output);
    });
  }
});

describe('the physical ideal', () => {
  it('equals total capacity / mean cost when merging is free, and falls when emission costs', () => {
    const sets = ['workload.name=uniform', 'workload.params={numKeys: 1000}', 'workers=8', 'capacity=1000', 'task.name=keyedcount', 'durationMs=10000'];
    const ideal = (extra: string[]) => {
      const cfg = loadJobConfig(undefined, [...sets, ...extra]);
      return physicalIdeal({ params: buildJob(cfg).params, op: buildJob(cfg).parts.op, workload: buildJob(cfg).parts.workload });
    };
    // keyed count: 1 unit per record, no windows: 8 × 1000 units/s = 8000 records/s.
    expect(ideal([]).ideal).toBeCloseTo(8000, 3);
    // Half the workers at half speed: 6000.
    expect(ideal(['cluster.speeds=[1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]']).ideal).toBeCloseTo(6000, 3);
  });
});

describe('state metrics', () => {
  it('worker.state_keys: with hash, the job total is the distinct keys of the open window; splitting raises it', async () => {
    const run = async (partitioner: string) => {
      const cfg = loadJobConfig(undefined, [`partitioner.name=${partitioner}`, 'workload.params={numKeys: 500, exponent: 1.2}', 'workers=4', 'capacity=100000', 'source.rate=800', 'durationMs=4000']);
      const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
      const res = await runJob(buildJob(cfg), { recordInput: input });
      return { res, input };
    };
    const { res, input } = await run('hash');
    // The last slide's window closes in the drain, before that slide is reported: leave it out.
    for (const r of res.reports.filter((x) => x.slideStartMs < 3000)) {
      // Tumbling 1 s windows: at the slide's end the open window holds exactly the slide's records.
      const keys = new Set<number>();
      input.times.forEach((t, i) => {
        if (t >= r.slideStartMs && t < r.slideStartMs + 1000) keys.add(input.keys[i]);
      });
      expect(r.job.stateKeys).toBe(keys.size);
      expect(r.workers.reduce((a, w) => a + (w.stateKeys ?? 0), 0)).toBe(keys.size);
      expect(r.job.stateBytes).toBeGreaterThan(48 * keys.size);
    }
    const shuffled = await run('shuffle');
    const total = (x: typeof res) => x.reports.slice(0, 3).reduce((a, r) => a + (r.job.stateKeys ?? 0), 0);
    expect(total(shuffled.res)).toBeGreaterThan(1.3 * total(res));
  });
});

describe('no max throughput exceeds the physical ideal', () => {
  for (const workload of ['workload.name=uniform', 'workload.params={numKeys: 2000, exponent: 1.5}']) {
    it(`${workload}: hash, shuffle, pkg and dagreedy stay at or below the ideal (+ one step)`, async () => {
      const sets = [workload, ...(workload.includes('uniform') ? ['workload.params={numKeys: 2000}'] : []), 'workers=8', 'capacity=5000', 'queueCapacity=100', 'ramp={initialRate: 200, rateStep: 100, maxStep: 2000, stepDivisor: 10, intervalMs: 2000}'];
      const cfg = loadJobConfig(undefined, sets);
      const job = buildJob({ ...cfg, durationMs: 120_000 });
      const { ideal } = physicalIdeal({ params: job.params, op: job.parts.op, workload: buildJob(cfg).parts.workload });
      for (const p of ['hash', 'shuffle', 'pkg', 'dagreedy']) {
        const res = await runMaxThroughput(loadJobConfig(undefined, [...sets, `partitioner.name=${p}`]));
        expect(res.maxThroughput, p).toBeLessThanOrEqual(ideal * (1 + cfg.ramp.tolerance) + cfg.ramp.rateStep);
      }
    }, 60_000);
  }
});
