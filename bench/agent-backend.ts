// Bench: one Adam update of an MLP 128→256→256→1 on a batch of 128, per TF.js backend → results/bench/agent-backend.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { initBackend, tf, type BackendName } from '../src/rl-agent/backend.js';
import { Mlp } from '../src/rl-agent/networks.js';
import { Rng } from '../src/common/rng.js';

const STEPS = Number(process.env.STEPS ?? 200);
const WARMUP = 20;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function measure(name: BackendName, variant: 'tfjs-matmul' | 'project-mlp'): Promise<Record<string, unknown>> {
  try {
    await initBackend(name);
  } catch (e) {
    return { backend: name, variant, available: false, error: (e as Error).message };
  }
  const dims = [128, 256, 256, 1];
  const mlp = variant === 'project-mlp' ? new Mlp({ inputDim: 128, hidden: [256, 256], outputDim: 1, activation: 'tanh', members: 1 }, new Rng(1), 'bench') : undefined;
  const vars: tf.Variable[] = mlp ? mlp.variables() : [];
  for (let l = 0; !mlp && l + 1 < dims.length; l++) {
    vars.push(tf.variable(tf.randomUniform([dims[l], dims[l + 1]], -0.05, 0.05, 'float32', l)));
    vars.push(tf.variable(tf.zeros([dims[l + 1]])));
  }
  const x = tf.randomUniform([128, 128], 0, 2, 'float32', 7);
  const y = tf.randomNormal([128, 1], 0, 1, 'float32', 8);
  const opt = tf.train.adam(1e-3);
  const times: number[] = [];
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const t0 = performance.now();
    const loss = opt.minimize(() => {
      let h: tf.Tensor = x;
      if (mlp) return tf.mean(tf.square(tf.sub(mlp.applyMember(x as tf.Tensor2D, 0), y))) as tf.Scalar;
      for (let l = 0; l < vars.length / 2; l++) {
        h = tf.add(tf.matMul(h, vars[2 * l]), vars[2 * l + 1]);
        if (l + 1 < vars.length / 2) h = tf.tanh(h);
      }
      return tf.mean(tf.square(tf.sub(h, y))) as tf.Scalar;
    }, true, vars);
    loss?.dataSync();
    loss?.dispose();
    const dt = performance.now() - t0;
    if (i >= WARMUP) times.push(dt);
  }
  opt.dispose();
  for (const v of vars) v.dispose();
  x.dispose();
  y.dispose();
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { backend: name, variant, available: true, steps: STEPS, meanMs: mean, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99), updatesPerSec: 1000 / mean };
}

const results = [];
for (const b of ['tensorflow', 'wasm', 'cpu'] as BackendName[]) {
  for (const v of ['tfjs-matmul', 'project-mlp'] as const) {
    const r = await measure(b, v);
    console.log(JSON.stringify(r));
    results.push(r);
    if (r.available === false) break;
  }
}
mkdirSync('results/bench', { recursive: true });
writeFileSync('results/bench/agent-backend.json', JSON.stringify({ bench: 'agent-backend', model: 'MLP 128-256-256-1, batch 128, Adam', date: new Date().toISOString(), results }, null, 2));
