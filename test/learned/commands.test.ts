// The learned partitioner's commands on bad input, as real `sas` processes (issue 18 items 2, 6, 8, 21, 23, 24):
// nothing the user did not ask to replace is replaced, a checkpoint that cannot serve the job is refused,
// and what a command would silently ignore is refused up front.
import { sasAsync } from '../helpers/cli.js';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary } from '../../src/cli/summary.js';
import type { RunSummary } from '../../src/report/index.js';
import { initBackend, readCheckpointManifest, resolveAgentConfig, SacAgent, saveCheckpoint } from '../../src/rl-agent/index.js';
import { DatasetWriter, readDataset } from '../../src/rl-agent/dataset.js';
import { Rng } from '../../src/common/rng.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'sas-learned-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sas = sasAsync;

/** Every file under `d` (relative name → bytes), to compare a folder before and after. */
function snapshot(d: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (sub: string): void => {
    for (const e of readdirSync(path.join(d, sub), { withFileTypes: true })) {
      const rel = path.join(sub, e.name);
      if (e.isDirectory()) walk(rel);
      else m.set(rel, readFileSync(path.join(d, rel)).toString('base64'));
    }
  };
  walk('');
  return m;
}

/** A small valid dataset: P = 4, three mask ranges, random transitions. */
function writeDataset(d: string, n = 40): void {
  const mask = [{ start: 0, end: 2 }, { start: 1, end: 3 }, { start: 2, end: 4 }];
  const w = new DatasetWriter(d, { numWorkers: 4, mask, source: 'test' });
  const rng = new Rng(3);
  const obs = (): number[] => Array.from({ length: 8 }, () => rng.next());
  for (let i = 0; i < n; i++) w.write({ obs: obs(), action: Array.from({ length: 6 }, () => rng.next()), reward: -rng.next(), nextObs: obs(), done: i % 10 === 9 });
  w.close();
}

/** P = 4 mask of the tiny checkpoint: A = 6. */
const TINY_MASK = [{ start: 0, end: 2 }, { start: 1, end: 3 }, { start: 2, end: 4 }];
let tinyCkpt = '';

beforeAll(async () => {
  expect(existsSync(path.join(root, 'dist/src/cli/main.js')), 'build dist/ first: npx tsc -p tsconfig.json').toBe(true);
  await initBackend();
  // A tiny residual-mode checkpoint for P = 4 (hidden [8]), so real processes load it in milliseconds.
  tinyCkpt = path.join(dir, 'tiny-p4');
  const agent = new SacAgent(resolveAgentConfig('finetune', { hidden: [8], learningStarts: 0 }), { obsDim: 8, actionDim: 6 });
  saveCheckpoint(tinyCkpt, agent, { numWorkers: 4, mask: TINY_MASK, actionMode: 'residual', residualScale: 0.5, source: 'test' });
  agent.dispose();
});

describe('sas train offline --out: checked before training, never replaces what is not a checkpoint (item 2)', () => {
  it('--out a regular file: exit 2 OUTPUT_INVALID naming --out, before any training step; the file is byte-identical', async () => {
    const data = path.join(dir, 'ds-a');
    writeDataset(data);
    const file = path.join(dir, 'precious.txt');
    writeFileSync(file, 'do not turn me into a checkpoint\n');
    const r = await sas(['train', 'offline', '--data', data, '--out', file, '--set', 'steps=2', '--set', 'agent={hidden: [8], batchSize: 4}']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[OUTPUT_INVALID\]: --out: /m);
    expect(r.err).toContain(file);
    expect(r.err).not.toMatch(/train offline: \d+ transitions/); // refused before the dataset was trained on
    expect(readFileSync(file, 'utf8')).toBe('do not turn me into a checkpoint\n');
  }, 60_000);

  it('--out equal to --data: exit 2 OUTPUT_INVALID; the dataset is byte-identical and still reads', async () => {
    const data = path.join(dir, 'ds-b');
    writeDataset(data);
    const before = snapshot(data);
    const r = await sas(['train', 'offline', '--data', data, '--out', data, '--set', 'steps=2', '--set', 'agent={hidden: [8], batchSize: 4}']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[OUTPUT_INVALID\]: --out: .*not a checkpoint/m);
    expect(snapshot(data)).toEqual(before);
    expect(readDataset(data).manifest.count).toBe(40);
  }, 60_000);

  it('--out a new path trains and writes a loadable checkpoint; a second run replaces it', async () => {
    const data = path.join(dir, 'ds-c');
    writeDataset(data);
    const out = path.join(dir, 'ck-c');
    for (let i = 0; i < 2; i++) {
      const r = await sas(['train', 'offline', '-q', '--data', data, '--out', out, '--set', 'steps=2', '--set', 'agent={hidden: [8], batchSize: 4, cql: {numActions: 2, bcIters: 1}}']);
      expect(r.code, r.err).toBe(0);
      expect(readCheckpointManifest(out).numWorkers).toBe(4);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('.ck-c'))).toEqual([]); // no temporary folder left beside it
  }, 120_000);
});

describe('datasets do not clobber other folders (item 2)', () => {
  it('sas collect -o a checkpoint folder or a foreign folder: exit 2 OUTPUT_INVALID naming collect.out, nothing changed', async () => {
    const ck = path.join(dir, 'ck-copy');
    cpSync(tinyCkpt, ck, { recursive: true });
    const foreign = path.join(dir, 'notes');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'todo.md'), 'mine\n');
    for (const target of [ck, foreign]) {
      const before = snapshot(target);
      const r = await sas(['collect', '-q', '-o', target, '--set', 'job.durationMs=2000', '--set', 'collect.runs=1']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error \[OUTPUT_INVALID\]: collect\.out: /m);
      expect(snapshot(target)).toEqual(before);
    }
  }, 60_000);

  it('DatasetWriter: refuses a checkpoint at construction, replaces a dataset, and an aborted write leaves the old dataset intact', () => {
    expect(() => new DatasetWriter(tinyCkpt, { numWorkers: 4, mask: TINY_MASK, source: 'test' })).toThrow(expect.objectContaining({ code: 'OUTPUT_INVALID' }));
    const d = path.join(dir, 'ds-replace');
    writeDataset(d, 40);
    const before = snapshot(d);
    const w = new DatasetWriter(d, { numWorkers: 4, mask: TINY_MASK, source: 'test' });
    w.write({ obs: new Array(8).fill(0.5), action: new Array(6).fill(0.5), reward: 0, nextObs: new Array(8).fill(0.5), done: false });
    w.abort();
    expect(snapshot(d)).toEqual(before);
    writeDataset(d, 12);
    expect(readDataset(d).manifest.count).toBe(12);
    expect(readdirSync(dir).filter((f) => f.startsWith('.ds-replace'))).toEqual([]);
  });
});

describe('a checkpoint that cannot serve the job is refused, never replaced by the uniform table (item 6)', () => {
  const bad = (): Array<[string, string, RegExp]> => {
    const file = path.join(dir, 'plain-file');
    writeFileSync(file, 'not a checkpoint');
    const empty = path.join(dir, 'empty-ckpt');
    mkdirSync(empty, { recursive: true });
    const garbage = path.join(dir, 'garbage-ckpt');
    mkdirSync(garbage, { recursive: true });
    writeFileSync(path.join(garbage, 'manifest.json'), '{ this is not json');
    const wrongShape = path.join(dir, 'wrong-shape-ckpt');
    cpSync(tinyCkpt, wrongShape, { recursive: true });
    writeFileSync(path.join(wrongShape, 'actor.bin'), Buffer.alloc(12));
    return [
      ['missing path', path.join(dir, 'no-such-checkpoint'), /^error \[FILE_NOT_FOUND\]: partitioner\.params\.checkpoint: /m],
      ['plain file', file, /^error \[CHECKPOINT_INVALID\]: partitioner\.params\.checkpoint: .*is a file/m],
      ['empty folder', empty, /^error \[CHECKPOINT_INVALID\]: partitioner\.params\.checkpoint: .*no manifest\.json/m],
      ['garbage manifest', garbage, /^error \[CHECKPOINT_INVALID\]: partitioner\.params\.checkpoint: .*manifest\.json/m],
      ['weights that do not fit', wrongShape, /^error \[CHECKPOINT_INVALID\]: partitioner\.params\.checkpoint: .*actor/m],
    ];
  };

  it('sas run: missing path, plain file, empty folder, garbage manifest, bad weights: exit 2 naming the field and the path', async () => {
    for (const [what, ck, re] of bad()) {
      const r = await sas(['run', '-q', '--no-write', '-p', 'saspartitioner', '--set', 'workers=4', '--set', 'durationMs=1000', '--set', `partitioner.params.checkpoint=${ck}`]);
      expect(r.code, what).toBe(2);
      expect(r.err, what).toMatch(re);
      expect(r.err, what).toContain(ck);
      expect(r.out, what).toBe(''); // no summary: the job never ran
    }
  }, 120_000);

  it('sas run: a checkpoint for another P (the shipped P = 64 one at P = 8, the tiny P = 4 one at P = 5) is exit 2 naming both P', async () => {
    const a = await sas(['run', '-q', '--no-write', '-p', 'saspartitioner', '--set', 'workers=8', '--set', 'durationMs=1000']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/^error \[CHECKPOINT_INVALID\]: partitioner\.params\.checkpoint: checkpoint default .*P = 64, the job has P = 8/m);
    const b = await sas(['run', '-q', '--no-write', '-p', 'saspartitioner', '--set', 'workers=5', '--set', 'durationMs=1000', '--set', `partitioner.params.checkpoint=${tinyCkpt}`]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/P = 4, the job has P = 5/);
    // saspartitioner-adaptive names the model's field.
    const c = await sas(['run', '-q', '--no-write', '-p', 'saspartitioner-adaptive', '--set', 'workers=8', '--set', 'durationMs=1000']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/^error \[CHECKPOINT_INVALID\]: partitioner\.params\.models\[1\]\.checkpoint: .*P = 64, the job has P = 8/m);
  }, 60_000);

  it('sas run with a checkpoint that serves the job still runs (the tiny P = 4 one; none = the uniform table)', async () => {
    for (const ck of [tinyCkpt, 'none']) {
      const r = await sas(['run', '-q', '--no-write', '--json', '-p', 'saspartitioner', '--set', 'workers=4', '--set', 'durationMs=2000', '--set', 'source.rate=5000', '--set', `partitioner.params.checkpoint=${ck}`]);
      expect(r.code, r.err).toBe(0);
      expect((JSON.parse(r.out) as { sustainedThroughput: number }).sustainedThroughput).toBeGreaterThan(0);
    }
  }, 60_000);

  it('sas max-throughput and sas compare refuse a missing checkpoint with exit 2 too', async () => {
    const missing = path.join(dir, 'no-such-checkpoint');
    const m = await sas(['max-throughput', '-q', '-p', 'saspartitioner', '--set', 'partitioner.name=saspartitioner', '--set', 'workers=4', '--set', `partitioner.params.checkpoint=${missing}`]);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/^error \[FILE_NOT_FOUND\]: partitioner\.params\.checkpoint: .*no-such-checkpoint/m);
    const cfg = path.join(dir, 'compare-bad.yaml');
    writeFileSync(cfg, [
      'base: { workers: 4, capacity: 20000, queueCapacity: 100 }',
      `partitioners: [{ name: saspartitioner, params: { checkpoint: "${missing}" } }]`,
      'workloads: [{ name: zipf, params: { numKeys: 1000 } }]',
      'tasks: [keyedcount]',
      'fixedRate: { rate: 2000, durationMs: 1000 }',
      `output: { dir: "${path.join(dir, 'compare-out')}" }`,
    ].join('\n'));
    const c = await sas(['compare', '-q', '-c', cfg]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/^error \[FILE_NOT_FOUND\]: partitioner\.params\.checkpoint: .*no-such-checkpoint/m);
  }, 60_000);
});

describe('sas distributed refuses a Kafka source or sink instead of ignoring it (item 8)', () => {
  it('params/kafka-run.yaml: exit 2 naming source.kind, then sink.kind, before any broker is contacted', async () => {
    // An unreachable broker: the old code went on to it (and ran the generator had it been there).
    const a = await sas(['distributed', '-q', '-c', 'params/kafka-run.yaml', '--brokers', '127.0.0.1:1', '--workers', '0']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/^error \[CONFIG_INVALID\]: source\.kind: .*generator, got kafka/m);
    const b = await sas(['distributed', '-q', '-c', 'params/kafka-run.yaml', '--set', 'source.kind=generator', '--brokers', '127.0.0.1:1', '--workers', '0']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/^error \[CONFIG_INVALID\]: sink\.kind: .*count, got kafka/m);
  }, 60_000);
});

describe('sas train online on the real clock (item 21)', () => {
  it('respects minIterations on the server and in the job, and writes the final checkpoint to online.out', async () => {
    const cfg = path.join(dir, 'online-real.yaml');
    const out = path.join(dir, 'online-real-out');
    writeFileSync(cfg, [
      'job:',
      '  clock: real',
      '  threads: 2',
      '  workers: 4',
      '  capacity: unlimited',
      '  slideMs: 100',
      '  window: { sizeMs: 100, slideMs: 100 }',
      '  durationMs: 30000',
      '  source: { rate: 4000 }',
      '  task: { name: keyedcount }',
      '  workload: { name: zipf, params: { numKeys: 500, exponent: 1.2 } }',
      '  partitioner: { name: saspartitioner, params: { numHotKeys: 3 } }',
      '  output: { metrics: false }',
      'online:',
      '  maxIterations: 40',
      '  minIterations: 6',
      '  targetImbalance: 1000   # met at every slide: only minIterations keeps it going',
      '  checkpointEvery: 100',
      `  out: "${out}"`,
      '  agent: { batchSize: 2, trainingIntensity: 1, learningStarts: 0 }',
    ].join('\n'));
    const r = await sas(['train', 'online', '-q', '-c', cfg, '--checkpoint', tinyCkpt]);
    expect(r.code, r.err).toBe(0);
    const m = /train online: (\d+) iterations, stopped by (\w+)/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(m![2]).toBe('target_imbalance');
    expect(Number(m![1])).toBeGreaterThanOrEqual(6);
    // The server's own stop rule waits for minIterations as well (it stopped at step 5 before).
    const stops = [...r.err.matchAll(/training stopped at step (\d+): (\w+)/g)];
    expect(stops.length, r.err).toBeGreaterThan(0);
    for (const s of stops) expect(Number(s[1]), s[0]).toBeGreaterThanOrEqual(6);
    const man = readCheckpointManifest(out);
    expect(man.updates).toBeGreaterThan(0); // the weights the server trained, not the starting ones (0 updates)
    expect(man.numWorkers).toBe(4);
    expect(man.actionMode).toBe('residual');
    expect(man.residualScale).toBe(0.5);
    expect(man.mask).toEqual(TINY_MASK);
    expect(r.out).toContain(`checkpoint ${out}`);
  }, 120_000);

  it('online.out a regular file is refused before the job starts (exit 2 OUTPUT_INVALID naming online.out)', async () => {
    const file = path.join(dir, 'online-out-file');
    writeFileSync(file, 'keep');
    const r = await sas(['train', 'online', '-q', '--checkpoint', tinyCkpt, '--set', 'job.workers=4', '--set', 'job.durationMs=3000', '--set', `online.out=${file}`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[OUTPUT_INVALID\]: online\.out: /m);
    expect(readFileSync(file, 'utf8')).toBe('keep');
  }, 60_000);
});

describe('help and summary say what the code does (items 23, 24)', () => {
  it('sas collect --help names the exploring saspartitioner params/collect.yaml uses', async () => {
    const r = await sas(['collect', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/exploring saspartitioner/);
    expect(r.out).toMatch(/dalton-offline/);
  });

  it('replication is n/a when no slide measured it (0 in the summary), a number otherwise', () => {
    const s: RunSummary = { sustainedThroughput: 10, latencyP50Ms: 1, latencyP99Ms: 2, imbalanceBusy: 0.1, nmadBusy: 0.01, imbalanceCount: 0.1, replication: 0, perWorkerLoad: [1, 1] };
    const line = (x: RunSummary): string => formatSummary('t', x, [500, 500], {}).split('\n').find((l) => l.trim().startsWith('replication'))!;
    expect(line(s)).toMatch(/replication\s+n\/a/);
    expect(line({ ...s, replication: 1.25 })).toMatch(/replication\s+1\.25$/);
  });

  it('a real-clock sas run prints replication n/a, not 0', async () => {
    const r = await sas(['run', '-q', '--no-write', '--clock', 'real', '-p', 'pkg', '--set', 'workers=2', '--set', 'threads=2', '--set', 'durationMs=1500', '--set', 'source.rate=5000']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/replication\s+n\/a/);
    expect(r.out).not.toMatch(/replication\s+0\s*$/m);
  }, 60_000);
});
