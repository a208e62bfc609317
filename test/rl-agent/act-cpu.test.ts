// The CPU forward pass of deterministic actions: equal to the TF.js mode() up to float32 rounding, refreshed after every weight change.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src/rl-agent/backend.js';
import { SquashedGaussianActor } from '../../src/rl-agent/networks.js';
import { resolveAgentConfig } from '../../src/rl-agent/config.js';
import { SacAgent } from '../../src/rl-agent/sac.js';
import { Rng } from '../../src/common/rng.js';

beforeAll(async () => {
  await initBackend();
});

function tfMode(actor: SquashedGaussianActor, obs: number[]): Float32Array {
  return tf.tidy(() => actor.mode(tf.tensor2d(obs, [1, obs.length])).dataSync() as Float32Array);
}

describe('SquashedGaussianActor.modeInto', () => {
  it('equals mode() within 1e-5 (tanh and relu, one to three hidden layers, sparse inputs)', () => {
    const rng = new Rng(4);
    for (const [hidden, act] of [[[16], 'tanh'], [[32, 8], 'relu'], [[8, 8, 8], 'tanh']] as const) {
      const actor = new SquashedGaussianActor(12, 5, hidden, act, [-5, 2], rng.fork(hidden.length));
      for (let t = 0; t < 5; t++) {
        const obs = Array.from({ length: 12 }, (_, i) => (i % 4 === t % 4 ? 0 : 2 * rng.next()));
        const cpu = actor.modeInto(obs, new Float32Array(5));
        const ref = tfMode(actor, obs);
        for (let a = 0; a < 5; a++) expect(Math.abs(cpu[a] - ref[a])).toBeLessThan(1e-5);
      }
      actor.net.dispose();
    }
  });

  it('follows the weights after invalidate(), and SAC updates invalidate it', () => {
    const actor = new SquashedGaussianActor(3, 2, [4], 'tanh', [-5, 2], new Rng(1));
    const obs = [0.3, 1, 1.7];
    const before = Array.from(actor.modeInto(obs, new Float32Array(2)));
    tf.tidy(() => actor.net.weights[0].variable.assign(tf.mul(actor.net.weights[0].variable, -1)));
    expect(Array.from(actor.modeInto(obs, new Float32Array(2)))).toEqual(before); // stale copy until invalidated
    actor.invalidate();
    const after = actor.modeInto(obs, new Float32Array(2));
    const ref = tfMode(actor, obs);
    expect(Math.abs(after[0] - before[0]) + Math.abs(after[1] - before[1])).toBeGreaterThan(1e-4);
    for (let a = 0; a < 2; a++) expect(Math.abs(after[a] - ref[a])).toBeLessThan(1e-6);
    actor.net.dispose();

    const agent = new SacAgent(resolveAgentConfig('sac', { hidden: [8, 8], batchSize: 4, bufferSize: 64, learningStarts: 4, actorLr: 0.05, seed: 3 }), { obsDim: 3, actionDim: 2 });
    const a0 = agent.act(obs, { deterministic: true });
    const rng = new Rng(9);
    for (let i = 0; i < 8; i++) agent.observe({ obs: [rng.next(), rng.next(), rng.next()], action: [rng.next(), rng.next()], reward: rng.next(), nextObs: [rng.next(), rng.next(), rng.next()], done: false });
    const a1 = agent.act(obs, { deterministic: true });
    const r1 = tfMode(agent.actor, obs);
    expect(Math.abs(a1[0] - a0[0]) + Math.abs(a1[1] - a0[1])).toBeGreaterThan(0);
    for (let a = 0; a < 2; a++) expect(Math.abs(a1[a] - r1[a])).toBeLessThan(1e-6);
    agent.dispose();
  });
});
