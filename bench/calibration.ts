// Calibration of the merge stage: the real CPU cost of one add, one emitted partial and one merge, per task.
// Writes results/bench/calibration.json. The ratios (in each task's cost units) are the defaults of
// `merge.emitCost` and `merge.mergeCost` (src/tasks/merge-costs.ts, docs/tasks.md). Never asserts.
//
//   npx tsx bench/calibration.ts [--quick] [--rounds N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { reducerOf } from '../src/engine/combiner.js';
import { buildPayloads, createTask, createWorkload, type TaskOperator } from '../src/tasks/index.js';
import { repoRoot } from './repo-root.js';

const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 3 : 7;

/** The default comparison's setting (params/compare.yaml): P = 64, R = 4, 20k keys, Zipf 1.5, 1 s windows. */
const P = 64;
const R = 4;
const NUM_KEYS = 20_000;

interface Setting {
  readonly task: { name: string; params: Record<string, unknown> };
  /** Records in one 1 s window at the compare's max-throughput scale. */
  readonly windowRecords: number;
}

const settings: Setting[] = [
  { task: { name: 'wordcount', params: {} }, windowRecords: 18_000 },
  { task: { name: 'tdigest', params: { valuesPerRecord: 10 } }, windowRecords: 3_000 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * One window of the setting, routed round robin (every key split over the workers it lands on, as a
 * splitting partitioner does). Measures per record the add, and per partial the emit (encode, then a
 * one structured clone per (worker, reducer) group: the partials crossing to a reducer thread in one
 * message) and the merge (decode, merge into the
 * reducer's accumulator). Returns ns per cost unit of add, ns per partial emitted and merged.
 */
function measure(op: TaskOperator, keys: Int32Array, payloads: Int32Array): { nsPerUnit: number; nsPerEmit: number; nsPerMerge: number; partials: number; units: number } {
  const n = keys.length;
  const parts: Array<Map<number, unknown>> = Array.from({ length: P }, () => new Map());
  let units = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const m = parts[i % P];
    let p = m.get(keys[i]);
    if (p === undefined) m.set(keys[i], (p = op.create()));
    op.add(p, keys[i], payloads[i]);
  }
  const addNs = Number(process.hrtime.bigint() - t0);
  for (let i = 0; i < n; i++) units += op.cost(payloads[i]);
  // Emit: encode every partial, grouped per reducer, and send each (worker, reducer) group as one
  // message (one structured clone per group, as a batched channel would).
  let partials = 0;
  const sent: Array<Array<[number, unknown]>> = Array.from({ length: R }, () => []);
  const t1 = process.hrtime.bigint();
  for (const m of parts) {
    const groups: Array<Array<[number, unknown]>> = Array.from({ length: R }, () => []);
    for (const [key, p] of m) {
      groups[reducerOf(key, R)].push([key, op.encode(p)]);
      partials++;
    }
    for (let r = 0; r < R; r++) if (groups[r].length > 0) for (const e of structuredClone(groups[r])) sent[r].push(e);
  }
  const emitNs = Number(process.hrtime.bigint() - t1);
  const t2 = process.hrtime.bigint();
  for (const list of sent) {
    const acc = new Map<number, unknown>();
    for (const [key, data] of list) {
      const p = op.decode(data);
      const a = acc.get(key);
      if (a === undefined) acc.set(key, p);
      else op.merge(a, p);
    }
  }
  const mergeNs = Number(process.hrtime.bigint() - t2);
  return { nsPerUnit: addNs / units, nsPerEmit: emitNs / partials, nsPerMerge: mergeNs / partials, partials, units };
}

const rows: Record<string, unknown>[] = [];
for (const s of settings) {
  const workload = { name: 'zipf', params: { exponent: 1.5, numKeys: NUM_KEYS, seed: 1 } };
  const payloadStore = buildPayloads(s.task, workload);
  const op = createTask(s.task, payloadStore);
  const wl = createWorkload(workload, payloadStore);
  const keys = new Int32Array(s.windowRecords);
  const payloads = new Int32Array(s.windowRecords);
  const runs: ReturnType<typeof measure>[] = [];
  for (let r = 0; r < ROUNDS + 2; r++) {
    wl.fill(keys, payloads, 0, keys.length, r * 1000);
    const m = measure(op, keys, payloads);
    if (r >= 2) runs.push(m); // two warm-up rounds
  }
  const nsPerUnit = median(runs.map((m) => m.nsPerUnit));
  const nsPerEmit = median(runs.map((m) => m.nsPerEmit));
  const nsPerMerge = median(runs.map((m) => m.nsPerMerge));
  const row = {
    task: s.task.name,
    params: s.task.params,
    windowRecords: s.windowRecords,
    partialsPerWindow: runs[0].partials,
    unitsPerRecord: runs[0].units / s.windowRecords,
    nsPerUnit,
    nsPerEmit,
    nsPerMerge,
    /** The defaults: emit and merge in the task's cost units. */
    emitCostUnits: nsPerEmit / nsPerUnit,
    mergeCostUnits: nsPerMerge / nsPerUnit,
    rounds: runs.length,
  };
  rows.push(row);
  process.stdout.write(`${row.task}: ${nsPerUnit.toFixed(1)} ns/unit, emit ${nsPerEmit.toFixed(0)} ns (${row.emitCostUnits.toFixed(2)} units), merge ${nsPerMerge.toFixed(0)} ns (${row.mergeCostUnits.toFixed(2)} units), ${row.partialsPerWindow} partials/window\n`);
}

const out = { bench: 'calibration', at: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, quick, costs: rows };
const dir = join(repoRoot(import.meta.url), 'results', 'bench');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'calibration.json'), JSON.stringify(out, null, 2) + '\n');
process.stdout.write(`wrote ${join(dir, 'calibration.json')}\n`);
