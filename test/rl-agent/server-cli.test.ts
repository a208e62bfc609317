// `sas agent` as a real process: the checkpoint is checked before listening, flags are validated, and the process ends on signals and on its parent's death.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentServer } from '../../src/rl-agent/server.js';
import { readCheckpointManifest } from '../../src/rl-agent/checkpoint.js';
import { hello, Raw, step, tinyAgent, TOKEN } from './server-raw.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = path.join(root, 'bin', 'sas');
const sas = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
const dir = mkdtempSync(path.join(tmpdir(), 'sas-agent-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves with the agent's URL once the process printed its listening line. */
function listening(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /agent listening on (ws:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    p.once('exit', (code) => reject(new Error(`sas agent exited (${code}) before listening: ${out}`)));
  });
}

const collected = (p: ChildProcess): { text: string } => {
  const r = { text: '' };
  p.stderr!.on('data', (d: Buffer) => (r.text += d.toString()));
  return r;
};
const exited = (p: ChildProcess): Promise<number | null> => new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', (c) => r(c))));

describe('sas agent checks its input before it listens (issue 18 item 7)', () => {
  it('a missing checkpoint is FILE_NOT_FOUND, a file or an empty folder is refused, exit 2, naming the path', () => {
    const file = path.join(dir, 'plain');
    writeFileSync(file, 'not a checkpoint\n');
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const cases: Array<[string, string]> = [
      [path.join(dir, 'nonexistent'), 'FILE_NOT_FOUND'],
      [file, 'CHECKPOINT_INVALID'],
      [empty, 'FILE_NOT_FOUND'],
    ];
    for (const [ck, code] of cases) {
      const r = sas(['agent', '--port', '0', '--checkpoint', ck]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`error [${code}]`);
      expect(r.stderr).toContain(ck);
      expect(r.stdout).not.toContain('agent listening');
    }
  });

  it('flags are validated naming the flag; --help states the token length and the limits', () => {
    for (const [args, flag] of [
      [['--token', 'short'], '--token'],
      [['--max-sessions', '0'], '--max-sessions'],
      [['--max-sessions', '300'], '--max-sessions'],
      [['--hello-timeout', 'soon'], '--hello-timeout'],
      [['--port', '12abc'], '--port'],
    ] as const) {
      const r = sas(['agent', '--checkpoint', 'none', '--port', '0', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^error \\[CONFIG_INVALID\\]: ${flag}: `));
    }
    const help = sas(['agent', '--help']).stdout;
    for (const s of ['8-1024 characters', '--max-sessions', '--max-connections', '--hello-timeout', '--session-ttl', 'SIGTERM (143)']) expect(help).toContain(s);
  });
});

describe('sas agent stops cleanly (issue 18 item 22)', () => {
  let checkpoint: string;
  beforeAll(async () => {
    // A tiny trained checkpoint, so the CLI's sessions learn at once (the fine-tune preset starts learning at the first transition).
    const seedDir = path.join(dir, 'seed');
    const s = await startAgentServer({ token: TOKEN, agent: tinyAgent, checkpointDir: seedDir, maxSteps: 1000, targetImbalance: 0 });
    const r = new Raw(s.url);
    await r.open();
    r.send(hello({ session: 'tiny' }));
    for (let i = 0; i < 8; i++) r.send(step(i));
    await r.next(9);
    await r.end();
    await s.close();
    checkpoint = path.join(seedDir, 'tiny');
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('on %s it writes the final checkpoint of a training session and exits %i', async (signal, code) => {
    const out = path.join(dir, `out-${signal}`);
    const p = spawn(process.execPath, [bin, 'agent', '--port', '0', '--token', TOKEN, '--checkpoint', checkpoint, '--checkpoint-dir', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const err = collected(p);
    const url = await listening(p);
    const r = new Raw(url);
    await r.open();
    r.send(hello({ session: 'sig' }));
    await r.next(1);
    // One step at a time: step 3 is read after step 2's post-reply training tick ran.
    for (let i = 0; i < 3; i++) {
      r.send(step(i));
      await r.next(i + 2);
    }
    expect(r.messages[3]).toMatchObject({ type: 'action', seq: 2 });
    expect((r.messages[3] as { updates: number }).updates).toBeGreaterThan(0);
    p.kill(signal);
    expect(await exited(p)).toBe(code);
    expect(err.text).toContain(`received ${signal}; server closed`);
    expect(readCheckpointManifest(path.join(out, 'sig')).updates).toBeGreaterThan(readCheckpointManifest(checkpoint).updates);
  });

  it('when its parent dies without passing a signal on (npx → sh -c → node), the node process shuts down by itself', async () => {
    if (process.platform === 'win32') return;
    // `; :` keeps sh from exec'ing node, as under npx: sh stays node's parent.
    const cmd = `'${process.execPath}' '${bin}' agent --port 0 --token ${TOKEN} --checkpoint none; :`;
    const sh = spawn('/bin/sh', ['-c', cmd], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const err = collected(sh);
    // The pipes stay open until the last writer exits: the orphaned node holds them once sh is gone.
    const drained = new Promise<void>((r) => sh.stderr!.once('end', () => r()));
    await listening(sh);
    const child = Number(spawnSync('ps', ['-o', 'pid=', '--ppid', String(sh.pid)], { encoding: 'utf8' }).stdout.trim());
    expect(child).toBeGreaterThan(0);
    sh.kill('SIGKILL');
    await drained;
    expect(err.text).toContain('the parent process exited; server closed');
    // gone, or a zombie waiting for init to reap it
    const stat = existsSync(`/proc/${child}/stat`) ? readFileSync(`/proc/${child}/stat`, 'utf8') : '';
    expect(stat === '' || / Z /.test(stat)).toBe(true);
  });
});
