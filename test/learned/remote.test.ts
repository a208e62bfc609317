// Remote mode with real processes and real sockets: `sas run` / `sas max-throughput` against a separately started `sas agent`, an agent that is not there, and `sas train online --agent` on both clocks.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { sasAsync } from '../helpers/cli.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, readCheckpointManifest, resolveAgentConfig, SacAgent, saveCheckpoint } from '../../src/rl-agent/index.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'sas-remote-'));
const TOKEN = 'remote-test-token';
/** P = 4 mask of the tiny checkpoint: A = 6. */
const TINY_MASK = [{ start: 0, end: 2 }, { start: 1, end: 3 }, { start: 2, end: 4 }];
let tinyCkpt = '';
const agents: ChildProcessWithoutNullStreams[] = [];

const sas = sasAsync;

/** A started `sas agent` process: its URL and its event log (stderr, one JSON event per line). */
interface AgentProcess {
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  log(): string;
  /** Resolves once a logged event satisfies `pred` (bounded: rejects after `ms`). */
  waitFor(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

/** Starts `sas agent --port 0` and resolves once it printed the URL it listens on. */
function startAgent(args: string[]): Promise<AgentProcess> {
  const child = spawn(process.execPath, [path.join(root, 'bin/sas'), 'agent', '--port', '0', '--token', TOKEN, ...args], { cwd: root });
  agents.push(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (const l of [...listeners]) l();
  });
  const events = (): Array<Record<string, unknown>> =>
    err.split('\n').flatMap((l) => {
      try {
        const e = JSON.parse(l) as unknown;
        return typeof e === 'object' && e !== null ? [e as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  const waitFor = (pred: (e: Record<string, unknown>) => boolean, ms = 60_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = events().find(pred);
        if (!hit) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no such agent event within ${ms} ms; log:\n${err}`));
      }, ms);
      listeners.add(check);
      check();
    });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`sas agent exited (${code}) before listening:\n${out}\n${err}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /agent listening on (ws:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], child, log: () => err, waitFor });
    });
  });
}

/** A TCP port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** `--set`s of a small word-count job at P = 4 with 100 ms slides. */
function jobSets(url: string, extra: string[] = []): string[] {
  return [
    'workers=4',
    'workload.params.numKeys=300',
    'capacity=40000',
    'source.rate=6000',
    'slideMs=100',
    'window={sizeMs: 200, slideMs: 100}',
    'partitioner.name=saspartitioner',
    `partitioner.params={mode: remote, url: "${url}", token: ${TOKEN}, checkpoint: "${tinyCkpt}", numHotKeys: 3}`,
    ...extra,
  ].flatMap((s) => ['--set', s]);
}

interface AgentJson {
  url: string;
  connected: boolean;
  actionsApplied: number;
  dropped: number;
  steps: number;
  actionsReceived: number;
}

beforeAll(async () => {
  expect(existsSync(path.join(root, 'dist/src/cli/main.js')), 'build dist/ first: npx tsc -p tsconfig.json').toBe(true);
  await initBackend();
  // A tiny residual-mode checkpoint for P = 4 (hidden [8]): the agent and the partitioner load it in milliseconds.
  tinyCkpt = path.join(dir, 'tiny-p4');
  const agent = new SacAgent(resolveAgentConfig('finetune', { hidden: [8], learningStarts: 0 }), { obsDim: 8, actionDim: 6 });
  saveCheckpoint(tinyCkpt, agent, { numWorkers: 4, mask: TINY_MASK, actionMode: 'residual', residualScale: 0.5, source: 'test' });
  agent.dispose();
});

afterAll(async () => {
  for (const a of agents) {
    if (a.exitCode === null && a.signalCode === null) {
      const closed = new Promise((r) => a.once('close', r));
      a.kill('SIGTERM');
      await closed;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('sas run in remote mode against a real `sas agent` process', () => {
  let evalAgent: AgentProcess;
  beforeAll(async () => {
    evalAgent = await startAgent(['--checkpoint', tinyCkpt, '--evaluate']);
  }, 60_000);

  it('virtual clock: applies the agent\'s actions (counted, the agent saw every step), word counts exact', async () => {
    const r = await sas(['run', '--no-write', '-q', '--json', '--verify', ...jobSets(evalAgent.url, ['durationMs=4000'])]);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as { agent?: AgentJson; verified?: string };
    expect(s.verified).toBe('exact');
    expect(s.agent, r.out).toBeDefined();
    const a = s.agent!;
    expect(a.url).toBe(evalAgent.url);
    expect(a.connected).toBe(true);
    expect(a.steps).toBeGreaterThan(30); // 40 slides of 100 ms, one step per slide once the window is full
    expect(a.dropped).toBe(0);
    expect(a.actionsApplied).toBeGreaterThan(0);
    expect(a.actionsApplied).toBeLessThanOrEqual(a.steps);
    expect(r.err).not.toMatch(/warning: agent/);
    // The agent's own count: its evaluate session of this run took every step the run sent.
    const closed = await evalAgent.waitFor((e) => e.type === 'session_closed' && e.steps === a.steps);
    expect(closed.reason).toBe('disconnected');
  }, 120_000);

  it('real clock: applies the agent\'s actions (counted), word counts exact', async () => {
    const r = await sas(['run', '--no-write', '-q', '--json', '--verify', ...jobSets(evalAgent.url, ['clock=real', 'threads=2', 'durationMs=2000'])]);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as { agent?: AgentJson; verified?: string };
    expect(s.verified).toBe('exact');
    expect(s.agent?.connected).toBe(true);
    expect(s.agent!.actionsApplied).toBeGreaterThan(0);
    expect(s.agent!.dropped).toBe(0);
  }, 120_000);

  it('sas max-throughput in remote mode reports the agent\'s counts over the ramp', async () => {
    const r = await sas(['max-throughput', '-q', '--json', ...jobSets(evalAgent.url, ['ramp={initialRate: 5000, rateStep: 5000, maxDurationMs: 6000, intervalMs: 500}'])]);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as Array<{ partitioner: string; agent?: AgentJson }>;
    expect(rows).toHaveLength(1);
    expect(rows[0].agent?.connected).toBe(true);
    expect(rows[0].agent!.actionsApplied).toBeGreaterThan(0);
  }, 120_000);

  it('a wrong token is refused before any record: exit 2 CONFIG_INVALID naming partitioner.params.token', async () => {
    const sets = jobSets(evalAgent.url, ['durationMs=1000']).map((x) => x.replace(`token: ${TOKEN}`, 'token: not-the-token'));
    const r = await sas(['run', '--no-write', '-q', '--json', ...sets]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[CONFIG_INVALID\]: partitioner\.params\.token: /m);
    expect(r.out).toBe('');
  }, 60_000);
});

describe('sas run with an agent that cannot be reached', () => {
  it('one warning line, exit 0, every step counted as dropped, no action, word counts exact; the results folder holds no token', async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const results = path.join(dir, 'results-unreachable');
    const r = await sas(['run', '-q', '--json', '--verify', '--out', results, ...jobSets(url, ['durationMs=2000', 'output.name=unreachable'])]);
    expect(r.code, r.err).toBe(0);
    // The results folder never carries the agent's token (config.json, summary.json), but it has the counts.
    for (const f of ['config.json', 'summary.json', 'agent.json']) expect(readFileSync(path.join(results, 'unreachable', f), 'utf8'), f).not.toContain(TOKEN);
    expect(JSON.parse(readFileSync(path.join(results, 'unreachable', 'agent.json'), 'utf8')).agent.connected).toBe(false);
    const warnings = r.err.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`agent ${url} cannot be reached`);
    const s = JSON.parse(r.out) as { agent?: AgentJson; verified?: string };
    expect(s.verified).toBe('exact'); // no record lost: every result equals the single-threaded reference
    expect(s.agent).toMatchObject({ url, connected: false, actionsApplied: 0, actionsReceived: 0 });
    expect(s.agent!.steps).toBeGreaterThan(15); // 20 slides: routing went on, slide after slide
    expect(s.agent!.dropped).toBe(s.agent!.steps);
  }, 120_000);
});

describe('sas train online --agent: a separately started `sas agent` trains (real gradient steps)', () => {
  let trainAgent: AgentProcess;
  const ckptDir = path.join(dir, 'agent-checkpoints');
  beforeAll(async () => {
    trainAgent = await startAgent(['--checkpoint', tinyCkpt, '--checkpoint-dir', ckptDir]);
  }, 60_000);

  /** An online config of a small keyed-count job at P = 4 on `clock`. */
  function onlineConfig(clock: 'virtual' | 'real', out: string): string {
    const file = path.join(dir, `online-${clock}.yaml`);
    writeFileSync(file, [
      'job:',
      `  clock: ${clock}`,
      '  threads: 2',
      '  workers: 4',
      '  capacity: 40000',
      '  slideMs: 100',
      '  window: { sizeMs: 100, slideMs: 100 }',
      '  durationMs: 3000',
      '  source: { rate: 4000 }',
      '  task: { name: keyedcount }',
      '  workload: { name: zipf, params: { numKeys: 500, exponent: 1.2 } }',
      '  partitioner: { name: saspartitioner, params: { numHotKeys: 3 } }',
      '  output: { metrics: false }',
      'online:',
      '  maxIterations: 8',
      '  minIterations: 8',
      '  checkpointEvery: 100',
      `  out: "${out}"`,
    ].join('\n'));
    return file;
  }

  for (const clock of ['virtual', 'real'] as const) {
    it(`${clock} clock: the agent's session makes gradient steps and its weights land in online.out`, async () => {
      const out = path.join(dir, `online-out-${clock}`);
      const session = `attach-${clock}`;
      const r = await sas(['train', 'online', '-q', '-c', onlineConfig(clock, out), '--checkpoint', tinyCkpt, '--agent', trainAgent.url, '--session', session], { SAS_AGENT_TOKEN: TOKEN });
      expect(r.code, r.err).toBe(0);
      const m = /train online: (\d+) iterations, stopped by (\w+).*, agent updates (\d+), checkpoint (\S+)/.exec(r.out);
      expect(m, r.out + r.err).not.toBeNull();
      expect(m![2]).toBe('max_iterations');
      const updates = Number(m![3]);
      expect(updates).toBeGreaterThanOrEqual(1);
      // The agent's own checkpoint of the session, written at the run's request, holds those steps (the tiny one had 0).
      const onAgent = readCheckpointManifest(path.join(ckptDir, `${session}-final`));
      expect(onAgent.updates).toBe(updates);
      const ev = await trainAgent.waitFor((e) => e.type === 'checkpoint' && e.session === session);
      expect(ev.updates).toBe(updates);
      // online.out: those weights with the job's facts (mask, action mode), as the own-server path writes.
      const man = readCheckpointManifest(out);
      expect(man.updates).toBe(updates);
      expect(man.numWorkers).toBe(4);
      expect(man.mask).toEqual(TINY_MASK);
      expect(man.actionMode).toBe('residual');
    }, 120_000);
  }

  it('--agent without a token is refused up front (exit 2 naming --token)', async () => {
    const r = await sas(['train', 'online', '-q', '--checkpoint', tinyCkpt, '--set', 'job.workers=4', '--agent', trainAgent.url], { SAS_AGENT_TOKEN: undefined });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[CONFIG_INVALID\]: --token: /m);
  }, 60_000);
});
