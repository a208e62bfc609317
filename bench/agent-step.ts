// Bench: agent step latency (obs → action) at P = 64 — a SimEnv-sized actor and the shipped checkpoint, inline and over the websocket — SAC-N update time, CQL-N offline throughput → results/bench/agent.json.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { loadCheckpoint } from '../src/rl-agent/checkpoint.js';
import { maskActionDim } from '../src/rl-agent/mask.js';
import { WaterFill, residualShares } from '../src/partitioners/learned/prior.js';
import { resolveCheckpoint } from '../src/partitioners/learned/paths.js';
import { AgentClient } from '../src/rl-agent/client.js';
import { Rng } from '../src/common/rng.js';

const ACT_CALLS = Number(process.env.ACT_CALLS ?? 2000);
const WS_STEPS = Number(process.env.WS_STEPS ?? 500);
const SAC_UPDATES = Number(process.env.SAC_UPDATES ?? 20);
const TRANSITIONS = Number(process.env.TRANSITIONS ?? 20_000);
const OFFLINE_STEPS = Number(process.env.OFFLINE_STEPS ?? 30);
/** PARTS: comma list of `sim` (sections A–D: a fresh SimEnv-sized agent) and `checkpoint` (section E: CHECKPOINT, default `default`). Default both. */
const PARTS = new Set((process.env.PARTS ?? 'sim,checkpoint').split(',').filter(Boolean));
const CHECKPOINT = process.env.CHECKPOINT ?? 'default';
/** Output JSON; sections not measured in this run are kept from an existing file. */
const OUT = process.env.OUT ?? 'results/bench/agent.json';

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
let sim: Record<string, unknown> | undefined;
if (PARTS.has('sim')) {
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
  sim = {
    problem: { numWorkers: 64, obsDim: dims.obsDim, actionDim: dims.actionDim, hidden: cfg.hidden, ensembleSize: cfg.ensembleSize },
    act: actResult,
    wsRoundTrip: wsResult,
    sacUpdate: sacResult,
    offline,
  };
}

// E. The shipped checkpoint (or CHECKPOINT): act() on 128-value observations, and obs → action over the websocket
// (evaluate session of a server that loaded the same checkpoint), plus the residual prior computed each slide.
let checkpoint: Record<string, unknown> | undefined;
if (PARTS.has('checkpoint')) {
  const dir = resolveCheckpoint(CHECKPOINT);
  if (!dir) throw new Error(`CHECKPOINT=${CHECKPOINT}: no checkpoint directory`);
  const { agent: ck, manifest } = loadCheckpoint(dir);
  const mask = manifest.mask!;
  const P = manifest.numWorkers!;
  const cdims = ck.dims;
  console.log(`checkpoint ${dir}: P = ${P}, obs ${cdims.obsDim}, A = ${cdims.actionDim}, hidden ${JSON.stringify(manifest.config.hidden)}, mode ${manifest.actionMode ?? 'direct'}`);
  // Observations in the range the partitioner sends ([0, 2] per value); 64 different ones, cycled.
  const orng = new Rng(11);
  const obsSet = Array.from({ length: 64 }, () => Float32Array.from({ length: cdims.obsDim }, () => Math.min(2, Math.max(0, 1 + 0.3 * orng.normal()))));
  const times = { deterministic: [] as number[], stochastic: [] as number[] };
  const ckCpu = process.cpuUsage();
  for (let i = 0; i < ACT_CALLS + 100; i++) {
    const det = i % 2 === 0;
    const t0 = performance.now();
    ck.act(obsSet[i % obsSet.length], { deterministic: det });
    const dt = performance.now() - t0;
    if (i >= 100) (det ? times.deterministic : times.stochastic).push(dt);
  }
  const ckAct = { deterministic: stats(times.deterministic), stochastic: stats(times.stochastic), cpuMsPerCall: cpuMs(ckCpu) / (ACT_CALLS + 100) };
  ck.dispose();
  console.log('checkpoint act', JSON.stringify(ckAct));

  const ctoken = 'bench-token-0002';
  const cserver = await startAgentServer({ token: ctoken, mode: 'evaluate', checkpoint: dir });
  const cjob = { numWorkers: P, numHotKeys: mask.length, mask: mask.map((r) => ({ start: r.start, end: r.end })), obsDim: 2 * P, actionDim: maskActionDim(mask) };
  const crtt: number[] = [];
  await new Promise<void>((resolve, reject) => {
    let sentAt = 0;
    let n = 0;
    const client = new AgentClient({
      url: cserver.url,
      token: ctoken,
      job: cjob,
      mode: 'evaluate',
      onError: (e) => reject(e),
      onWelcome: () => {
        sentAt = performance.now();
        client.submit(obsSet[0], 0, {}, false);
      },
      onAction: (a) => {
        if (a.length !== cdims.actionDim) reject(new Error(`action of length ${a.length}`));
        if (n++ >= 50) crtt.push(performance.now() - sentAt);
        if (crtt.length >= WS_STEPS) {
          void client.close().then(resolve);
          return;
        }
        sentAt = performance.now();
        client.submit(obsSet[n % obsSet.length], 0, {}, false);
      },
    });
    client.start();
  });
  await cserver.close();
  const ckWs = stats(crtt);
  console.log('checkpoint ws round trip', JSON.stringify(ckWs));

  // Residual mode's per-slide work besides the policy: water-filling + spreading + the correction.
  let prior: Record<string, unknown> | undefined;
  if (manifest.actionMode === 'residual') {
    const fill = new WaterFill(mask, P);
    const T = mask.length;
    const freqs = manifest.hotKeyFreqs ?? mask.map(() => 1 / T);
    const base = new Float64Array(P);
    const hot = new Float64Array(T);
    const pr = new Float64Array(T * P);
    const table = new Float64Array(T * P);
    const action = new Float32Array(cdims.actionDim).fill(0.5);
    const pt: number[] = [];
    for (let i = 0; i < 300; i++) {
      for (let w = 0; w < P; w++) base[w] = 200 + 15 * orng.normal();
      for (let k = 0; k < T; k++) hot[k] = 100_000 * freqs[k] * (1 + 0.01 * orng.normal());
      const t0 = performance.now();
      fill.solve(base, hot, pr);
      residualShares(mask, P, pr, action, manifest.residualScale ?? 0.5, table);
      if (i >= 20) pt.push(performance.now() - t0);
    }
    prior = stats(pt);
    console.log('residual prior + correction', JSON.stringify(prior));
  }
  checkpoint = {
    dir,
    problem: { numWorkers: P, obsDim: cdims.obsDim, actionDim: cdims.actionDim, hidden: manifest.config.hidden, ensembleSize: manifest.config.ensembleSize, actionMode: manifest.actionMode ?? 'direct' },
    act: ckAct,
    wsRoundTrip: ckWs,
    ...(prior ? { residualPriorPerSlide: prior } : {}),
  };
}

load.after = loadavg();

// Sections not measured now are kept from an existing OUT (each records the load average of its run).
const old = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as Record<string, unknown>) : {};
const simPart = sim ? { date: new Date().toISOString(), machine: { cpus: cpus().length, loadavg: load }, ...sim } : Object.fromEntries(['date', 'machine', 'problem', 'act', 'wsRoundTrip', 'sacUpdate', 'offline'].filter((k) => k in old).map((k) => [k, old[k]]));
const ckPart = checkpoint ? { date: new Date().toISOString(), machine: { cpus: cpus().length, loadavg: load }, ...checkpoint } : old.checkpoint;
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify({ bench: 'agent-step', backend: backend.name, ...simPart, ...(ckPart ? { checkpoint: ckPart } : {}) }, null, 2) + '\n');
console.log(`wrote ${OUT}`);
