// Networks: hand-written matmul gradients equal TF.js's own; the shared-first-layer critic equals the plain one.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src/rl-agent/backend.js';
import { CriticEnsemble, Mlp, SquashedGaussianActor } from '../../src/rl-agent/networks.js';
import { Rng } from '../../src/common/rng.js';
import { ConfigError } from '../../src/common/errors.js';

beforeAll(async () => {
  await initBackend();
});

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(tol * (1 + Math.abs(b[i])));
}

describe('backend', () => {
  it('runs on a known backend and rejects an unknown SAS_TF_BACKEND value with ConfigError', async () => {
    expect(['tensorflow', 'wasm', 'cpu']).toContain(tf.getBackend());
    expect(() => initBackend('gpu-please')).toThrow(ConfigError);
    expect((await initBackend()).name).toBe(tf.getBackend());
  });
});

describe('networks', () => {
  it('Mlp gradients equal those of plain tf.matMul layers', () => {
    const mlp = new Mlp({ inputDim: 5, hidden: [7, 6], outputDim: 3, activation: 'tanh', members: 1 }, new Rng(1), 'gradcheck');
    const x = tf.tensor2d(Array.from({ length: 20 }, (_, i) => Math.sin(i)), [4, 5]);
    const vars = mlp.variables();
    const plain = (): tf.Scalar => {
      let h: tf.Tensor = x;
      for (let l = 0; l < 3; l++) {
        h = tf.add(tf.matMul(h, vars[2 * l]), vars[2 * l + 1]);
        if (l < 2) h = tf.tanh(h);
      }
      return tf.sum(tf.square(h)) as tf.Scalar;
    };
    const ours = (): tf.Scalar => tf.sum(tf.square(mlp.applyMember(x, 0))) as tf.Scalar;
    const g1 = tf.variableGrads(plain, vars);
    const g2 = tf.variableGrads(ours, vars);
    close(g2.value.dataSync(), g1.value.dataSync());
    for (const v of vars) close(g2.grads[v.name].dataSync(), g1.grads[v.name].dataSync());
    // and the gradient w.r.t. the input (the actor loss differentiates Q through the action)
    const gx1 = tf.grad((xx: tf.Tensor) => {
      let h = xx;
      for (let l = 0; l < 3; l++) {
        h = tf.add(tf.matMul(h, vars[2 * l]), vars[2 * l + 1]);
        if (l < 2) h = tf.tanh(h);
      }
      return tf.sum(h);
    })(x);
    const gx2 = tf.grad((xx: tf.Tensor) => tf.sum(mlp.applyMember(xx as tf.Tensor2D, 0)))(x);
    close(gx2.dataSync(), gx1.dataSync());
    tf.dispose([x, g1.value, g2.value, gx1, gx2, ...Object.values(g1.grads), ...Object.values(g2.grads)]);
    mlp.dispose();
  });

  it('qRepeated equals q on explicitly repeated observations, values and action gradients', () => {
    const critic = new CriticEnsemble(4, 3, [8, 8], 'tanh', 2, new Rng(2));
    const rng = new Rng(3);
    const obs = tf.tensor2d(Array.from({ length: 8 }, () => rng.next()), [2, 4]);
    const acts = tf.tensor2d(Array.from({ length: 18 }, () => rng.next()), [6, 3]);
    const obsRep = tf.reshape(tf.tile(tf.expandDims(obs, 1), [1, 3, 1]), [6, 4]) as tf.Tensor2D;
    const a = critic.qRepeated(obs, acts, 3);
    const b = critic.q(obsRep, acts, false);
    const c = tf.squeeze(critic.net.apply(tf.concat([obsRep, acts], 1)), [2]);
    expect(a.shape).toEqual([2, 6]);
    close(a.dataSync(), c.dataSync());
    close(b.dataSync(), c.dataSync());
    const ga = tf.grad((x: tf.Tensor) => tf.sum(critic.qRepeated(obs, x as tf.Tensor2D, 3)))(acts);
    const gc = tf.grad((x: tf.Tensor) => tf.sum(critic.net.apply(tf.concat([obsRep, x as tf.Tensor2D], 1))))(acts);
    close(ga.dataSync(), gc.dataSync());
    tf.dispose([obs, acts, obsRep, a, b, c, ga, gc]);
    critic.net.dispose();
  });

  it('log π of the policy\'s own sample matches logProb of that action', () => {
    const actor = new SquashedGaussianActor(3, 2, [8], 'tanh', [-5, 2], new Rng(4));
    const obs = tf.tensor2d([[0.1, 0.5, 1.5], [1, 1, 1]]);
    const s = actor.sample(obs, 7);
    const lp = actor.logProb(obs, s.action);
    close(lp.dataSync(), s.logp.dataSync(), 1e-3);
    // sampleMany: k samples per state, state-major, with the same log-density formula
    const many = actor.sampleMany(obs, 4, 9);
    expect(many.action.shape).toEqual([8, 2]);
    const obsRep = tf.reshape(tf.tile(tf.expandDims(obs, 1), [1, 4, 1]), [8, 3]) as tf.Tensor2D;
    close(actor.logProb(obsRep, many.action).dataSync(), many.logp.dataSync(), 1e-3);
    // state-major layout: with a tiny std, sample j of state i sits at state i's mean action
    const narrow = new SquashedGaussianActor(3, 2, [8], 'tanh', [-8, -7], new Rng(5));
    const nm = narrow.sampleMany(obs, 4, 3);
    const det = narrow.mode(obs).dataSync();
    const acts = nm.action.dataSync();
    expect(Math.abs(det[0] - det[2]) + Math.abs(det[1] - det[3])).toBeGreaterThan(0.01); // the two states differ
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let d = 0; d < 2; d++) expect(Math.abs(acts[(i * 4 + j) * 2 + d] - det[i * 2 + d])).toBeLessThan(0.002);
    tf.dispose([nm.action, nm.logp]);
    narrow.net.dispose();
    tf.dispose([obs, s.action, s.logp, lp, many.action, many.logp, obsRep]);
    actor.net.dispose();
  });
});
