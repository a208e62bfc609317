// The agent server against hostile or confused clients over real sockets: path escapes in session names, no hello, bad tokens, connection floods, doc/behaviour agreement.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentServer, type AgentServer, type AgentServerEvent } from '../../src/rl-agent/server.js';
import type { ErrorMessage } from '../../src/rl-agent/protocol.js';
import { hello, Raw, step, tick, tinyAgent, TOKEN } from './server-raw.js';

const docs = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('session names never reach the file system unconfined (issue 18 item 1)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'sas-agent-escape-'));
  // root/keep.txt, root/checkpoints/keep.txt, root/checkpoints/online/keep.txt: what `..`, `../..` and `.` would take.
  const ckDir = path.join(root, 'checkpoints', 'online');
  const sentinels = [path.join(root, 'keep.txt'), path.join(root, 'checkpoints', 'keep.txt'), path.join(ckDir, 'keep.txt')];
  let server: AgentServer;
  beforeAll(async () => {
    mkdirSync(ckDir, { recursive: true });
    for (const f of sentinels) writeFileSync(f, 'precious\n');
    server = await startAgentServer({ token: TOKEN, agent: tinyAgent, checkpointDir: ckDir, maxSteps: 1000, targetImbalance: 0, sessionTtlMs: 60_000 });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const escapes = ['..', '.', '...', '../..', '../x', 'a/b', '/tmp', '..\\x', '', 'x'.repeat(65), 'a b', 'anon-1'];
  it.each(escapes)('hello with session %j is a fatal PROTOCOL_INVALID naming hello.session, and no session opens', async (name) => {
    const r = new Raw(server.url);
    await r.open();
    // hello then enough steps to train: on a server that accepted the name, the final checkpoint would go to <ckDir>/<name>.
    r.send(hello({ session: name }));
    for (let i = 0; i < 8; i++) r.send(step(i));
    await r.closed();
    expect(r.messages).toHaveLength(1);
    const e = r.messages[0] as ErrorMessage;
    expect(e).toMatchObject({ type: 'error', code: 'PROTOCOL_INVALID', fatal: true });
    expect(e.message.startsWith('hello.session: ')).toBe(true);
    expect(r.closeCode).toBe(1008);
  });

  it('after a training session, a checkpoint request and the shutdown, every sentinel is intact and the folder holds only checkpoints', async () => {
    const r = new Raw(server.url);
    await r.open();
    r.send(hello({ session: 'ok.name-1' }));
    for (let i = 0; i < 8; i++) r.send(step(i));
    await r.next(9);
    await tick();
    r.send({ v: 1, type: 'checkpoint', requestId: 'r'.repeat(60) }); // <session>-<requestId> would be 70 characters
    r.send({ v: 1, type: 'checkpoint', requestId: 'r1' });
    await r.next(11);
    expect(r.messages[9]).toMatchObject({ type: 'checkpoint_ack', requestId: 'r'.repeat(60), ok: false });
    expect(r.messages[10]).toMatchObject({ type: 'checkpoint_ack', requestId: 'r1', ok: true, path: path.join(ckDir, 'ok.name-1-r1') });
    expect(server.sessions()).toEqual(['ok.name-1']);
    await r.end();
    await server.close();
    for (const f of sentinels) expect(readFileSync(f, 'utf8')).toBe('precious\n');
    expect(readdirSync(ckDir).sort()).toEqual(['keep.txt', 'ok.name-1', 'ok.name-1-r1']);
    expect(existsSync(path.join(ckDir, 'ok.name-1', 'manifest.json'))).toBe(true);
  });
});

describe('unauthenticated connections are bounded (issue 18 item 18)', () => {
  let server: AgentServer;
  const events: AgentServerEvent[] = [];
  beforeAll(async () => {
    server = await startAgentServer({ token: TOKEN, agent: tinyAgent, maxConnections: 3, onEvent: (e) => events.push(e) });
  });
  afterAll(() => server.close());

  it('closes a connection that sends no hello before the deadline (1008, fatal PROTOCOL_INVALID)', async () => {
    const quick = await startAgentServer({ token: TOKEN, agent: tinyAgent, helloTimeoutMs: 20 });
    try {
      const r = new Raw(quick.url);
      await r.open();
      await r.closed();
      expect(r.closeCode).toBe(1008);
      expect(r.messages).toMatchObject([{ type: 'error', code: 'PROTOCOL_INVALID', fatal: true }]);
    } finally {
      await quick.close();
    }
  });

  it.each([
    ['missing', (() => {
      const { token: _t, ...h } = hello();
      return h;
    })()],
    ['empty', hello({ token: '' })],
    ['a number', hello({ token: 12345678 })],
    ['too long', hello({ token: 'x'.repeat(1025) })],
    ['wrong', hello({ token: 'wrong-token-123' })],
  ])('a %s token is a fatal AUTH_FAILED and closes the socket', async (_what, h) => {
    const r = new Raw(server.url);
    await r.open();
    r.send(h);
    r.send(hello()); // a retry on the same connection is not heard
    await r.closed();
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toMatchObject({ type: 'error', code: 'AUTH_FAILED', fatal: true });
    expect(r.closeCode).toBe(1008);
  });

  it('refuses connections beyond maxConnections (AGENT_UNAVAILABLE, 1013) and accepts again once one is gone', async () => {
    const held = [new Raw(server.url), new Raw(server.url), new Raw(server.url)];
    for (const h of held) {
      await h.open();
      h.send(hello());
      await h.next(1);
      expect(h.messages[0]).toMatchObject({ type: 'welcome' });
    }
    const extra = new Raw(server.url);
    await extra.closed();
    expect(extra.messages).toMatchObject([{ type: 'error', code: 'AGENT_UNAVAILABLE', fatal: true }]);
    expect(extra.closeCode).toBe(1013);
    // The anonymous session of the first ends with its connection; then there is room again.
    const closed = new Promise<void>((r) => {
      const n = events.length;
      const check = (): void => void (events.slice(n).some((e) => e.type === 'session_closed') ? r() : setImmediate(check));
      check();
    });
    await held[0].end();
    await closed;
    const again = new Raw(server.url);
    await again.open();
    again.send(hello());
    await again.next(1);
    expect(again.messages[0]).toMatchObject({ type: 'welcome' });
    for (const h of [...held, again]) await h.end();
  });
});

describe('protocol.md and the server agree (issue 18 item 20)', () => {
  let server: AgentServer;
  beforeAll(async () => {
    server = await startAgentServer({ token: TOKEN, agent: tinyAgent });
  });
  afterAll(() => server.close());

  const welcomed = async (): Promise<Raw> => {
    const r = new Raw(server.url);
    await r.open();
    r.send(hello());
    await r.next(1);
    expect(r.messages[0]).toMatchObject({ type: 'welcome', updates: 0 });
    return r;
  };

  it('a wrong version names the field v and echoes seq; a bad checkpoint request echoes requestId', async () => {
    const r = await welcomed();
    r.send({ ...step(4), v: 7 });
    r.send({ v: 1, type: 'checkpoint', requestId: '../etc' });
    r.send({ v: 1, type: 'checkpoint', requestId: 'r9', extra: true });
    r.send({ v: 1, type: 'checkpoint', requestId: 'r10' }); // no checkpointDir: a failed ack
    await r.next(5);
    const [, v, bad, extra, ack] = r.messages as ErrorMessage[];
    expect(v).toMatchObject({ type: 'error', code: 'PROTOCOL_INVALID', seq: 4, fatal: false });
    expect(v.message.startsWith('v: ')).toBe(true);
    expect(bad).toMatchObject({ type: 'error', code: 'PROTOCOL_INVALID', requestId: '../etc' });
    expect(bad.message.startsWith('checkpoint.requestId: ')).toBe(true);
    expect(extra).toMatchObject({ type: 'error', code: 'PROTOCOL_INVALID', requestId: 'r9' });
    expect(ack).toMatchObject({ type: 'checkpoint_ack', requestId: 'r10', ok: false });
    await r.end();
  });

  it('seq must increase on a connection: a repeated or older seq is rejected (non-fatal) and gets no action', async () => {
    const r = await welcomed();
    for (const seq of [0, 1, 1, 0, 5]) r.send(step(seq));
    await r.next(6);
    const got = r.messages.slice(1).map((m) => (m.type === 'action' ? `action ${m.seq}` : `${m.type} ${(m as ErrorMessage).code} ${(m as ErrorMessage).seq}`));
    expect(got).toEqual(['action 0', 'action 1', 'error PROTOCOL_INVALID 1', 'error PROTOCOL_INVALID 0', 'action 5']);
    expect(r.closeCode).toBeUndefined();
    await r.end();
  });

  it('the server token takes 8-1024 characters, as the doc says', async () => {
    await expect(startAgentServer({ token: 'x'.repeat(7) })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'agentServer.token' } });
    await expect(startAgentServer({ token: 'x'.repeat(1025) })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'agentServer.token' } });
    const s = await startAgentServer({ token: 'x'.repeat(1024), agent: tinyAgent });
    await s.close();
    expect(docs).toContain('8–1024 characters');
  });

  it('every error text the doc shows is one the server sends', async () => {
    const texts: string[] = [];
    const collect = async (send: (r: Raw) => void, n: number, welcome = true): Promise<void> => {
      const r = welcome ? await welcomed() : new Raw(server.url);
      if (!welcome) await r.open();
      const k = r.messages.length;
      send(r);
      await r.next(k + n);
      for (const m of r.messages.slice(k)) if (m.type === 'error') texts.push(m.message);
      await r.end();
    };
    await collect((r) => r.send(step(9, { obs: [1, 1, 1, 1, 1, 1, 1, 1] })), 1);
    await collect((r) => r.send(JSON.stringify(step(3)).replace('"obs":[1,1,1,', '"obs":[1,1,1e999,')), 1); // JSON.stringify would write null
    await collect((r) => r.send({ ...step(4), v: 2 }), 1);
    await collect((r) => r.send(hello({ token: 'wrong-token-123' })), 1, false);
    await collect((r) => r.send(hello({ session: '..' })), 1, false);
    await collect((r) => r.send(step(0)), 1, false);
    await collect((r) => {
      r.send(step(2));
      r.send(step(2));
    }, 2);
    expect(texts).toHaveLength(7);
    const shown = [...docs.matchAll(/"type": "error", "code": "[A-Z_]+", "message": "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(shown.length).toBeGreaterThanOrEqual(7);
    for (const s of shown) expect(texts).toContain(s);
  });
});
