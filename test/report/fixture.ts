// A small synthetic CompareResults whose report numbers are computed by hand in the tests.
import type { CompareResults, RunResult, RunSummary } from '../../src/report/types.js';

interface Spec {
  partitioner: string;
  workload: string;
  task?: string;
  rep: number;
  max?: number;
  sustained: number;
  imb: number;
  p99: number | null;
  repl: number;
}

const wparams = (w: string): Record<string, unknown> => (w === 'zipf' ? { s: 1.5, numKeys: 1000 } : { numKeys: 1000 });

function run(s: Spec, i: number): RunResult {
  const summary: RunSummary = {
    sustainedThroughput: s.sustained,
    latencyP50Ms: s.p99 === null ? null : s.p99 / 2,
    latencyP99Ms: s.p99,
    imbalanceBusy: s.imb,
    nmadBusy: s.imb / 2,
    imbalanceCount: s.imb,
    replication: s.repl,
    perWorkerLoad: [10, 20, 30, 40],
  };
  if (s.max !== undefined) summary.maxThroughput = s.max;
  return {
    id: `run-${i}`,
    partitioner: s.partitioner,
    workload: { name: s.workload, params: wparams(s.workload) },
    task: { name: s.task ?? 'word-count', params: { windowMs: 10_000 } },
    clock: 'virtual',
    P: 4,
    seed: 100 + s.rep,
    repetition: s.rep,
    config: { partitioner: { name: s.partitioner }, workload: s.workload, seed: 100 + s.rep },
    version: { package: '0.1.0', commit: 'a'.repeat(40), dirty: false },
    machine: { cpuModel: 'Test CPU, 2 cores', cpus: 2, memoryBytes: 8 * 2 ** 30, node: 'v20.0.0', platform: 'linux', arch: 'x64' },
    startedAt: '2026-11-22T03:00:00.000Z',
    durationMs: 1234,
    summary,
    // imbalance over time: imb, imb + 0.1, imb + 0.2 at t = 0, 1, 2 s; p99 null in the middle slide.
    timeline: [0, 1000, 2000].map((tMs, k) => ({
      tMs,
      throughput: s.sustained,
      imbalanceBusy: s.imb + k * 0.1,
      latencyP99Ms: k === 1 || s.p99 === null ? null : s.p99 + k,
    })),
  };
}

/**
 * Setting A (word-count, P=4, virtual): workloads uniform and zipf(s=1.5), partitioners hash, pkg,
 * shuffle, 2 repetitions each, with a ramp (maxThroughput). Uniform means: hash 1100, pkg 1000,
 * shuffle 900 → ideal 1000. Zipf means: hash 450 (400, 500), pkg 750, shuffle 900.
 * Setting B (t-digest): zipf only, pkg and shuffle, 1 repetition, no ramp (sustained only).
 */
export function syntheticResults(): CompareResults {
  const specs: Spec[] = [
    { partitioner: 'hash', workload: 'uniform', rep: 0, max: 1100, sustained: 1000, imb: 0.1, p99: 5, repl: 1 },
    { partitioner: 'hash', workload: 'uniform', rep: 1, max: 1100, sustained: 1000, imb: 0.1, p99: 5, repl: 1 },
    { partitioner: 'pkg', workload: 'uniform', rep: 0, max: 1000, sustained: 950, imb: 0.05, p99: 6, repl: 2 },
    { partitioner: 'pkg', workload: 'uniform', rep: 1, max: 1000, sustained: 950, imb: 0.05, p99: 6, repl: 2 },
    { partitioner: 'shuffle', workload: 'uniform', rep: 0, max: 880, sustained: 800, imb: 0, p99: 8, repl: 4 },
    { partitioner: 'shuffle', workload: 'uniform', rep: 1, max: 920, sustained: 800, imb: 0, p99: 8, repl: 4 },
    { partitioner: 'hash', workload: 'zipf', rep: 0, max: 400, sustained: 350, imb: 0.8, p99: 12, repl: 1 },
    { partitioner: 'hash', workload: 'zipf', rep: 1, max: 500, sustained: 350, imb: 1.0, p99: null, repl: 1 },
    { partitioner: 'pkg', workload: 'zipf', rep: 0, max: 800, sustained: 700, imb: 0.3, p99: 7, repl: 1.5 },
    { partitioner: 'pkg', workload: 'zipf', rep: 1, max: 700, sustained: 700, imb: 0.2, p99: 9, repl: 1.7 },
    { partitioner: 'shuffle', workload: 'zipf', rep: 0, max: 900, sustained: 850, imb: 0.02, p99: 10, repl: 4 },
    { partitioner: 'shuffle', workload: 'zipf', rep: 1, max: 900, sustained: 850, imb: 0.04, p99: 10, repl: 4 },
    { partitioner: 'pkg', workload: 'zipf', task: 't-digest', rep: 0, sustained: 640, imb: 0.25, p99: null, repl: 1.5 },
    { partitioner: 'shuffle', workload: 'zipf', task: 't-digest', rep: 0, sustained: 720, imb: 0.01, p99: 20, repl: 4 },
  ];
  return {
    createdAt: '2026-11-22T03:30:00.000Z',
    config: { partitioners: ['hash', 'pkg', 'shuffle'], repetitions: 2, note: 'a, "quoted" | piped value' },
    runs: specs.map(run),
  };
}

/**
 * {@link syntheticResults} as `sas compare` writes it now: each run has its `workloadLabel`
 * (`uniform`, `zipf-1.5`) and `cells` give each workload its physical ideal. Word count: uniform
 * 1250 rec/s, zipf-1.5 1000 rec/s (reducers bind); t-digest zipf-1.5: null (unlimited capacity).
 * By hand, max throughput ÷ ideal — uniform: hash 1100/1250 = 0.88, pkg 0.80, shuffle 0.72;
 * zipf-1.5: hash 0.45, pkg 0.75, shuffle 0.90; means: shuffle 0.81, pkg 0.775, hash 0.665.
 */
export function syntheticResultsWithCells(): CompareResults {
  const r = syntheticResults();
  return {
    ...r,
    runs: r.runs.map((run) => ({ ...run, workloadLabel: run.workload.name === 'zipf' ? 'zipf-1.5' : run.workload.name })),
    cells: [
      { task: 'word-count', workload: 'uniform', P: 4, clock: 'virtual', ideal: 1250, bound: 'workers', emitShare: 0.2 },
      { task: 'word-count', workload: 'zipf-1.5', P: 4, clock: 'virtual', ideal: 1000, bound: 'reducers', emitShare: 0.1 },
      { task: 't-digest', workload: 'zipf-1.5', P: 4, clock: 'virtual', ideal: null, bound: 'unlimited', emitShare: 0 },
    ],
  };
}
