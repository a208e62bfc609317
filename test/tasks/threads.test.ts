// Worker threads rebuild payloads, workloads and tasks from JSON specs with identical results.
import { describe, expect, it } from 'vitest';
import { startModuleWorker } from '../../src/common/threads.js';
import { buildPayloads, createTask, createWorkload, type TaskSpec, type WorkloadSpec } from '../../src/tasks/index.js';

interface Result {
  keys: Int32Array;
  ids: Int32Array;
  output: unknown;
  encoded: unknown;
}

function inWorker(task: TaskSpec, workload: WorkloadSpec, n: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const w = startModuleWorker(new URL('./fixtures/rebuild-worker.ts', import.meta.url), { task, workload, n });
    w.once('message', (m: Result) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe('rebuilding from JSON specs in a worker thread', () => {
  it.each([
    [{ name: 'wordcount', params: { multiplier: 2 } }, { name: 'zipf', params: { numKeys: 1000, seed: 3 } }],
    [{ name: 'tdigest', params: { valuesPerRecord: 10 } }, { name: 'drifting-key', params: { numKeys: 1000 } }],
  ])('%j on %j: same keys, payload ids, output; partials cross threads', async (task, workload) => {
    const n = 300;
    const payloads = buildPayloads(task, workload);
    const op = createTask(task, payloads);
    const w = createWorkload(workload, payloads);
    const keys = new Int32Array(n);
    const ids = new Int32Array(n);
    w.fill(keys, ids, 0, n, 0);
    const p = op.create();
    for (let i = 0; i < n; i++) op.add(p, keys[i], ids[i]);
    const r = await inWorker(task, workload, n);
    expect([...r.keys]).toEqual([...keys]);
    expect([...r.ids]).toEqual([...ids]);
    expect(JSON.stringify(r.output)).toBe(JSON.stringify(op.output(p)));
    expect(JSON.stringify(op.output(op.decode(r.encoded)))).toBe(JSON.stringify(op.output(p)));
  });
});
