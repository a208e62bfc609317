// Bench: a full offline pre-training run at P = 64 on 20k simulator transitions, then online fine-tuning in the simulator → results/bench/agent-offline.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { initBackend } from '../src/rl-agent/backend.js';
import { resolveAgentConfig, type PresetName } from '../src/rl-agent/config.js';
import { CqlAgent, trainOffline } from '../src/rl-agent/cql.js';
import { DatasetWriter, readDataset } from '../src/rl-agent/dataset.js';
import { SimEnv } from '../src/rl-agent/sim-env.js';
import { loadCheckpoint, saveCheckpoint } from '../src/rl-agent/checkpoint.js';
import { stepInfo } from '../src/rl-agent/env-math.js';
import type { SacAgent } from '../src/rl-agent/sac.js';
import { Rng } from '../src/common/rng.js';
import { loadTrainOffline } from '../src/cli/learned.js';

// Env: TRANSITIONS (20000), PRESET (offline-fast) or CONFIG (a params/train-offline.yaml: preset, steps and
// agent overrides as `sas train offline` uses them), STEPS, FINETUNE_STEPS (300), HOT_KEYS (10), MIN_WIDTH (1, the
// mask's minimum range width), EVAL_EVERY (100; 0 = evaluate only at the end), OUT_NAME (agent-offline).
const TRANSITIONS = Number(process.env.TRANSITIONS ?? 20_000);
const YAML = process.env.CONFIG ? loadTrainOffline(process.env.CONFIG) : undefined;
const PRESET = (YAML?.preset ?? process.env.PRESET ?? 'offline-fast') as PresetName;
const STEPS = process.env.STEPS !== undefined ? Number(process.env.STEPS) : YAML?.steps;
const EVAL_EVERY = Number(process.env.EVAL_EVERY ?? 100);
const OUT_NAME = process.env.OUT_NAME ?? 'agent-offline';
const FINETUNE_STEPS = Number(process.env.FINETUNE_STEPS ?? 300);
const OUT = 'results/bench';

const backend = await initBackend();
const envCfg = { numWorkers: 64, numKeys: 100_000, zipf: 1.5, numHotKeys: Number(process.env.HOT_KEYS ?? 10), minWidth: Number(process.env.MIN_WIDTH ?? 1), episodeLength: 128, noise: 0.02, seed: 1 };
const env = new SimEnv(envCfg);
const evalEnv = new SimEnv({ ...envCfg, noise: 0 });
const evaluate = (agent: SacAgent) => stepInfo(evalEnv.busyOf(agent.act(evalEnv.reset(), { deterministic: true })));
const uniform = stepInfo(evalEnv.busyOf(evalEnv.uniformAction()));
console.log(`backend ${backend.name}; uniform table: ${JSON.stringify(uniform)}`);

// Behaviour data: half uniform-random weights, half noisy around the uniform table (an ε-greedy-like mix).
const dir = mkdtempSync(path.join(tmpdir(), 'sas-bench-offline-'));
const rng = new Rng(5);
const w = new DatasetWriter(dir, { numWorkers: 64, mask: [...env.mask], hotKeyFreqs: [...env.hotKeyFreqs], source: 'sim-env (bench)', rewardBase: 0.6, episodeLength: 128 });
let obs = env.reset();
for (let i = 0; i < TRANSITIONS; i++) {
  const a = Float32Array.from({ length: env.actionDim }, () => (rng.next() < 0.5 ? rng.next() : Math.min(1, Math.max(0, 0.8 + 0.2 * rng.normal()))));
  const s = env.step(a);
  w.write({ obs, action: a, reward: s.reward, nextObs: s.obs, done: s.done });
  obs = s.done ? env.reset() : s.obs;
}
w.close();
const ds = readDataset(dir);

const cfg = resolveAgentConfig(PRESET, YAML?.agent as never);
const total = STEPS ?? cfg.offlineSteps;
const curve: { step: number; wallS: number; imbalance: number; perf: number; critic_loss: number; q_mean: number; cql_loss: number }[] = [];
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const agent0 = new CqlAgent({ ...cfg, bufferSize: ds.manifest.count, replay: { ...cfg.replay, prioritized: false } }, { obsDim: ds.manifest.obsDim, actionDim: ds.manifest.actionDim });
const res = await trainOffline(ds, cfg, {
  agent: agent0,
  gradientSteps: total,
  progressEvery: EVAL_EVERY > 0 ? EVAL_EVERY : total,
  onProgress: (p) => {
    if (EVAL_EVERY <= 0) return;
    const e = evaluate(agent0);
    const row = { step: p.step, wallS: (performance.now() - t0) / 1000, imbalance: e.imbalance, perf: e.perf, critic_loss: p.metrics.critic_loss, q_mean: p.metrics.q_mean, cql_loss: p.metrics.cql_loss };
    curve.push(row);
    console.log(JSON.stringify(row));
  },
});
const wallS = (performance.now() - t0) / 1000;
const c = process.cpuUsage(cpu0);
const afterOffline = evaluate(res.agent);
const ckpt = path.join(OUT, `${OUT_NAME}-ckpt`);
mkdirSync(OUT, { recursive: true });
saveCheckpoint(ckpt, res.agent, { numWorkers: 64, hotKeyFreqs: [...env.hotKeyFreqs], mask: [...env.mask], source: `bench/agent-offline.ts ${PRESET} ${total} steps` });
res.agent.dispose();
rmSync(dir, { recursive: true, force: true });

// Online fine-tuning in the simulator from the checkpoint (SAC-N, finetune preset).
const { hidden: _h, activation: _a, ensembleSize: _e, ...ftFields } = resolveAgentConfig('finetune');
const { agent } = loadCheckpoint(ckpt, { overrides: ftFields });
const ft: { step: number; imbalance: number; perf: number }[] = [];
const tf0 = performance.now();
obs = env.reset();
for (let i = 1; i <= FINETUNE_STEPS; i++) {
  const a = agent.act(obs);
  const s = env.step(a);
  agent.observe({ obs, action: a, reward: s.reward, nextObs: s.obs, done: s.done });
  obs = s.done ? env.reset() : s.obs;
  if (i % 50 === 0) {
    const e = evaluate(agent);
    ft.push({ step: i, imbalance: e.imbalance, perf: e.perf });
    console.log('finetune', JSON.stringify(ft.at(-1)));
  }
}
const finetuneWallS = (performance.now() - tf0) / 1000;
agent.dispose();

const result = {
  bench: 'agent-offline',
  date: new Date().toISOString(),
  backend: backend.name,
  machine: { cpus: cpus().length, loadavgAtEnd: loadavg() },
  env: envCfg,
  actionDim: env.actionDim,
  preset: PRESET,
  config: process.env.CONFIG ?? null,
  agentConfig: { hidden: cfg.hidden, activation: cfg.activation, batchSize: cfg.batchSize, numActions: cfg.cql.numActions, ensembleSize: cfg.ensembleSize },
  evaluationsIncluded: EVAL_EVERY > 0 ? Math.ceil(total / EVAL_EVERY) : 0,
  transitions: TRANSITIONS,
  gradientSteps: res.steps,
  offlineWallSeconds: wallS,
  offlineCpuSeconds: (c.user + c.system) / 1e6,
  uniformTable: uniform,
  afterOffline,
  curve,
  finetune: { steps: FINETUNE_STEPS, wallSeconds: finetuneWallS, curve: ft },
  checkpoint: ckpt,
};
writeFileSync(path.join(OUT, `${OUT_NAME}.json`), JSON.stringify(result, null, 2) + '\n');
console.log(`offline ${res.steps} steps in ${wallS.toFixed(0)} s wall; imbalance uniform ${uniform.imbalance.toFixed(3)} → offline ${afterOffline.imbalance.toFixed(3)} → finetune ${ft.at(-1)?.imbalance.toFixed(3)}`);
