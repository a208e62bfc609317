// The engines pass each record's task cost to a partitioner that asks for it (usesCost), on both clocks, and to no other.
import { describe, expect, it } from 'vitest';
import { runVirtual } from '../../src/engine/virtual.js';
import { runReal } from '../../src/engine/real/run-real.js';
import { RateSchedule } from '../../src/engine/source.js';
import { CollectingSink } from '../../src/engine/sink.js';
import type { Partitioner } from '../../src/partitioners/types.js';
import type { TaskOperator } from '../../src/tasks/types.js';
import { miniWordCount, skewedWorkload } from '../helpers/ops.js';

const opsModule = new URL('../helpers/ops.ts', import.meta.url).href;

/** miniWordCount whose cost depends on the payload, so a wrong or shifted cost shows. */
function costlyOp(): TaskOperator<Map<number, number>> {
  return { ...miniWordCount(), cost: (p: number) => 1 + (p % 7) };
}

/** Records every (key, cost) it is asked to route; round robin over P. */
function recorder(P: number, usesCost: boolean): Partitioner & { seen: { key: number; cost: number | undefined }[] } {
  const seen: { key: number; cost: number | undefined }[] = [];
  let n = 0;
  return {
    name: 'recorder',
    numWorkers: P,
    splitsKeys: true,
    usesCost,
    seen,
    route(key: number, cost?: number): number {
      seen.push({ key, cost });
      return n++ % P;
    },
    stats: () => ({ hotKeys: 0, tableVersion: 0 }),
  };
}

const common = { P: 3, R: 2, slideMs: 100, window: { sizeMs: 100, slideMs: 100 }, queueCapacity: 2048, durationMs: 500, maxRecords: Infinity, rate: new RateSchedule(20_000) };

function check(seen: { key: number; cost: number | undefined }[], input: { keys: number[]; payloads: number[] }, usesCost: boolean): void {
  const op = costlyOp();
  // the engines may route a batch's tail that the run's end then drops, so the records are a prefix
  expect(input.keys.length).toBeGreaterThan(1000);
  expect(seen.length).toBeGreaterThanOrEqual(input.keys.length);
  for (let i = 0; i < input.keys.length; i++) {
    expect(seen[i].key).toBe(input.keys[i]);
    expect(seen[i].cost).toBe(usesCost ? op.cost(input.payloads[i]) : undefined);
  }
  if (usesCost) expect(new Set(seen.map((s) => s.cost)).size).toBe(7);
}

describe('route cost', () => {
  for (const usesCost of [true, false]) {
    it(`virtual clock: ${usesCost ? 'each record\'s op.cost is passed' : 'no cost without usesCost'}`, () => {
      const p = recorder(3, usesCost);
      const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
      runVirtual({ ...common, capacity: new Float64Array(3).fill(1e6) }, { partitioner: p, clock: { nowMs: 0 }, op: costlyOp(), workload: skewedWorkload(100, 5), sink: new CollectingSink() }, { recordInput: input });
      check(p.seen, input, usesCost);
    });
    it(`real clock: ${usesCost ? 'each record\'s op.cost is passed' : 'no cost without usesCost'}`, async () => {
      const p = recorder(3, usesCost);
      const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
      await runReal(
        { ...common, capacity: new Float64Array(3).fill(Infinity), threads: 1, batchSize: 128, operator: { module: opsModule, factory: 'miniWordCount', args: undefined } },
        { partitioner: p, clock: { nowMs: 0 }, op: costlyOp(), workload: skewedWorkload(100, 5), sink: new CollectingSink() },
        { recordInput: input },
      );
      check(p.seen, input, usesCost);
    });
  }
});
