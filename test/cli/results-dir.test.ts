// ResultsDir: failed writes end the run cleanly, names never collide, results are never lost to a taken name.
import { describe, expect, it } from 'vitest';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRunName, ResultsDir } from '../../src/cli/output.js';
import { runCommand } from '../../src/cli/run.js';
import { loadJobConfig } from '../../src/engine/config.js';
import { SasError } from '../../src/common/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sas-rdir-'));
const hasDevFull = existsSync('/dev/full');

async function codeOfAsync(p: Promise<unknown>): Promise<{ code?: string; path?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e instanceof SasError ? { code: e.code, path: e.context.path } : { code: `not-sas: ${(e as Error).message}` };
  }
  return {};
}

describe('ResultsDir: a failing write stream (disk full)', () => {
  it.skipIf(!hasDevFull)('an ENOSPC on metrics.jsonl is kept, not thrown: commit rejects OUTPUT_INVALID naming the file, abort removes the folder', async () => {
    const out = tmp();
    const d = new ResultsDir(out, 'full', { explicit: true });
    d.writeJson('config.json', { a: 1 });
    // /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
    symlinkSync('/dev/full', join(d.tmpPath, 'metrics.jsonl'));
    d.appendLine('metrics.jsonl', { slide: 0, pad: 'x'.repeat(70_000) });
    d.appendLine('metrics.jsonl', { slide: 1 });
    const r = await codeOfAsync(d.commit());
    expect(r.code).toBe('OUTPUT_INVALID');
    expect(r.path).toBe(join(d.tmpPath, 'metrics.jsonl'));
    expect(d.failed).toBe(true);
    await d.abort();
    expect(readdirSync(out)).toEqual([]);
  });

  it.skipIf(!hasDevFull)('a real-clock run whose metrics writes fail stops with OUTPUT_INVALID and leaves no folder', async () => {
    const out = tmp();
    const cfg = loadJobConfig(undefined, ['clock=real', 'workers=2', 'threads=1', 'reducers=1', 'durationMs=4000', 'slideMs=250', 'window.sizeMs=250', 'source.rate=2000', 'workload.params.numKeys=100', `output.dir=${out}`, 'output.name=r1']);
    const r = await codeOfAsync(runCommand(cfg, { quiet: true, createStream: () => createWriteStream('/dev/full') }));
    expect(r.code).toBe('OUTPUT_INVALID');
    expect(String(r.path)).toMatch(/metrics\.jsonl$/);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('ResultsDir: names', () => {
  it('two ResultsDir with the same name in one process write to separate folders and both survive their commits', async () => {
    const out = tmp();
    const a = new ResultsDir(out, 'same');
    const b = new ResultsDir(out, 'same');
    expect(b.tmpPath).not.toBe(a.tmpPath);
    a.writeJson('who.json', 'a');
    a.appendLine('m.jsonl', 1);
    b.writeJson('who.json', 'b');
    b.appendLine('m.jsonl', 2);
    const da = await a.commit();
    const db = await b.commit();
    expect(da).toBe(join(out, 'same'));
    expect(db).toBe(join(out, 'same-2'));
    expect(JSON.parse(readFileSync(join(da, 'who.json'), 'utf8'))).toBe('a');
    expect(JSON.parse(readFileSync(join(db, 'who.json'), 'utf8'))).toBe('b');
    expect(readFileSync(join(db, 'm.jsonl'), 'utf8')).toBe('2\n');
    expect(readdirSync(out).sort()).toEqual(['same', 'same-2']);
  });

  it('a name taken while the run wrote (by another process: a folder with files, or an empty one) goes to the next free suffix; the other folder is untouched', async () => {
    const out = tmp();
    const a = new ResultsDir(out, 'mine', { explicit: true });
    a.writeJson('summary.json', { mine: true });
    mkdirSync(join(out, 'mine'));
    writeFileSync(join(out, 'mine', 'theirs.txt'), 'theirs');
    mkdirSync(join(out, 'mine-2')); // empty: rename(2) would silently replace it
    const dir = await a.commit();
    expect(dir).toBe(join(out, 'mine-3'));
    expect(a.name).toBe('mine-3');
    expect(readdirSync(join(out, 'mine'))).toEqual(['theirs.txt']);
    expect(readdirSync(join(out, 'mine-2'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))).toEqual({ mine: true });
  });

  it('a generated name that exists gets another; a chosen name that exists, a dot name or a file as the folder is an error before anything is written', async () => {
    const out = tmp();
    mkdirSync(join(out, 'gen'));
    const g = new ResultsDir(out, 'gen');
    expect(g.name).toBe('gen-2');
    expect(g.finalPath).toBe(join(out, 'gen-2'));
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof SasError ? e.code : 'not-sas';
      }
      return undefined;
    };
    expect(err(() => new ResultsDir(out, 'gen', { explicit: true }))).toBe('OUTPUT_INVALID');
    expect(err(() => new ResultsDir(out, '..', { explicit: true }))).toBe('CONFIG_INVALID');
    writeFileSync(join(out, 'f'), 'file');
    expect(err(() => new ResultsDir(join(out, 'f'), 'x'))).toBe('OUTPUT_INVALID');
    expect(err(() => new ResultsDir(join(out, 'f', 'sub'), 'x'))).toBe('OUTPUT_INVALID');
    expect(readdirSync(out).filter((f) => !f.startsWith('.')).sort()).toEqual(['f', 'gen']);
    await g.abort();
    expect(readdirSync(out).sort()).toEqual(['f', 'gen']);
  });

  it('a run whose default name exists gets another name, and the existing folders are untouched', async () => {
    const out = tmp();
    // Every default name this run could pick (its start second is within the next 30 s) is taken.
    const now = Date.now();
    const taken = Array.from({ length: 30 }, (_, i) => defaultRunName('hash', 'uniform', new Date(now + i * 1000)));
    for (const t of taken) {
      mkdirSync(join(out, t));
      writeFileSync(join(out, t, 'summary.json'), 'older run');
    }
    const cfg = loadJobConfig(undefined, ['workers=2', 'durationMs=1000', 'source.rate=2000', 'workload.name=uniform', 'workload.params.numKeys=100', `output.dir=${out}`]);
    const { dir, result } = await runCommand(cfg, { quiet: true });
    expect(dir).toMatch(/-2$/);
    expect(taken).toContain(dir!.slice(out.length + 1, -2));
    expect(result.id).toBe(dir!.slice(out.length + 1));
    for (const t of taken) expect(readFileSync(join(out, t, 'summary.json'), 'utf8')).toBe('older run');
    expect(readdirSync(out)).toHaveLength(taken.length + 1);
  });
});
