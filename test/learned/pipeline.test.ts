// Learned pipeline end to end at toy size: collect → dataset, offline CQL-N → checkpoint → identical actions, exact learned runs, remote mode.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobConfig, type JobConfig } from '../../src/engine/config.js';
import { buildJob, runJob } from '../../src/engine/job.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { referenceWindowed } from '../../src/tasks/index.js';
import { collectCommand } from '../../src/cli/collect.js';
import { trainOfflineCommand } from '../../src/cli/train.js';
import { collectSectionSchema, trainOfflineSchema } from '../../src/cli/learned.js';
import { initBackend, loadCheckpoint, readDataset, resolveAgentConfig, saveCheckpoint, startAgentServer, trainOffline } from '../../src/rl-agent/index.js';
import { tf } from '../../src/rl-agent/backend.js';
import { prepareLearnedPartitioner } from '../../src/partitioners/learned/prepare.js';
import { CheckpointError, ConfigError } from '../../src/common/errors.js';

const P = 4;
const TINY_AGENT = { hidden: [8], batchSize: 16, seed: 3, cql: { numActions: 2, bcIters: 2 } };
let dir: string;
let dataDir: string;
let ckptDir: string;

function toyJob(extra: string[] = []): JobConfig {
  return loadJobConfig(undefined, [
    `workers=${P}`,
    'workload.params.numKeys=300',
    'workload.params.exponent=1.4',
    'capacity=40000',
    'source.rate=6000',
    'slideMs=100',
    'window={sizeMs: 200, slideMs: 100}',
    'queueCapacity=64',
    'output.metrics=false',
    ...extra,
  ]);
}

beforeAll(async () => {
  await initBackend('cpu');
  dir = mkdtempSync(path.join(tmpdir(), 'sas-learned-'));
  dataDir = path.join(dir, 'data');
  ckptDir = path.join(dir, 'ckpt');
  const job = toyJob(['partitioner.name=dalton-offline', 'partitioner.params={numHotKeys: 3, numTrueHotKeys: 3, epsilon: 0.3}', 'durationMs=3000']);
  await collectCommand(job, collectSectionSchema.parse({ out: dataDir, runs: 2, episodeLength: 8 }), { quiet: true });
  await trainOfflineCommand(trainOfflineSchema.parse({ steps: 4, progressEvery: 2, agent: TINY_AGENT }), dataDir, ckptDir, { quiet: true, log: () => undefined });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('collect', () => {
  it('writes a dataset readable by readDataset with the declared dims', () => {
    const d = readDataset(dataDir);
    const m = d.manifest;
    expect(m.numWorkers).toBe(P);
    expect(m.obsDim).toBe(2 * P);
    expect(m.mask.length).toBe(3);
    expect(m.actionDim).toBe(m.mask.reduce((a, r) => a + r.end - r.start, 0));
    // 2 runs of 30 slides; the first slide of each run fills the window, the drain slide is skipped.
    expect(m.count).toBeGreaterThanOrEqual(2 * 25);
    expect(m.count).toBeLessThanOrEqual(2 * 29);
    expect(d.actions.length).toBe(m.count * m.actionDim);
    // Each key's weights are 0.05 + 0.9·counts/max (actionMargin 0.05): every range peaks at 0.95, none is below 0.05.
    for (let i = 0; i < m.count; i++) {
      let off = i * m.actionDim;
      for (const r of m.mask) {
        const a = Array.from(d.actions.subarray(off, off + r.end - r.start));
        expect(Math.max(...a)).toBeCloseTo(0.95, 6);
        expect(Math.min(...a)).toBeGreaterThanOrEqual(0.05 - 1e-7);
        off += r.end - r.start;
      }
    }
    expect(d.dones.filter((x) => x === 1).length).toBeGreaterThanOrEqual(Math.floor(m.count / 8) - 1);
  });

  it('rejects another behaviour policy with a ConfigError naming the field', async () => {
    await expect(collectCommand(toyJob(['partitioner.name=hash']), collectSectionSchema.parse({ out: path.join(dir, 'x') }), { quiet: true })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'job.partitioner.name' } });
  });
});

describe('offline training → checkpoint → load', () => {
  it('the checkpoint carries P and the mask, and loaded agents act identically', async () => {
    const data = readDataset(dataDir);
    const res = await trainOffline(data, resolveAgentConfig('offline-fast', TINY_AGENT), { gradientSteps: 3 });
    const obs = Float32Array.from(data.obs.subarray(0, 2 * P));
    const before = res.agent.act(obs, { deterministic: true });
    const out = path.join(dir, 'ckpt2');
    saveCheckpoint(out, res.agent, { numWorkers: P, mask: data.manifest.mask });
    const numTensors = tf.memory().numTensors;
    res.agent.dispose();
    expect(tf.memory().numTensors).toBeLessThan(numTensors);
    const a = loadCheckpoint(out).agent;
    const b = loadCheckpoint(out).agent;
    expect(Array.from(a.act(obs, { deterministic: true }))).toEqual(Array.from(before));
    expect(Array.from(b.act(obs, { deterministic: true }))).toEqual(Array.from(before));
    a.dispose();
    b.dispose();
    const man = loadCheckpoint(ckptDir);
    expect(man.manifest.numWorkers).toBe(P);
    expect(man.manifest.mask).toEqual(data.manifest.mask);
    man.agent.dispose();
  });
});

async function exactRun(cfg: JobConfig, partitioner: NonNullable<Parameters<typeof buildJob>[1]>['partitioner'], onSlide?: (i: number, routedSoFar: number) => void): Promise<{ records: number; versions: Set<number> }> {
  const sink = new CollectingSink();
  const job = buildJob(cfg, { sink, partitioner });
  const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
  const versions = new Set<number>();
  let i = 0;
  let routed = 0;
  const res = await runJob(job, {
    recordInput: input,
    onSlide: (r) => {
      versions.add(r.partitioner.tableVersion);
      routed += r.partitioner.records;
      onSlide?.(i++, routed);
    },
  });
  expect(res.records).toBe(input.keys.length);
  const ref = referenceWindowed(job.parts.op, { keys: input.keys, payloads: input.payloads, timesMs: input.times }, job.params.window);
  expect(sink.windows.size).toBe(ref.length);
  for (const r of ref) expect(sink.windows.get(`${r.windowStart}:${r.key}`), `${r.windowStart}:${r.key}`).toEqual(r.output);
  expect(sink.merged).toBeGreaterThan(0); // hot keys really were split
  return { records: res.records, versions };
}

describe('learned runs are exact', () => {
  it('virtual clock, inline policy learning online: word counts equal the reference', async () => {
    const cfg = toyJob(['durationMs=2000', 'partitioner.name=saspartitioner', `partitioner.params={checkpoint: "${ckptDir}", numHotKeys: 3, learn: true}`]);
    const prep = await prepareLearnedPartitioner(cfg, { inline: { overrides: { batchSize: 8 } } });
    const tensors: number[] = [];
    const { versions } = await exactRun(cfg, prep.partitioner, (i) => {
      if (i >= 5) tensors.push(tf.memory().numTensors);
    });
    // Online learning in onSlide leaks no tensor: the count is flat across slides.
    expect(new Set(tensors).size).toBe(1);
    const part = prep.created()!;
    expect(part.policy).toBeDefined();
    expect(part.steps).toBeGreaterThan(10);
    expect((prep.policy as unknown as { agent: { updates: number } }).agent.updates).toBeGreaterThan(0);
    expect(versions.size).toBeGreaterThan(5);
    await prep.close();
  });

  it('a checkpoint trained for another P is refused with a CheckpointError naming P, the shipped one too (never the uniform table in its place)', async () => {
    const cfg = toyJob(['workers=5', 'partitioner.name=saspartitioner', `partitioner.params={checkpoint: "${ckptDir}", numHotKeys: 3}`]);
    await expect(prepareLearnedPartitioner(cfg)).rejects.toBeInstanceOf(CheckpointError);
    await expect(prepareLearnedPartitioner(toyJob(['workers=5', 'partitioner.name=saspartitioner']))).rejects.toThrow(/P = 64, the job has P = 5/);
    const uniform = await prepareLearnedPartitioner(toyJob(['workers=5', 'partitioner.name=saspartitioner', 'partitioner.params={checkpoint: none}']));
    expect(uniform.policy).toBeUndefined();
  });

  it('remote mode over a real socket: the table keeps working after the agent server stops, no record is lost', async () => {
    const token = 'test-token-0123';
    const server = await startAgentServer({ host: '127.0.0.1', port: 0, token, mode: 'evaluate', checkpoint: ckptDir });
    const cfg = toyJob(['clock=real', 'threads=2', 'durationMs=2500', 'partitioner.name=saspartitioner', `partitioner.params={mode: remote, url: "${server.url}", token: ${token}, checkpoint: "${ckptDir}", numHotKeys: 3}`]);
    const prep = await prepareLearnedPartitioner(cfg, { remoteMode: 'evaluate', session: 'remote-test' });
    const client = (prep.policy as unknown as { client: import('../../src/rl-agent/index.js').AgentClient }).client;
    let actionsAtStop = -1;
    let routedAtStop = -1;
    let stopped: Promise<void> | undefined;
    const { records } = await exactRun(cfg, prep.partitioner, (i, routed) => {
      if (i === 12 && !stopped) {
        actionsAtStop = client.stats.actions;
        routedAtStop = routed;
        stopped = server.close();
      }
    });
    await stopped;
    expect(actionsAtStop).toBeGreaterThan(0); // the agent did drive the table before it went away
    expect(client.stats.dropped).toBeGreaterThan(0); // steps after the stop were dropped, not awaited
    expect(routedAtStop).toBeGreaterThan(0);
    expect(records).toBeGreaterThan(routedAtStop); // routing went on after the server stopped (and exactRun checked every record)
    await prep.close();
  });
});
