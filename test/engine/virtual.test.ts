import { describe, expect, it } from 'vitest';
import { runVirtual } from '../../src/engine/virtual.js';
import type { EngineParams } from '../../src/engine/types.js';
import { RateSchedule } from '../../src/engine/source.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import type { Partitioner } from '../../src/partitioners/types.js';
import { Rng } from '../../src/common/rng.js';
import { miniKeyedCount, miniWordCount, referenceWindows, skewedWorkload } from '../helpers/ops.js';

function params(P: number, over: Partial<EngineParams> = {}): EngineParams {
  return {
    P,
    R: 3,
    slideMs: 100,
    window: { sizeMs: 100, slideMs: 100 },
    capacity: new Float64Array(P).fill(40_000),
    queueCapacity: 50,
    durationMs: 1000,
    maxRecords: Infinity,
    rate: new RateSchedule(20_000),
    ...over,
  };
}

/** Routes every record to a random worker and changes its "table version" every 7 routes. */
function chaotic(P: number, seed: number): Partitioner {
  const rng = new Rng(seed);
  let n = 0;
  return {
    name: 'chaotic',
    numWorkers: P,
    splitsKeys: true,
    route: () => {
      n++;
      return rng.int(P);
    },
    stats: () => ({ hotKeys: 0, tableVersion: Math.floor(n / 7) }),
  };
}

function run(P: number, partitioner: (P: number) => Partitioner, window = { sizeMs: 100, slideMs: 100 }) {
  const clock = { nowMs: 0 };
  const op = miniWordCount();
  const sink = new CollectingSink();
  const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
  const res = runVirtual(params(P, { window }), { partitioner: partitioner(P), clock, op, workload: skewedWorkload(200, 9), sink }, { recordInput: input });
  return { res, sink, input, op };
}

const makers: Record<string, (P: number) => Partitioner> = {
  hash: (P) => createPartitioner('hash', { numWorkers: P, seed: 1, numKeys: 200, slideMs: 100, clock: { nowMs: 0 } }),
  shuffle: (P) => createPartitioner('shuffle', { numWorkers: P, seed: 1, numKeys: 200, slideMs: 100, clock: { nowMs: 0 } }),
  chaotic: (P) => chaotic(P, 5),
};

describe('virtual engine: exact results', () => {
  for (const [name, mk] of Object.entries(makers)) {
    for (const P of [1, 2, 3, 4, 16]) {
      it(`${name} at P=${P}: tumbling windows equal the single-threaded reference`, () => {
        const { sink, input, op, res } = run(P, mk);
        expect(res.records).toBeGreaterThan(10_000);
        expect(input.keys.length).toBe(res.records);
        const ref = referenceWindows(op, input, 100, 100);
        expect(sink.windows.size).toBe(ref.size);
        for (const [id, v] of ref) expect(sink.windows.get(id), id).toEqual(v);
      });
    }
  }
  it('sliding windows (size 300, slide 100) with a chaotic partitioner equal the reference', () => {
    const { sink, input, op } = run(4, makers.chaotic, { sizeMs: 300, slideMs: 100 });
    const ref = referenceWindows(op, input, 300, 100);
    expect(sink.windows.size).toBe(ref.size);
    for (const [id, v] of ref) expect(sink.windows.get(id), id).toEqual(v);
  });
  it('hash forwards every key (no reducer), shuffle merges', () => {
    expect(run(4, makers.hash).sink.merged).toBe(0);
    expect(run(4, makers.shuffle).sink.merged).toBeGreaterThan(0);
  });
  it('global keyed count: final state equals the reference for a key-splitting partitioner', () => {
    const sink = new CollectingSink();
    const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
    runVirtual(params(3), { partitioner: chaotic(3, 1), clock: { nowMs: 0 }, op: miniKeyedCount(), workload: skewedWorkload(50, 2), sink }, { recordInput: input });
    const ref = new Map<number, number>();
    for (const k of input.keys) ref.set(k, (ref.get(k) ?? 0) + 1);
    expect(sink.state.size).toBe(ref.size);
    for (const [k, v] of ref) expect(sink.state.get(k)).toBe(v);
  });
});

describe('virtual engine: metrics and backpressure', () => {
  it('emits exactly one report per slide with P workers, idle workers included', () => {
    const { res } = run(16, makers.hash);
    const idx = res.reports.map((r) => r.slideIndex);
    expect(idx).toEqual(idx.map((_, i) => i));
    expect(res.reports.length).toBeGreaterThanOrEqual(10);
    for (const r of res.reports) {
      expect(r.workers.length).toBe(16);
      for (const w of r.workers) expect(w.busyMs + w.backpressuredMs + w.idleMs).toBeCloseTo(1000, 6);
    }
  });
  it('achieved rate equals target without saturation and falls below it when a worker saturates', () => {
    const P = 4;
    const ok = runVirtual(params(P, { rate: new RateSchedule(10_000) }), { partitioner: makers.shuffle(P), clock: { nowMs: 0 }, op: miniWordCount(), workload: skewedWorkload(200, 1), sink: new CollectingSink() });
    // 10k rec/s * cost 2 spread over 4 workers = 5k units/s each < 40k capacity.
    const mid = ok.reports.slice(1, 8);
    for (const r of mid) expect(r.job.achievedRate).toBeCloseTo(10_000, -2);
    // Hash on a skewed stream at 100k rec/s: the hottest worker needs > 40k units/s → backpressure.
    const bp = runVirtual(params(P, { rate: new RateSchedule(100_000) }), { partitioner: makers.hash(P), clock: { nowMs: 0 }, op: miniWordCount(), workload: skewedWorkload(200, 1), sink: new CollectingSink() });
    const late = bp.reports.slice(2, 8);
    for (const r of late) {
      expect(r.job.achievedRate).toBeLessThan(100_000 * 0.9);
      expect(Math.max(...r.workers.map((w) => w.busyMs))).toBeGreaterThan(990);
    }
  });
  it('is deterministic: two runs give identical reports', () => {
    const a = run(3, makers.chaotic).res.reports;
    const b = run(3, makers.chaotic).res.reports;
    const strip = (rs: typeof a) => rs.map((r) => ({ ...r, partitioner: { ...r.partitioner, routeNs: 0 } }));
    expect(strip(a)).toEqual(strip(b));
  });
});
