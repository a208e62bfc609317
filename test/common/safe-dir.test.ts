// replaceDir and confinedPath: a writer replaces only folders of its own kind, and names never leave their root.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SasError } from '../../src/common/errors.js';
import { confinedPath, replaceDir, SAFE_NAME, type DirKind } from '../../src/common/safe-dir.js';

const kind: DirKind = {
  name: 'thing',
  files: ['manifest.json', 'data.bin'],
  recognize: (dir) => {
    try {
      return JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).format === 'thing';
    } catch {
      return false;
    }
  },
};
const writeThing = (v: string) => (tmp: string) => {
  writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({ format: 'thing', v }));
  writeFileSync(path.join(tmp, 'data.bin'), v);
  return v;
};
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof SasError ? e.code : 'not-a-SasError';
  }
  return undefined;
};

describe('replaceDir', () => {
  it('creates a new folder, replaces a folder of its kind, and leaves no sibling behind', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sas-safe-'));
    const t = path.join(root, 'out');
    expect(replaceDir(t, kind, writeThing('one'))).toBe('one');
    replaceDir(t, kind, writeThing('two'));
    expect(readFileSync(path.join(t, 'data.bin'), 'utf8')).toBe('two');
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('refuses a file, a folder of another kind, and a folder with foreign files; nothing changes', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sas-safe-'));
    const file = path.join(root, 'file');
    writeFileSync(file, 'precious');
    expect(codeOf(() => replaceDir(file, kind, writeThing('x')))).toBe('OUTPUT_INVALID');
    expect(readFileSync(file, 'utf8')).toBe('precious');

    const other = path.join(root, 'dataset');
    mkdirSync(other);
    writeFileSync(path.join(other, 'manifest.json'), JSON.stringify({ format: 'dataset' }));
    expect(codeOf(() => replaceDir(other, kind, writeThing('x')))).toBe('OUTPUT_INVALID');
    expect(JSON.parse(readFileSync(path.join(other, 'manifest.json'), 'utf8')).format).toBe('dataset');

    const mixed = path.join(root, 'mixed');
    replaceDir(mixed, kind, writeThing('a'));
    writeFileSync(path.join(mixed, 'notes.txt'), 'mine');
    expect(codeOf(() => replaceDir(mixed, kind, writeThing('b')))).toBe('OUTPUT_INVALID');
    expect(readFileSync(path.join(mixed, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(path.join(mixed, 'data.bin'), 'utf8')).toBe('a');
    expect(readdirSync(root).sort()).toEqual(['dataset', 'file', 'mixed']);
  });

  it('a failing writer leaves the old folder as it was and no sibling', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sas-safe-'));
    const t = path.join(root, 'out');
    replaceDir(t, kind, writeThing('old'));
    expect(() =>
      replaceDir(t, kind, (tmp) => {
        writeFileSync(path.join(tmp, 'data.bin'), 'half');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(readFileSync(path.join(t, 'data.bin'), 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('an empty folder is replaced', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sas-safe-'));
    const t = path.join(root, 'empty');
    mkdirSync(t);
    replaceDir(t, kind, writeThing('new'));
    expect(existsSync(path.join(t, 'manifest.json'))).toBe(true);
  });
});

describe('confinedPath', () => {
  it('refuses ., .., separators and absolute names', () => {
    for (const bad of ['.', '..', '...', '', 'a/b', '../x', '/etc', 'a\\b', 'x'.repeat(65)]) {
      expect(codeOf(() => confinedPath('/tmp/root', bad, 'session')), bad).toBe('CONFIG_INVALID');
    }
  });

  it('every name it accepts lies strictly inside the root (random names)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 70 }), (name) => {
        let p: string;
        try {
          p = confinedPath('/tmp/root', name);
        } catch (e) {
          expect((e as SasError).code).toBe('CONFIG_INVALID');
          expect(SAFE_NAME.test(name)).toBe(false);
          return;
        }
        expect(path.dirname(p)).toBe('/tmp/root');
        expect(path.basename(p)).toBe(name);
      }),
      { numRuns: 500 },
    );
  });
});
