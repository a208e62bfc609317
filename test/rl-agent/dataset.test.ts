// Offline datasets: exact round trip, validation errors that name record and field, offline CQL-N training.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetWriter, readDataset, recordFloats } from '../../src/rl-agent/dataset.js';
import { trainOffline } from '../../src/rl-agent/cql.js';
import { initBackend } from '../../src/rl-agent/backend.js';
import { resolveAgentConfig } from '../../src/rl-agent/config.js';
import { SimEnv } from '../../src/rl-agent/sim-env.js';
import { DataError, SasError } from '../../src/common/errors.js';
import { Rng } from '../../src/common/rng.js';
import { perfScore } from '../../src/rl-agent/env-math.js';

const root = mkdtempSync(path.join(tmpdir(), 'sas-dataset-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
});

/** Writes `n` transitions of the simulator under random actions. */
function collect(dir: string, n: number, seed = 1): SimEnv {
  const env = new SimEnv({ numWorkers: 6, numHotKeys: 3, numKeys: 500, episodeLength: 16, seed });
  const w = new DatasetWriter(dir, { numWorkers: 6, mask: [...env.mask], hotKeyFreqs: [...env.hotKeyFreqs], source: 'sim-env', rewardBase: 0.6 }, 7);
  const rng = new Rng(seed);
  let obs = env.reset();
  for (let i = 0; i < n; i++) {
    const a = Float32Array.from({ length: env.actionDim }, () => rng.next());
    const s = env.step(a);
    w.write({ obs, action: a, reward: s.reward, nextObs: s.obs, done: s.done });
    obs = s.done ? env.reset() : s.obs;
  }
  w.close();
  return env;
}

function expectDataError(f: () => unknown, field: string, record?: number): void {
  try {
    f();
    expect.unreachable();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).context.field).toBe(field);
    if (record !== undefined) expect((e as DataError).context.record).toBe(record);
  }
}

describe('dataset', () => {
  it('round-trips transitions exactly with a complete manifest', () => {
    const dir = path.join(root, 'rt');
    const env = collect(dir, 50);
    const d = readDataset(dir);
    expect(d.manifest).toMatchObject({ format: 'sas-transitions', version: 1, numWorkers: 6, numHotKeys: 3, obsDim: 12, actionDim: env.actionDim, count: 50, source: 'sim-env' });
    // Replay the same seeded collection and compare every float.
    const env2 = new SimEnv({ numWorkers: 6, numHotKeys: 3, numKeys: 500, episodeLength: 16, seed: 1 });
    const rng = new Rng(1);
    let obs = env2.reset();
    for (let i = 0; i < 50; i++) {
      const a = Float32Array.from({ length: env2.actionDim }, () => rng.next());
      const s = env2.step(a);
      expect(Array.from(d.obs.subarray(i * 12, i * 12 + 12))).toEqual(Array.from(obs));
      expect(Array.from(d.actions.subarray(i * env2.actionDim, (i + 1) * env2.actionDim))).toEqual(Array.from(a));
      expect(d.rewards[i]).toBe(Math.fround(s.reward));
      expect(d.dones[i]).toBe(s.done ? 1 : 0);
      obs = s.done ? env2.reset() : s.obs;
    }
    expect(d.dones.reduce((a, b) => a + b, 0)).toBe(3); // episodes of 16 in 50 steps
  });

  it('names the record and field of a bad value, and a size that does not match count', () => {
    const dir = path.join(root, 'bad');
    collect(dir, 10);
    const file = path.join(dir, 'transitions.f32');
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const per = recordFloats(m.obsDim, m.actionDim);
    const good = readFileSync(file);
    const f = new Float32Array(good.buffer.slice(good.byteOffset, good.byteOffset + good.byteLength));
    f[3 * per + 2] = 3.5; // obs[2] of record 3
    writeFileSync(file, new Uint8Array(f.buffer));
    expectDataError(() => readDataset(dir), 'obs[2]', 3);
    f[3 * per + 2] = 1;
    f[5 * per + m.obsDim] = -0.5; // action[0] of record 5
    writeFileSync(file, new Uint8Array(f.buffer));
    expectDataError(() => readDataset(dir), 'action[0]', 5);
    f[5 * per + m.obsDim] = 0.5;
    f[6 * per + per - 1] = 0.5; // done of record 6
    writeFileSync(file, new Uint8Array(f.buffer));
    expectDataError(() => readDataset(dir), 'done', 6);
    f[6 * per + per - 1] = 0;
    writeFileSync(file, new Uint8Array(f.buffer));
    truncateSync(file, good.byteLength - 4);
    expectDataError(() => readDataset(dir), 'count');
  });

  it('rejects a bad manifest with the field name and a missing one with FILE_NOT_FOUND', () => {
    const dir = path.join(root, 'man');
    collect(dir, 5);
    const mp = path.join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(mp, 'utf8'));
    writeFileSync(mp, JSON.stringify({ ...m, obsDim: 13 }));
    expectDataError(() => readDataset(dir), 'obsDim');
    writeFileSync(mp, JSON.stringify({ ...m, version: 2 }));
    expectDataError(() => readDataset(dir), 'version');
    writeFileSync(mp, '{ not json');
    expectDataError(() => readDataset(dir), '(root)');
    rmSync(mp);
    expect(() => readDataset(dir)).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND' }));
    expect(() => readDataset(path.join(root, 'nowhere'))).toThrow(SasError);
  });

  it('leaves nothing readable behind when a collection is aborted', () => {
    const dir = path.join(root, 'abort');
    const w = new DatasetWriter(dir, { numWorkers: 2, mask: [{ start: 0, end: 2 }], source: 'test' });
    w.write({ obs: [1, 1, 0, 0], action: [1, 1], reward: 0, nextObs: [1, 1, 0, 0], done: false });
    w.abort();
    expect(existsSync(dir)).toBe(false); // records were staged beside it; nothing is left at or beside it
    expect(readdirSync(root).filter((f) => f.startsWith('.abort'))).toEqual([]);
  });

  it('trains CQL-N offline for 200 steps with finite losses and progress reports', async () => {
    const dir = path.join(root, 'train');
    collect(dir, 400, 4);
    const d = readDataset(dir);
    const cfg = resolveAgentConfig('offline', { hidden: [32, 32], batchSize: 32, seed: 3, cql: { bcIters: 20, numActions: 4 } });
    const seen: number[] = [];
    const r = await trainOffline(d, cfg, { gradientSteps: 200, progressEvery: 50, onProgress: (p) => seen.push(p.step) });
    expect(r.steps).toBe(200);
    expect(seen).toEqual([50, 100, 150, 200]);
    expect(r.agent.replay.size).toBe(400);
    for (const p of r.history) for (const [k, v] of Object.entries(p.metrics)) expect(Number.isFinite(v), k).toBe(true);
    expect(r.history[0].metrics.bc).toBe(0); // step 50 > bcIters 20
    r.agent.dispose();
  });

  it('learns a better routing than uniform from random-behaviour data (offline-fast preset)', async () => {
    const env = new SimEnv({ numWorkers: 8, numHotKeys: 4, numKeys: 1000, episodeLength: 32, seed: 1 });
    const dir = path.join(root, 'learn');
    const w = new DatasetWriter(dir, { numWorkers: 8, mask: [...env.mask], source: 'sim-env' });
    const rng = new Rng(2);
    let obs = env.reset();
    for (let i = 0; i < 3000; i++) {
      const a = Float32Array.from({ length: env.actionDim }, () => rng.next());
      const s = env.step(a);
      w.write({ obs, action: a, reward: s.reward, nextObs: s.obs, done: s.done });
      obs = s.done ? env.reset() : s.obs;
    }
    w.close();
    const cfg = resolveAgentConfig('offline-fast', { hidden: [32, 32], batchSize: 64, criticLr: 1e-3, actorLr: 3e-4, cql: { numActions: 4, bcIters: 50 } });
    const r = await trainOffline(readDataset(dir), cfg, { gradientSteps: 300 });
    const uniform = perfScore(env.busyOf(env.uniformAction()));
    const learned = perfScore(env.busyOf(r.agent.act(env.reset(), { deterministic: true })));
    expect(learned).toBeLessThan(uniform - 0.01);
    r.agent.dispose();
  });
});
