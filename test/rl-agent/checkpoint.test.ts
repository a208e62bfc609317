// Checkpoints: save → load gives identical deterministic actions; corruptions fail with CHECKPOINT_INVALID.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src/rl-agent/backend.js';
import { resolveAgentConfig } from '../../src/rl-agent/config.js';
import { SacAgent } from '../../src/rl-agent/sac.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/rl-agent/checkpoint.js';
import { maskFromFrequencies, zipfTopProbabilities } from '../../src/rl-agent/mask.js';
import { Rng } from '../../src/common/rng.js';
import type { SasError } from '../../src/common/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'sas-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
});

function trainedAgent(): SacAgent {
  const agent = new SacAgent(resolveAgentConfig('sac', { hidden: [16, 16], batchSize: 16, learningStarts: 16, seed: 8 }), { obsDim: 6, actionDim: 4 });
  const rng = new Rng(2);
  for (let i = 0; i < 40; i++) {
    const obs = Array.from({ length: 6 }, () => 2 * rng.next());
    agent.observe({ obs, action: [rng.next(), rng.next(), rng.next(), rng.next()], reward: rng.next(), nextObs: obs, done: false });
  }
  return agent;
}

function expectInvalid(f: () => unknown): void {
  try {
    f();
    expect.unreachable();
  } catch (e) {
    expect((e as SasError).code).toBe('CHECKPOINT_INVALID');
  }
}

describe('checkpoint', () => {
  it('save → load gives bit-identical deterministic actions, α and counters', () => {
    const agent = trainedAgent();
    const dir = path.join(root, 'a');
    const mask = [{ start: 0, end: 2 }, { start: 1, end: 3 }];
    const m = saveCheckpoint(dir, agent, { numWorkers: 3, hotKeys: [5, 9], mask });
    expect(readdirSync(dir).sort()).toEqual(['actor.bin', 'actor.json', 'critic.bin', 'critic.json', 'critic_target.bin', 'critic_target.json', 'manifest.json']);
    expect(m).toMatchObject({ algorithm: 'sac-n', obsDim: 6, actionDim: 4, numWorkers: 3, hotKeys: [5, 9], mask, updates: agent.updates });
    const { agent: loaded, manifest } = loadCheckpoint(dir);
    expect(manifest.config).toEqual(agent.config);
    expect(loaded.updates).toBe(agent.updates);
    expect(loaded.alpha).toBe(agent.alpha);
    const rng = new Rng(4);
    for (let i = 0; i < 10; i++) {
      const obs = Array.from({ length: 6 }, () => 2 * rng.next());
      expect(Array.from(loaded.act(obs, { deterministic: true }))).toEqual(Array.from(agent.act(obs, { deterministic: true })));
    }
    const q = (a: SacAgent) => tf.tidy(() => Array.from(a.criticTarget.q(tf.tensor2d([[1, 1, 1, 0, 0, 0]]), tf.tensor2d([[0.5, 0.5, 0.5, 0.5]])).dataSync()));
    expect(q(loaded)).toEqual(q(agent));
    // fine-tune overrides change training fields and α, not the weights
    const { agent: ft } = loadCheckpoint(dir, { overrides: { tau: 1e-5, initialAlpha: 0.002 } });
    expect(ft.config.tau).toBe(1e-5);
    expect(ft.alpha).toBeCloseTo(0.002, 8);
    const obs = [1, 1, 1, 0.5, 0.5, 0.5];
    expect(Array.from(ft.act(obs, { deterministic: true }))).toEqual(Array.from(agent.act(obs, { deterministic: true })));
    for (const a of [agent, loaded, ft]) a.dispose();
  });

  it('rejects corrupted or mismatched checkpoints with CHECKPOINT_INVALID and leaks nothing', () => {
    const agent = trainedAgent();
    const dir = path.join(root, 'b');
    saveCheckpoint(dir, agent);
    agent.dispose();
    const before = tf.memory().numTensors;
    const bin = path.join(dir, 'actor.bin');
    const good = readFileSync(bin);
    writeFileSync(bin, good.subarray(0, good.length - 8));
    expectInvalid(() => loadCheckpoint(dir));
    writeFileSync(bin, good);
    const aj = path.join(dir, 'actor.json');
    const spec = JSON.parse(readFileSync(aj, 'utf8'));
    writeFileSync(aj, JSON.stringify({ ...spec, topology: { ...spec.topology, hidden: [16, 17] } }));
    expectInvalid(() => loadCheckpoint(dir));
    writeFileSync(aj, JSON.stringify(spec));
    expectInvalid(() => loadCheckpoint(dir, { overrides: { hidden: [32, 32] } }));
    const mp = path.join(dir, 'manifest.json');
    const man = JSON.parse(readFileSync(mp, 'utf8'));
    writeFileSync(mp, JSON.stringify({ ...man, version: 9 }));
    expectInvalid(() => loadCheckpoint(dir));
    writeFileSync(mp, JSON.stringify({ ...man, config: { ...man.config, gamma: 'x' } }));
    expectInvalid(() => loadCheckpoint(dir));
    writeFileSync(mp, '{');
    expectInvalid(() => loadCheckpoint(dir));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps a full-size P = 64 checkpoint (obs 128, A = 73, [256, 256], 2 critics + targets) under 5 MB', () => {
    const mask = maskFromFrequencies(zipfTopProbabilities(1.5, 10), 64);
    const agent = new SacAgent(resolveAgentConfig('sac', { bufferSize: 1 }), { obsDim: 128, actionDim: 73 });
    const dir = path.join(root, 'p64');
    saveCheckpoint(dir, agent, { numWorkers: 64, mask });
    const bytes = readdirSync(dir).reduce((s, f) => s + statSync(path.join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
    expect(statSync(path.join(dir, 'actor.bin')).size).toBe(4 * (128 * 256 + 256 + 256 * 256 + 256 + 256 * 146 + 146));
    agent.dispose();
  });
});
