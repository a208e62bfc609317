// Protocol v1 parsing (unit) and the agent server over real sockets: round trip, rejections, isolation, resume.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClientMessage, parseServerMessage } from '../../src/rl-agent/protocol.js';
import { startAgentServer, tokensEqual, type AgentServer, type AgentServerEvent } from '../../src/rl-agent/server.js';
import { AgentClient, backoffDelay, DEFAULT_BACKOFF } from '../../src/rl-agent/client.js';
import { loadCheckpoint } from '../../src/rl-agent/checkpoint.js';
import { ProtocolError, type SasError } from '../../src/common/errors.js';
import { Rng } from '../../src/common/rng.js';
import { hello, job, Raw, step, tinyAgent, TOKEN } from './server-raw.js';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as SasError).code;
  }
  return undefined;
}

describe('protocol parsing', () => {
  it('accepts valid messages of both directions', () => {
    expect(parseClientMessage(JSON.stringify(hello())).type).toBe('hello');
    expect(parseClientMessage(Buffer.from(JSON.stringify(step(3))))).toMatchObject({ type: 'step', seq: 3 });
    expect(parseClientMessage(JSON.stringify({ v: 1, type: 'checkpoint', requestId: 'r1' })).type).toBe('checkpoint');
    expect(parseServerMessage(JSON.stringify({ v: 1, type: 'action', seq: 1, action: [0.5], training: true, updates: 0 })).type).toBe('action');
  });

  it('rejects wrong version, unknown type, wrong types, extra fields and non-JSON with PROTOCOL_INVALID naming the field', () => {
    const field = (raw: string): unknown => {
      try {
        parseClientMessage(raw);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        return (e as ProtocolError).context.field;
      }
      return 'accepted';
    };
    expect(field(JSON.stringify({ ...hello(), v: 2 }))).toBe('v');
    expect(field(JSON.stringify({ v: 1, type: 'launch' }))).toBe('type');
    expect(field(JSON.stringify(step(1, { reward: 'high' })))).toBe('reward');
    expect(field(JSON.stringify(step(1, { obs: [1, null] })))).toBe('obs.1');
    expect(field(JSON.stringify(step(1, { extra: 1 })))).toBe('(root)');
    expect(field(JSON.stringify(hello({ job: { ...job, numWorkers: -1 } })))).toBe('job.numWorkers');
    expect(field('{nope')).toBe('(root)');
    expect(field('[1,2]')).toBe('(root)');
    expect(code(() => parseClientMessage(JSON.stringify({ v: 1, type: 'checkpoint', requestId: '../etc' })))).toBe('PROTOCOL_INVALID');
  });

  it('compares tokens by value', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
  });

  it('backoff grows exponentially, is capped and jittered within [base·(1 − jitter), base]', () => {
    const rng = new Rng(1);
    for (let a = 0; a < 12; a++) {
      const base = Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.initialMs * 2 ** a);
      for (let k = 0; k < 20; k++) {
        const d = backoffDelay(a, DEFAULT_BACKOFF, rng);
        expect(d).toBeGreaterThan(base * (1 - DEFAULT_BACKOFF.jitter) - 1e-9);
        expect(d).toBeLessThanOrEqual(base);
      }
    }
  });
});

describe('agent server', () => {
  let server: AgentServer;
  const events: AgentServerEvent[] = [];
  const root = mkdtempSync(path.join(tmpdir(), 'sas-agent-'));

  beforeAll(async () => {
    server = await startAgentServer({ token: TOKEN, port: 0, agent: tinyAgent, checkpointDir: root, maxSteps: 1000, targetImbalance: 0, maxPayloadBytes: 4096, sessionTtlMs: 60_000, onEvent: (e) => events.push(e) });
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 and validates its options', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    await expect(startAgentServer({ token: 'short' })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'agentServer.token' } });
  });

  it('round-trips hello → welcome and step → action through the client, and trains', async () => {
    const actions: number[] = [];
    let resolveN: () => void = () => undefined;
    const got = new Promise<void>((r) => (resolveN = r));
    const client = new AgentClient({
      url: server.url,
      token: TOKEN,
      job,
      session: 'rt',
      onAction: (a, seq) => {
        expect(a.length).toBe(4);
        for (const x of a) expect(x >= 0 && x <= 1).toBe(true);
        actions.push(seq);
        if (actions.length === 12) resolveN();
      },
      onWelcome: () => {
        for (let i = 0; i < 12; i++) expect(client.submit([1, 1, 1, 0.5, 0.6, 0.7], 0.1 * i, { imbalance: 0.3 }, i === 11)).toBe(true);
      },
    });
    expect(client.submit([1], 0, {}, false)).toBe(false); // not connected yet: dropped, not thrown
    client.start();
    await got;
    expect(actions).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(client.latestActionSeq).toBe(11);
    expect(client.session).toMatchObject({ session: 'rt', mode: 'train', actionDim: 4, resumed: false });
    expect(client.stats).toMatchObject({ sent: 12, dropped: 1, actions: 12 });
    const ack = await client.requestCheckpoint('c1');
    expect(ack).toMatchObject({ ok: true });
    expect(ack!.updates).toBeGreaterThan(0); // 11 transitions, learning starts at 4
    const { agent } = loadCheckpoint(ack!.path!);
    expect(agent.dims).toEqual({ obsDim: 6, actionDim: 4 });
    agent.dispose();
    await client.close();
  });

  it('rejects bad messages after the welcome with error replies and keeps the connection and the server alive', async () => {
    const early = new Raw(server.url);
    await early.open();
    early.send(step(0)); // before hello: a connection has one chance
    await early.until(() => early.closeCode !== undefined);
    expect(early.messages).toMatchObject([{ type: 'error', code: 'PROTOCOL_INVALID', fatal: true }]);
    expect(early.closeCode).toBe(1008);
    const r = new Raw(server.url);
    await r.open();
    r.send(hello());
    await r.next(1);
    expect(r.messages[0]).toMatchObject({ type: 'welcome' });
    const bad = ['not json', JSON.stringify({ ...step(1), v: 7 }), JSON.stringify(step(2, { obs: 'x' })), JSON.stringify(step(3, { obs: [1, 2] })), JSON.stringify(step(4, { obs: [5, 1, 1, 1, 1, 1] })), JSON.stringify({ v: 1, type: 'nope' }), JSON.stringify(hello())];
    for (const b of bad) r.send(b);
    await r.next(1 + bad.length);
    for (const m of r.messages.slice(1)) expect(m).toMatchObject({ type: 'error', code: 'PROTOCOL_INVALID', fatal: false });
    expect(r.messages.find((m) => m.type === 'error' && m.seq === 3)).toBeDefined(); // wrong obs length names its seq
    r.send(step(5));
    await r.next(2 + bad.length);
    expect(r.messages.at(-1)).toMatchObject({ type: 'action', seq: 5 });
    expect(r.closeCode).toBeUndefined();
    r.ws.close();
  });

  it('closes on a bad token (AUTH_FAILED) and on an oversize message (1009), and still serves others', async () => {
    const a = new Raw(server.url);
    await a.open();
    a.send(hello({ token: 'wrong-token-123' }));
    await a.until(() => a.closeCode !== undefined);
    expect(a.messages[0]).toMatchObject({ type: 'error', code: 'AUTH_FAILED', fatal: true });
    expect(a.closeCode).toBe(1008);

    const b = new Raw(server.url);
    await b.open();
    b.send(JSON.stringify({ ...step(0), info: { pad: 1, x: 'y'.repeat(8000) } }));
    await b.until(() => b.closeCode !== undefined);
    expect(b.closeCode).toBe(1009);

    const c = new Raw(server.url);
    await c.open();
    c.send(hello({ job: { ...job, actionDim: 5 } })); // inconsistent with the mask
    await c.until(() => c.closeCode !== undefined);
    expect(c.messages[0]).toMatchObject({ type: 'error', code: 'PROTOCOL_INVALID', fatal: true });

    const good = new Raw(server.url);
    await good.open();
    good.send(hello());
    good.send(step(0));
    await good.next(2);
    expect(good.messages.map((m) => m.type)).toEqual(['welcome', 'action']);
    good.ws.close();
  });

  it('isolates sessions: each connection has its own agent; evaluate mode never trains', async () => {
    const t = new Raw(server.url);
    const e = new Raw(server.url);
    await Promise.all([t.open(), e.open()]);
    t.send(hello({ session: 'iso-train' }));
    e.send(hello({ session: 'iso-eval', mode: 'evaluate' }));
    await Promise.all([t.next(1), e.next(1)]);
    expect(t.messages[0]).toMatchObject({ type: 'welcome', session: 'iso-train', mode: 'train' });
    expect(e.messages[0]).toMatchObject({ type: 'welcome', session: 'iso-eval', mode: 'evaluate' });
    for (let i = 0; i < 10; i++) {
      t.send(step(i));
      e.send(step(i));
    }
    await Promise.all([t.next(11), e.next(11)]);
    // One more step each, after the training ticks of the first ten ran.
    await new Promise<void>((r) => setImmediate(r));
    t.send(step(10));
    e.send(step(10));
    await Promise.all([t.next(12), e.next(12)]);
    const lastT = t.messages.at(-1)!;
    const lastE = e.messages.at(-1)!;
    expect(lastT).toMatchObject({ type: 'action', training: true });
    expect(lastE).toMatchObject({ type: 'action', training: false, updates: 0 });
    expect((lastT as { updates: number }).updates).toBeGreaterThan(0);
    // evaluate is deterministic: the same obs gives the same action
    const evalActions = e.messages.slice(1).map((m) => JSON.stringify((m as { action: number[] }).action));
    expect(new Set(evalActions).size).toBe(1);
    expect(server.sessions()).toEqual(expect.arrayContaining(['iso-train', 'iso-eval']));
    t.ws.close();
    e.ws.close();
  });

  it('resumes a named session after a reconnect and keeps its agent', async () => {
    const a = new Raw(server.url);
    await a.open();
    a.send(hello({ session: 'resume-me' }));
    for (let i = 0; i < 8; i++) a.send(step(i));
    await a.next(9);
    await new Promise<void>((r) => setImmediate(r));
    a.ws.close();
    await a.until(() => a.closeCode !== undefined);
    const b = new Raw(server.url);
    await b.open();
    b.send(hello({ session: 'resume-me' }));
    await b.next(1);
    expect(b.messages[0]).toMatchObject({ type: 'welcome', session: 'resume-me', resumed: true });
    expect((b.messages[0] as { updates: number }).updates).toBeGreaterThan(0);
    // a second live connection may not take over an attached session
    const c = new Raw(server.url);
    await c.open();
    c.send(hello({ session: 'resume-me' }));
    await c.until(() => c.closeCode !== undefined);
    expect(c.messages[0]).toMatchObject({ type: 'error', fatal: true });
    b.ws.close();
  });
});

describe('agent server training rules', () => {
  it('stops training at the step budget and at the target imbalance, writing checkpoints', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sas-agent-stop-'));
    const events: AgentServerEvent[] = [];
    const s = await startAgentServer({ token: TOKEN, agent: tinyAgent, checkpointDir: root, checkpointEvery: 3, maxSteps: 6, targetImbalance: 0.05, onEvent: (e) => events.push(e) });
    try {
      const a = new Raw(s.url);
      await a.open();
      a.send(hello({ session: 'budget' }));
      for (let i = 0; i < 9; i++) {
        a.send(step(i));
        await a.next(i + 2);
        await new Promise<void>((r) => setImmediate(r)); // let the post-reply training tick run
      }
      const training = a.messages.slice(1).map((m) => (m as { training: boolean }).training);
      expect(training).toEqual([true, true, true, true, true, true, false, false, false]);
      expect(events).toContainEqual(expect.objectContaining({ type: 'training_stopped', session: 'budget', step: 6, reason: 'max_steps' }));
      expect(existsSync(path.join(root, 'budget', 'manifest.json'))).toBe(true);

      const b = new Raw(s.url);
      await b.open();
      b.send(hello({ session: 'target' }));
      b.send(step(0, { info: { imbalance: 0.2 } }));
      await b.next(2);
      await new Promise<void>((r) => setImmediate(r));
      b.send(step(1, { info: { imbalance: 0.04 } }));
      await b.next(3);
      await new Promise<void>((r) => setImmediate(r));
      b.send(step(2));
      await b.next(4);
      expect(b.messages.slice(1).map((m) => (m as { training: boolean }).training)).toEqual([true, true, false]);
      expect(events).toContainEqual(expect.objectContaining({ type: 'training_stopped', session: 'target', reason: 'target_imbalance' }));
      a.ws.close();
      b.ws.close();
    } finally {
      await s.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('client reconnects with backoff after the server restarts on the same port', async () => {
    const s1 = await startAgentServer({ token: TOKEN, agent: tinyAgent });
    const port = s1.port;
    let welcomes = 0;
    let onWelcome: () => void = () => undefined;
    let onDisconnect: () => void = () => undefined;
    const client = new AgentClient({
      url: s1.url,
      token: TOKEN,
      job,
      backoff: { initialMs: 5, maxMs: 50 },
      onWelcome: () => {
        welcomes++;
        onWelcome();
      },
      onDisconnect: () => onDisconnect(),
    });
    const first = new Promise<void>((r) => (onWelcome = r));
    client.start();
    await first;
    const second = new Promise<void>((r) => (onWelcome = r));
    const gone = new Promise<void>((r) => (onDisconnect = r));
    await s1.close();
    await gone;
    expect(client.connected).toBe(false);
    expect(client.submit([1, 1, 1, 0, 0, 0], 0, {}, false)).toBe(false); // gone: dropped, no throw
    const s2 = await startAgentServer({ token: TOKEN, agent: tinyAgent, port });
    await second;
    expect(welcomes).toBe(2);
    expect(client.connected).toBe(true);
    expect(client.submit([1, 1, 1, 0, 0, 0], 0, {}, false)).toBe(true);
    await client.close();
    await s2.close();
  });
});
