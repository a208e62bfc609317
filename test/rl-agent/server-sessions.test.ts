// Agent server sessions over real sockets: anonymous names, slots held by detached sessions, and which checkpoints a session writes.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgentServer, type AgentServerEvent } from '../../src/rl-agent/server.js';
import { readCheckpointManifest } from '../../src/rl-agent/checkpoint.js';
import type { ErrorMessage, WelcomeMessage } from '../../src/rl-agent/protocol.js';
import { hello, Raw, step, tick, tinyAgent, TOKEN } from './server-raw.js';

const roots: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'sas-agent-sessions-'));
  roots.push(d);
  return d;
};
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

/** Opens a session, sends `steps` steps one at a time (each training tick runs before the next) and returns the socket. */
async function session(url: string, extra: Record<string, unknown>, steps: number): Promise<{ r: Raw; welcome: WelcomeMessage }> {
  const r = new Raw(url);
  await r.open();
  r.send(hello(extra));
  await r.next(1);
  const welcome = r.messages[0] as WelcomeMessage;
  for (let i = 0; i < steps; i++) {
    r.send(step(i));
    await r.next(i + 2);
    await tick();
  }
  return { r, welcome };
}

/** Resolves on the first event (from now on) that `pred` accepts. */
function waitEvent(events: AgentServerEvent[], pred: (e: AgentServerEvent) => boolean): Promise<AgentServerEvent> {
  const from = events.length;
  return new Promise((resolve) => {
    const check = (): void => {
      const e = events.slice(from).find(pred);
      if (e) resolve(e);
      else setImmediate(check);
    };
    check();
  });
}

describe('anonymous sessions (issue 18 item 4)', () => {
  it('get names no client can choose, so a client named s1 keeps its own session', async () => {
    const events: AgentServerEvent[] = [];
    const s = await startAgentServer({ token: TOKEN, agent: tinyAgent, onEvent: (e) => events.push(e) });
    try {
      const named = await session(s.url, { session: 's1' }, 2);
      const anon = await session(s.url, {}, 2);
      expect(anon.welcome.session).toMatch(/^anon-\d{8}T\d{6}Z-\d+-1$/);
      expect(s.sessions().sort()).toEqual([anon.welcome.session, 's1'].sort());
      // s1's own agent still answers on its connection
      named.r.send(step(2));
      await named.r.next(4);
      expect(named.r.messages[3]).toMatchObject({ type: 'action', seq: 2 });
      const squat = new Raw(s.url);
      await squat.open();
      squat.send(hello({ session: anon.welcome.session }));
      await squat.closed();
      expect(squat.messages[0]).toMatchObject({ type: 'error', code: 'PROTOCOL_INVALID', fatal: true });
      expect((squat.messages[0] as ErrorMessage).message.startsWith('hello.session: ')).toBe(true);
      await named.r.end();
      await anon.r.end();
    } finally {
      await s.close();
    }
  });

  it("a restarted server never overwrites the previous run's final checkpoints", async () => {
    const dir = tmp();
    const run = async (): Promise<string> => {
      const s = await startAgentServer({ token: TOKEN, agent: tinyAgent, checkpointDir: dir, maxSteps: 1000, targetImbalance: 0 });
      const { r, welcome } = await session(s.url, {}, 8);
      await r.end();
      await s.close();
      return welcome.session;
    };
    // Both runs are in this process and most likely in the same second: only the existing folder tells them apart.
    const first = await run();
    const firstManifest = readFileSync(path.join(dir, first, 'manifest.json'), 'utf8');
    const second = await run();
    expect(second).not.toBe(first);
    expect(readdirSync(dir).sort()).toEqual([first, second].sort());
    expect(readFileSync(path.join(dir, first, 'manifest.json'), 'utf8')).toBe(firstManifest);
  });
});

describe('final checkpoints count only this session (issue 18 item 5)', () => {
  it('a session that made no gradient step writes nothing, and welcome.updates starts at 0 from a trained checkpoint', async () => {
    const seedDir = tmp();
    const seed = await startAgentServer({ token: TOKEN, agent: tinyAgent, checkpointDir: seedDir, maxSteps: 1000, targetImbalance: 0 });
    const trained = await session(seed.url, { session: 'seed' }, 8);
    await trained.r.end();
    await seed.close();
    const checkpoint = path.join(seedDir, 'seed');
    const base = readCheckpointManifest(checkpoint).updates;
    expect(base).toBeGreaterThan(0);

    const out = tmp();
    const events: AgentServerEvent[] = [];
    const s = await startAgentServer({ token: TOKEN, agent: tinyAgent, checkpoint, checkpointDir: out, sessionTtlMs: 0, maxSteps: 1000, targetImbalance: 0, onEvent: (e) => events.push(e) });
    try {
      for (const [name, steps] of [['zero', 0], ['few', 3]] as const) {
        const { r, welcome } = await session(s.url, { session: name }, steps);
        expect(welcome).toMatchObject({ type: 'welcome', updates: 0, resumed: false });
        expect(r.messages.slice(1).every((m) => m.type === 'action' && m.updates === 0)).toBe(true);
        const closed = waitEvent(events, (e) => e.type === 'session_closed' && e.session === name);
        await r.end();
        expect(await closed).toMatchObject({ updates: 0, steps, reason: 'disconnected' });
      }
      const { r } = await session(s.url, { session: 'learns' }, 8);
      const closed = waitEvent(events, (e) => e.type === 'session_closed' && e.session === 'learns');
      await r.end();
      const e = (await closed) as Extract<AgentServerEvent, { type: 'session_closed' }>;
      expect(e.updates).toBeGreaterThan(0);
      expect(readdirSync(out)).toEqual(['learns']);
      // the checkpoint itself holds the cumulative count
      expect(readCheckpointManifest(path.join(out, 'learns')).updates).toBe(base + e.updates);
    } finally {
      await s.close();
    }
  });
});

describe('detached sessions give up their slots (issue 18 item 19)', () => {
  it('with every slot held by detached named sessions, a new one evicts the longest-detached; only all-attached refuses', async () => {
    const dir = tmp();
    const events: AgentServerEvent[] = [];
    const s = await startAgentServer({ token: TOKEN, agent: tinyAgent, maxSessions: 2, sessionTtlMs: 600_000, checkpointDir: dir, maxSteps: 1000, targetImbalance: 0, onEvent: (e) => events.push(e) });
    try {
      for (const name of ['a', 'b']) {
        const { r } = await session(s.url, { session: name }, 8);
        const detached = waitEvent(events, (e) => e.type === 'session_detached' && e.session === name);
        await r.end();
        await detached;
      }
      expect(s.sessions().sort()).toEqual(['a', 'b']);
      const c = await session(s.url, { session: 'c' }, 0);
      expect(c.welcome).toMatchObject({ type: 'welcome', session: 'c' });
      expect(events).toContainEqual(expect.objectContaining({ type: 'session_closed', session: 'a', reason: 'evicted' }));
      expect(existsSync(path.join(dir, 'a', 'manifest.json'))).toBe(true); // the evicted session's work is kept
      expect(s.sessions().sort()).toEqual(['b', 'c']);
      const d = await session(s.url, { session: 'd' }, 0);
      expect(d.welcome.session).toBe('d');
      expect(s.sessions().sort()).toEqual(['c', 'd']);
      const e = new Raw(s.url);
      await e.open();
      e.send(hello({ session: 'e' }));
      await e.closed();
      expect(e.messages).toMatchObject([{ type: 'error', code: 'AGENT_UNAVAILABLE', fatal: true }]);
      expect(e.closeCode).toBe(1013);
      await c.r.end();
      await d.r.end();
    } finally {
      await s.close();
    }
  });
});
