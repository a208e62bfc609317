// Real clock: every processed record is counted in exactly one published slide, even when a slide is
// published before a thread's report of it arrived (the main thread or a worker thread was blocked).
import { describe, expect, it } from 'vitest';
import type { SlideReport } from '../../src/common/metrics.js';
import { runReal, type RealParams } from '../../src/engine/real/run-real.js';
import { CountingSink } from '../../src/engine/sink.js';
import { RateSchedule, type PullSource } from '../../src/engine/source.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import type { Workload } from '../../src/tasks/types.js';
import { miniKeyedCount } from '../helpers/ops.js';
import { STALL_PAYLOAD, stallingCount } from './fixtures/stall-op.js';

const P = 2;
const SLIDE_MS = 100;

function params(over: Partial<RealParams>): RealParams {
  return {
    P,
    R: 1,
    slideMs: SLIDE_MS,
    window: { sizeMs: SLIDE_MS, slideMs: SLIDE_MS },
    capacity: new Float64Array(P).fill(Infinity),
    queueCapacity: 4096,
    durationMs: 60_000,
    maxRecords: Infinity,
    rate: new RateSchedule('unthrottled'),
    threads: 2,
    batchSize: 256,
    graceMs: 20,
    operator: { module: new URL('../helpers/ops.ts', import.meta.url).href, factory: 'miniKeyedCount', args: undefined },
    ...over,
  };
}

/**
 * A finite pull source of `total` records (key i mod 50, payload 0) handed out `perTake` at a time;
 * the take after each of `blockAfter` records busy-waits `blockMs` first: the main thread is blocked
 * while the worker threads report their slides.
 */
function blockingSource(total: number, perTake: number, blockAfter: readonly number[], blockMs: number): PullSource {
  let given = 0;
  const blocks = [...blockAfter];
  return {
    take(keys, payloads, n) {
      if (blocks.length > 0 && given >= blocks[0]) {
        blocks.shift();
        const until = performance.now() + blockMs;
        while (performance.now() < until);
      }
      const m = Math.min(n, perTake, total - given);
      for (let i = 0; i < m; i++) {
        keys[i] = (given + i) % 50;
        payloads[i] = 0;
      }
      given += m;
      return m;
    },
    get ended() {
      return given >= total;
    },
    wait: () => Promise.resolve(),
    processedThrough: () => Promise.resolve(),
  };
}

const workload: Workload = { name: 'unused', numKeys: 50, fill: () => 0 };

/** Records processed per slide (throughput × slide length) and records routed per slide, summed. */
function totals(reports: readonly SlideReport[]): { processed: number; recordsIn: number } {
  let processed = 0;
  let recordsIn = 0;
  for (const r of reports) {
    processed += Math.round((r.job.throughput * r.slideMs) / 1000);
    for (const w of r.workers) recordsIn += w.recordsIn;
  }
  return { processed, recordsIn };
}

function indicesAreConsecutive(reports: readonly SlideReport[]): boolean {
  return reports.every((r, i) => r.slideIndex === i);
}

describe('real clock: per-slide throughput sums to the records processed', () => {
  it('the main thread blocked past slide ends and the grace: no thread report is lost', async () => {
    const total = 6000;
    const pull = blockingSource(total, 500, [1000, 3000], 450);
    const res = await runReal(params({}), { partitioner: createPartitioner('hash', { numWorkers: P, seed: 1, numKeys: 50, slideMs: SLIDE_MS, clock: { nowMs: 0 } }), clock: { nowMs: 0 }, op: miniKeyedCount(), workload, sink: new CountingSink(), pull });
    expect(res.records).toBe(total);
    expect(indicesAreConsecutive(res.reports)).toBe(true);
    expect(totals(res.reports)).toEqual({ processed: total, recordsIn: total });
  });

  it('a worker thread reporting a slide after it was published: its records land in a later slide', async () => {
    const total = 4000;
    let given = 0;
    const pull: PullSource = {
      take(keys, payloads, n) {
        const m = Math.min(n, 200, total - given);
        for (let i = 0; i < m; i++) {
          keys[i] = (given + i) % 50;
          payloads[i] = given + i === 1000 ? STALL_PAYLOAD : 0;
        }
        given += m;
        return m;
      },
      get ended() {
        return given >= total;
      },
      wait: () => Promise.resolve(),
      processedThrough: () => Promise.resolve(),
    };
    const op = stallingCount();
    const res = await runReal(
      params({ operator: { module: new URL('./fixtures/stall-op.ts', import.meta.url).href, factory: 'stallingCount', args: undefined } }),
      { partitioner: createPartitioner('hash', { numWorkers: P, seed: 1, numKeys: 50, slideMs: SLIDE_MS, clock: { nowMs: 0 } }), clock: { nowMs: 0 }, op, workload, sink: new CountingSink(), pull },
    );
    expect(res.records).toBe(total);
    expect(indicesAreConsecutive(res.reports)).toBe(true);
    expect(totals(res.reports)).toEqual({ processed: total, recordsIn: total });
  });
});
