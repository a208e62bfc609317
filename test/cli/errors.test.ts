// The CLI's bad-input paths: each is exit 2 with `error [CODE]: …` naming the path or option, never a Node error.
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, rmSync, mkdtempSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { writeReport } from '../../src/report/index.js';
import { syntheticResults } from '../report/fixture.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/sas');
const sas = (args: string[], opts: SpawnSyncOptions = {}) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', ...opts }) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
const tmp = () => mkdtempSync(join(tmpdir(), 'sas-err-'));

/** Exit 2, `error [code]`, the path or option named, and no stack trace. */
function expectUserError(r: { status: number | null; stderr: string }, code: string, names: string): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toContain(`error [${code}]`);
  expect(r.stderr).toContain(names);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('config files that cannot be read or parsed', () => {
  it('a folder given as -c is FILE_NOT_FOUND naming it (was EISDIR, exit 1)', () => {
    const d = tmp();
    expectUserError(sas(['run', '-q', '--no-write', '-c', d]), 'FILE_NOT_FOUND', d);
    expectUserError(sas(['compare', '-q', '-c', d]), 'FILE_NOT_FOUND', d);
  });

  it('an unreadable config is FILE_NOT_FOUND naming it (was EACCES, exit 1; as root the CLI runs as uid 65534)', () => {
    const d = tmp();
    chmodSync(d, 0o755);
    const f = join(d, 'secret.yaml');
    writeFileSync(f, 'workers: 2\n');
    chmodSync(f, 0o000);
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    expectUserError(sas(['run', '-q', '--no-write', '-c', f], asUser), 'FILE_NOT_FOUND', f);
    expect(sas(['run', '-q', '--no-write', '-c', f], asUser).stderr).toContain('EACCES');
  });

  it('a YAML alias bomb is CONFIG_PARSE naming the file (was "Excessive alias count", exit 1)', () => {
    const d = tmp();
    const f = join(d, 'bomb.yaml');
    const level = (name: string, ref: string) => `${name}: &${name} [${Array(10).fill(`*${ref}`).join(', ')}]`;
    writeFileSync(f, ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]', level('b', 'a'), level('c', 'b'), level('d', 'c'), level('e', 'd'), ''].join('\n'));
    expectUserError(sas(['run', '-q', '--no-write', '-c', f]), 'CONFIG_PARSE', f);
  });

  it('commander usage errors exit 2 as CONFIG_INVALID naming the option (was exit 1, no code)', () => {
    expectUserError(sas(['run', '-q', '--no-write', '--clock', 'sundial']), 'CONFIG_INVALID', '--clock');
    expectUserError(sas(['run', '--bogus']), 'CONFIG_INVALID', '--bogus');
    expectUserError(sas(['max-throughput', '--partitioners']), 'CONFIG_INVALID', '--partitioners');
    expect(sas(['run', '--help']).status).toBe(0);
  });
});

describe('list options', () => {
  it('an empty or blank entry in --partitioners or --brokers is CONFIG_INVALID naming the option (was exit 0 with an empty table)', () => {
    for (const v of [',', ' ', '', 'hash,', 'hash,,pkg']) expectUserError(sas(['max-throughput', '-q', '--partitioners', v]), 'CONFIG_INVALID', '--partitioners');
    expectUserError(sas(['distributed', '-q', '--brokers', ',']), 'CONFIG_INVALID', '--brokers');
  });
});

describe('output folders', () => {
  it('-o pointing at a file is OUTPUT_INVALID naming it, and the file is untouched (was ENOTDIR, exit 1)', () => {
    const d = tmp();
    const f = join(d, 'not-a-dir');
    writeFileSync(f, 'keep');
    expectUserError(sas(['run', '-q', '-o', f, '--set', 'durationMs=1000', '--set', 'workers=2']), 'OUTPUT_INVALID', f);
    const c = join(d, 'c.yaml');
    writeFileSync(c, 'partitioners: [hash]\nworkloads: [{ name: uniform }]\ntasks: [keyedcount]\n');
    expectUserError(sas(['compare', '-q', '-c', c, '-o', f]), 'OUTPUT_INVALID', f);
    expect(readFileSync(f, 'utf8')).toBe('keep');
    expect(readdirSync(d).sort()).toEqual(['c.yaml', 'not-a-dir']);
  });

  it('a chosen output.name that exists is OUTPUT_INVALID (was a raw Error, exit 1); ".." is CONFIG_INVALID', () => {
    const d = tmp();
    mkdirSync(join(d, 'taken'));
    expectUserError(sas(['run', '-q', '-o', d, '--set', 'output.name=taken', '--set', 'durationMs=1000', '--set', 'workers=2']), 'OUTPUT_INVALID', join(d, 'taken'));
    expectUserError(sas(['run', '-q', '-o', d, '--set', 'output.name=..', '--set', 'durationMs=1000', '--set', 'workers=2']), 'CONFIG_INVALID', 'output.name');
    expect(readdirSync(d)).toEqual(['taken']);
  });
});

describe('sas report', () => {
  it('results.json that is a folder is FILE_NOT_FOUND naming it (was EISDIR, exit 1)', () => {
    const d = tmp();
    mkdirSync(join(d, 'results.json'));
    expectUserError(sas(['report', d]), 'FILE_NOT_FOUND', join(d, 'results.json'));
  });

  it('report.md that is a folder is OUTPUT_INVALID and changes nothing: results.csv and report.html keep their bytes (results.csv was rewritten first)', async () => {
    const d = tmp();
    await writeReport(syntheticResults(), d);
    writeFileSync(join(d, 'results.csv'), 'an older csv\n');
    writeFileSync(join(d, 'report.html'), 'an older html\n');
    rmSync(join(d, 'report.md'));
    mkdirSync(join(d, 'report.md'));
    const before = readdirSync(d).sort();
    expectUserError(sas(['report', d]), 'OUTPUT_INVALID', join(d, 'report.md'));
    expect(readFileSync(join(d, 'results.csv'), 'utf8')).toBe('an older csv\n');
    expect(readFileSync(join(d, 'report.html'), 'utf8')).toBe('an older html\n');
    expect(readdirSync(d).sort()).toEqual(before); // no temp file left beside them
  });
});

describe('signals during sas run and sas compare', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  /** Resolves once `dir` holds an unfinished results folder (fs.watch, no polling sleep); rejects if the child exits first. */
  function partialAppears(dir: string, c: ChildProcess): Promise<string> {
    return new Promise((resolve, reject) => {
      const found = () => readdirSync(dir).find((f) => f.includes('.partial-'));
      const w = watch(dir, () => {
        const f = found();
        if (f) {
          w.close();
          resolve(f);
        }
      });
      c.once('exit', (code) => {
        w.close();
        reject(new Error(`sas exited (${code}) before its results folder appeared`));
      });
      const f = found();
      if (f) {
        w.close();
        resolve(f);
      }
    });
  }

  function exitOf(c: ChildProcess, stderr: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    return new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal, stderr: stderr.join('') })));
  }

  function start(args: string[]): { c: ChildProcess; stderr: string[] } {
    const c = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    c.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    child = c;
    return { c, stderr };
  }

  it('SIGTERM during a real-clock sas run removes the unfinished folder, exits 143 and says so in one line', async () => {
    const out = tmp();
    const { c, stderr } = start(['run', '-q', '-o', out, '--clock', 'real', '--set', 'durationMs=600000', '--set', 'workers=2', '--set', 'threads=1', '--set', 'reducers=1', '--set', 'source.rate=1000', '--set', 'workload.params.numKeys=100']);
    const done = exitOf(c, stderr);
    await partialAppears(out, c);
    c.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(143);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('interrupted by SIGTERM');
    expect(readdirSync(out)).toEqual([]);
  });

  it('SIGINT during sas compare removes the unfinished folder and exits 130', async () => {
    const out = tmp();
    const f = join(out, 'c.yaml');
    writeFileSync(f, `base: { workers: 4, capacity: 20000 }\npartitioners: [hash]\nworkloads: [{ name: uniform, params: { numKeys: 100 } }]\ntasks: [keyedcount]\nrepetitions: 100\nmaxThroughput: false\nfixedRate: { rate: 20000, durationMs: 5000 }\noutput: { dir: ${join(out, 'res')} }\n`);
    mkdirSync(join(out, 'res'));
    const { c, stderr } = start(['compare', '-q', '-c', f]);
    const done = exitOf(c, stderr);
    await partialAppears(join(out, 'res'), c);
    c.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted by SIGINT');
    expect(readdirSync(join(out, 'res'))).toEqual([]);
  });
});
