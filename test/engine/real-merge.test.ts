// The honest cluster on the real clock: reducers in worker threads with capacity, credits and exact
// results; worker speeds, stragglers and hidden key costs in the threads' slot emulation.
import { describe, expect, it } from 'vitest';
import { costSpy } from '../helpers/cost-spy.js';
import type { SlideReport } from '../../src/common/metrics.js';
import { loadJobConfig } from '../../src/engine/config.js';
import { buildJob, runJob } from '../../src/engine/job.js';
import { runReal, type RealParams } from '../../src/engine/real/run-real.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { RateSchedule } from '../../src/engine/source.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import type { Partitioner } from '../../src/partitioners/types.js';
import { referenceWindowed } from '../../src/tasks/index.js';
import { miniWordCount, referenceWindows, skewedWorkload } from '../helpers/ops.js';

type Input = { keys: number[]; payloads: number[]; times: number[] };
const newInput = (): Input => ({ keys: [], payloads: [], times: [] });

/** Word count on the real clock, 2 threads, 4 workers, 3 reducers (two on thread 0), a 200 ms sliding window. */
const HONEST = [
  'clock=real',
  'threads=2',
  'workload.params={numKeys: 300, exponent: 1.4}',
  'workers=4',
  'reducers=3',
  'capacity=40000',
  'source.rate=4000',
  'slideMs=100',
  'window={sizeMs: 200, slideMs: 100}',
  'queueCapacity=64',
  'durationMs=1200',
];

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

describe('real clock: the merge stage runs in the worker threads', () => {
  for (const name of ['hash', 'shuffle', 'w-choices']) {
    it(`${name}: word counts equal the reference with merge costs, R = 3, one credit per channel, uneven speeds, jitter, a straggler and hidden costs`, async () => {
      const cfg = loadJobConfig(undefined, [
        ...HONEST,
        `partitioner.name=${name}`,
        'workload.hiddenCost={sigma: 1}',
        'cluster={speeds: {min: 0.5, max: 1.5}, jitter: 0.2, schedule: [{worker: 2, factor: 0.25, fromMs: 300, toMs: 700}]}',
        // 4 partials per reducer queue over 4 combiners: one credit per (combiner, reducer) channel.
        'merge={reducerQueue: 4}',
      ]);
      const sink = new CollectingSink();
      const job = buildJob(cfg, { sink });
      expect(job.params.merge!.emitCost).toBeGreaterThan(0);
      expect(job.params.merge!.mergeCost).toBeGreaterThan(0);
      const input = newInput();
      const res = await runJob(job, { recordInput: input });
      expect(res.records).toBe(input.keys.length);
      expect(res.records).toBeGreaterThan(500);
      const ref = referenceWindowed(job.parts.op, { keys: input.keys, payloads: input.payloads, timesMs: input.times }, job.params.window);
      expect(sink.windows.size).toBe(ref.length);
      for (const r of ref) expect(sink.windows.get(`${r.windowStart}:${r.key}`), `${r.windowStart}:${r.key}`).toEqual(r.output);
      if (name === 'hash') expect(sink.merged).toBe(0);
      else {
        expect(sink.merged).toBeGreaterThan(0);
        // One credit per channel and 1 ms per merge: combiners with several partials for a reducer wait.
        expect(sum(res.reports.map((r) => sum(r.workers.map((w) => w.backpressuredMs))))).toBeGreaterThan(0);
      }
    });
  }

  it("reducers' merged counts equal the partials the combiners sent, every reducer reports every slide", async () => {
    const cfg = loadJobConfig(undefined, [...HONEST, 'partitioner.name=shuffle', 'merge={reducerCapacity: 20000}']);
    const job = buildJob(cfg, { sink: new CollectingSink() });
    const res = await runJob(job);
    expect(res.mergedPartials).toBeGreaterThan(100);
    const merged = [0, 0, 0];
    for (const r of res.reports) {
      expect(r.reducers?.map((x) => x.reducer)).toEqual([0, 1, 2]);
      for (const x of r.reducers!) merged[x.reducer] += x.merged;
    }
    expect(sum(merged)).toBe(res.mergedPartials);
    for (const m of merged) expect(m).toBeGreaterThan(0);
    // 41 units per merge at 20000 units/s: ~2 ms of reducer slot per partial shows as reducer busy time.
    const busy = sum(res.reports.map((r) => sum(r.reducers!.map((x) => (x.busyMs * r.slideMs) / 1000))));
    expect(busy).toBeGreaterThanOrEqual(((res.mergedPartials * job.params.merge!.mergeCost) / 20000) * 1000 * 0.999);
  });

  it('the main thread never merges: an operator whose merge and decode throw there still gives exact windows', async () => {
    const P = 4;
    const poisoned = { ...miniWordCount() };
    poisoned.merge = () => {
      throw new Error('merge on the main thread');
    };
    poisoned.decode = () => {
      throw new Error('decode on the main thread');
    };
    const params: RealParams = {
      P,
      R: 2,
      slideMs: 100,
      window: { sizeMs: 100, slideMs: 100 },
      capacity: new Float64Array(P).fill(Infinity),
      queueCapacity: 1024,
      durationMs: 600,
      maxRecords: Infinity,
      rate: new RateSchedule(20_000),
      threads: 2,
      batchSize: 256,
      operator: { module: new URL('../helpers/ops.ts', import.meta.url).href, factory: 'miniWordCount', args: undefined },
    };
    const sink = new CollectingSink();
    const input = newInput();
    const part = createPartitioner('shuffle', { numWorkers: P, seed: 1, numKeys: 200, slideMs: 100, clock: { nowMs: 0 } });
    const res = await runReal(params, { partitioner: part, clock: { nowMs: 0 }, op: poisoned, workload: skewedWorkload(200, 4), sink }, { recordInput: input });
    expect(res.records).toBeGreaterThan(1000);
    expect(sink.merged).toBeGreaterThan(0);
    const ref = referenceWindows(miniWordCount(), input, 100, 100);
    expect(sink.windows.size).toBe(ref.size);
    for (const [id, v] of ref) expect(sink.windows.get(id), id).toEqual(v);
  });
});

/**
 * Busy ms per record of worker w over the slides that start in [from, to). Records are counted as they
 * enter its queue (per-worker processed counts are not reported); nothing queues at these rates.
 */
function busyPerRecord(reports: readonly SlideReport[], w: number, from: number, to: number): number {
  let busy = 0;
  let n = 0;
  for (const r of reports)
    if (r.slideStartMs >= from && r.slideStartMs < to) {
      busy += (r.workers[w].busyMs * r.slideMs) / 1000;
      n += r.workers[w].recordsIn;
    }
  return busy / n;
}

describe('real clock: uneven clusters and hidden costs in the slot emulation', () => {
  it('a straggler shows in busy time: busy per record of the slowed worker is 1/factor of its normal one', async () => {
    // Keyed count, 1 unit per record at 1000 units/s: 1 ms per record, far above its CPU time. Worker 1
    // runs at a third of its speed in [1000, 2000); worker 0 at full speed throughout.
    const cfg = loadJobConfig(undefined, [
      'clock=real',
      'threads=2',
      'task.name=keyedcount',
      'migration.enabled=false',
      'workload.params={numKeys: 40, exponent: 0.5}',
      'workers=2',
      'capacity=1000',
      'source.rate=200',
      'slideMs=500',
      'durationMs=3000',
      'cluster={schedule: [{worker: 1, factor: 0.333, fromMs: 1000, toMs: 2000}]}',
    ]);
    const res = await runJob(buildJob(cfg));
    const normal1 = (busyPerRecord(res.reports, 1, 0, 1000) + busyPerRecord(res.reports, 1, 2000, 3000)) / 2;
    const slow1 = busyPerRecord(res.reports, 1, 1000, 2000);
    const ratio = slow1 / normal1;
    expect(ratio).toBeGreaterThan((1 / 0.333) * 0.75);
    expect(ratio).toBeLessThan((1 / 0.333) * 1.25);
    // The other worker keeps its speed: about 1 ms per record in every period.
    const w0 = busyPerRecord(res.reports, 0, 1000, 2000) / busyPerRecord(res.reports, 0, 0, 1000);
    expect(w0).toBeGreaterThan(0.75);
    expect(w0).toBeLessThan(1.25);
  });

  it("hidden costs stretch service time in the threads and never reach route()", async () => {
    const seen: number[] = [];
    const spy = (inner: Partitioner): Partitioner => costSpy(inner, seen);
    const run = async (sigma: number) => {
      seen.length = 0;
      // One worker: its busy time is Σ over its records of cost × hidden factor × 1 ms.
      const cfg = loadJobConfig(undefined, [
        'clock=real',
        'threads=1',
        'task.name=keyedcount',
        'migration.enabled=false',
        'workload.params={numKeys: 50, exponent: 0.8}',
        'workers=1',
        'capacity=1000',
        'source.rate=150',
        'slideMs=500',
        'durationMs=2000',
        ...(sigma > 0 ? [`workload.hiddenCost={sigma: ${sigma}}`] : []),
      ]);
      const job = buildJob(cfg, { partitioner: (clock, numKeys) => spy(createPartitioner('hash', { numWorkers: 1, seed: 1, numKeys, slideMs: 500, clock })) });
      const input = newInput();
      const res = await runJob(job, { recordInput: input });
      const busy = sum(res.reports.map((r) => (r.workers[0].busyMs * r.slideMs) / 1000));
      const expected = input.keys.reduce((a, k, i) => a + job.parts.op.cost(input.payloads[i]) * (job.params.hiddenCost ? job.params.hiddenCost[k] : 1), 0);
      return { busy, expected, visible: input.payloads.map((p) => job.parts.op.cost(p)), seen: [...seen] };
    };
    const hidden = await run(1.2);
    expect(hidden.visible.length).toBeGreaterThan(150);
    expect(hidden.seen.slice(0, hidden.visible.length)).toEqual(hidden.visible);
    const plain = await run(0);
    // Σ hidden factors differs from the record count by far more than the tolerance (seeded draw).
    expect(Math.abs(hidden.expected - hidden.visible.length) / hidden.visible.length).toBeGreaterThan(0.2);
    expect(Math.abs(hidden.busy - hidden.expected) / hidden.expected).toBeLessThan(0.1);
    expect(Math.abs(plain.busy - plain.expected) / plain.expected).toBeLessThan(0.1);
  });
});
