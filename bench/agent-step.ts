// Bench: agent step latency (obs → action) for P = 64, SAC-N update time, and CQL-N offline throughput on 20k transitions → results/bench/agent.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { initBackend } from '../src/rl-agent/backend.js';
import { resolveAgentConfig } from '../src/rl-agent/config.js';
import { SacAgent } from '../src/rl-agent/sac.js';
import { trainOffline } from '../src/rl-agent/cql.js';
import { DatasetWriter, readDataset } from '../src/rl-agent/dataset.js';
import { SimEnv } from '../src/rl-agent/sim-env.js';
import { startAgentServer } from '../src/rl-agent/server.js';
import { AgentClient } from '../src/rl-agent/client.js';
import { Rng } from '../src/common/rng.js';

const ACT_CALLS = Number(process.env.ACT_CALLS ?? 2000);
const WS_STEPS = Number(process.env.WS_STEPS ?? 500);
const SAC_UPDATES = Number(process.env.SAC_UPDATES ?? 20);
const TRANSITIONS = Number(process.env.TRANSITIONS ?? 20_000);
const OFFLINE_STEPS = Number(process.env.OFFLINE_STEPS ?? 30);

/** CPU ms (user + system) this process used since `since`; single-threaded work ≈ its uncontended wall time. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function stats(xs: number[]): { n: number; meanMs: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, meanMs: s.reduce((a, b) => a + b, 0) / s.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: s[s.length - 1] };
}

const backend = await initBackend();
const load: { before: number[]; after?: number[] } = { before: loadavg() };
const env = new SimEnv({ numWorkers: 64, numKeys: 100_000, zipf: 1.5, numHotKeys: 10, episodeLength: 128, noise: 0.02, seed: 1 });
const dims = { obsDim: env.obsDim, actionDim: env.actionDim };
console.log(`backend ${backend.name}; P = 64, obs ${dims.obsDim}, A = ${dims.actionDim}`);

// A. act() latency, full-size actor.
const agent = new SacAgent(resolveAgentConfig('sac', { bufferSize: 1000 }), dims);
const obs = env.reset();
const act = { deterministic: [] as number[], stochastic: [] as number[] };
const actCpu = process.cpuUsage();
for (let i = 0; i < ACT_CALLS + 100; i++) {
  const det = i % 2 === 0;
  const t0 = performance.now();
  agent.act(obs, { deterministic: det });
  const dt = performance.now() - t0;
  if (i >= 100) (det ? act.deterministic : act.stochastic).push(dt);
}
const actResult = { deterministic: stats(act.deterministic), stochastic: stats(act.stochastic), cpuMsPerCall: cpuMs(actCpu) / (ACT_CALLS + 100) };
console.log('act', JSON.stringify(actResult));

// B. obs → action over the websocket (evaluate session; next step sent when the action arrived).
const token = 'bench-token-0001';
const server = await startAgentServer({ token, mode: 'evaluate' });
const job = { numWorkers: 64, numHotKeys: 10, mask: [...env.mask], obsDim: dims.obsDim, actionDim: dims.actionDim };
const rtt: number[] = [];
await new Promise<void>((resolve) => {
  let sentAt = 0;
  let n = 0;
  const client = new AgentClient({
    url: server.url,
    token,
    job,
    onWelcome: () => {
      sentAt = performance.now();
      client.submit(obs, 0, {}, false);
    },
    onAction: () => {
      if (n++ >= 50) rtt.push(performance.now() - sentAt);
      if (rtt.length >= WS_STEPS) {
        void client.close().then(resolve);
        return;
      }
      sentAt = performance.now();
      client.submit(obs, 0, {}, false);
    },
  });
  client.start();
});
await server.close();
const wsResult = stats(rtt);
console.log('ws round trip', JSON.stringify(wsResult));

// C. SAC-N gradient step, batch 128, full-size nets.
const rng = new Rng(3);
let o = env.reset();
for (let i = 0; i < 600; i++) {
  const a = agent.act(o);
  const s = env.step(a);
  agent.replay.add({ obs: o, action: a, reward: s.reward, nextObs: s.obs, done: s.done });
  o = s.done ? env.reset() : s.obs;
}
agent.update();
const upd: number[] = [];
const sacCpu = process.cpuUsage();
for (let i = 0; i < SAC_UPDATES; i++) {
  const t0 = performance.now();
  agent.update();
  upd.push(performance.now() - t0);
}
agent.dispose();
const sacResult = { ...stats(upd), cpuMsPerUpdate: cpuMs(sacCpu) / SAC_UPDATES };
console.log('sac update', JSON.stringify(sacResult));

// D. Offline: 20k transitions from the simulator under an ε-noisy behaviour policy, written and read back, then CQL-N.
const dir = mkdtempSync(path.join(tmpdir(), 'sas-bench-ds-'));
const tGen = performance.now();
const w = new DatasetWriter(dir, { numWorkers: 64, mask: [...env.mask], hotKeyFreqs: [...env.hotKeyFreqs], source: 'sim-env (bench)', rewardBase: 0.6, episodeLength: 128 });
o = env.reset();
for (let i = 0; i < TRANSITIONS; i++) {
  const a = Float32Array.from({ length: dims.actionDim }, () => (rng.next() < 0.5 ? rng.next() : Math.min(1, Math.max(0, 0.8 + 0.2 * rng.normal()))));
  const s = env.step(a);
  w.write({ obs: o, action: a, reward: s.reward, nextObs: s.obs, done: s.done });
  o = s.done ? env.reset() : s.obs;
}
w.close();
const genMs = performance.now() - tGen;
const tRead = performance.now();
const ds = readDataset(dir);
const readMs = performance.now() - tRead;
const cfg = resolveAgentConfig('offline');
const tTrain = performance.now();
const stepTimes: number[] = [];
const stepCpu: number[] = [];
let last = performance.now();
let lastCpu = process.cpuUsage();
const res = await trainOffline(ds, cfg, {
  gradientSteps: OFFLINE_STEPS,
  progressEvery: 1,
  onProgress: () => {
    const now = performance.now();
    stepTimes.push(now - last);
    stepCpu.push(cpuMs(lastCpu));
    last = now;
    lastCpu = process.cpuUsage();
  },
});
const trainMs = performance.now() - tTrain;
res.agent.dispose();
rmSync(dir, { recursive: true, force: true });
const steady = stats(stepTimes.slice(2));
const steadyCpu = stepCpu.slice(2).reduce((a, b) => a + b, 0) / Math.max(1, stepCpu.length - 2);
const stepsPerSec = 1000 / steady.meanMs;
const stepsPerCpuSec = 1000 / steadyCpu;
const offline = {
  transitions: TRANSITIONS,
  generateAndWriteMs: genMs,
  readAndValidateMs: readMs,
  measuredSteps: OFFLINE_STEPS,
  measuredWallMs: trainMs,
  stepMs: steady,
  gradientStepsPerSec: stepsPerSec,
  configOfflineSteps: cfg.offlineSteps,
  projectedMinutesForConfigSteps: cfg.offlineSteps / stepsPerSec / 60,
  stepsIn15Minutes: Math.floor(stepsPerSec * 900),
  epochsIn15Minutes: (stepsPerSec * 900 * cfg.batchSize) / TRANSITIONS,
  cpuMsPerStep: steadyCpu,
  uncontended: {
    note: 'projection from CPU time: single-threaded wasm, so CPU ms per step ≈ wall ms per step on an idle core',
    gradientStepsPerSec: stepsPerCpuSec,
    projectedMinutesForConfigSteps: cfg.offlineSteps / stepsPerCpuSec / 60,
    stepsIn15Minutes: Math.floor(stepsPerCpuSec * 900),
  },
  cql: cfg.cql,
  batchSize: cfg.batchSize,
};
console.log('offline', JSON.stringify(offline));
load.after = loadavg();

mkdirSync('results/bench', { recursive: true });
writeFileSync(
  'results/bench/agent.json',
  JSON.stringify(
    {
      bench: 'agent-step',
      date: new Date().toISOString(),
      backend: backend.name,
      machine: { cpus: cpus().length, loadavg: load },
      problem: { numWorkers: 64, obsDim: dims.obsDim, actionDim: dims.actionDim, hidden: cfg.hidden, ensembleSize: cfg.ensembleSize },
      act: actResult,
      wsRoundTrip: wsResult,
      sacUpdate: sacResult,
      offline,
    },
    null,
    2,
  ) + '\n',
);
console.log('wrote results/bench/agent.json');
