// Locates the package root (and so the bundled data/ folder) from source or compiled code.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/**
 * The nearest ancestor directory of this module that holds a package.json (the repository root both
 * from `src/tasks/payloads` and from `dist/src/tasks/payloads`). Cached.
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) break;
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  cachedRoot = dir;
  return dir;
}

/** Absolute path of the bundled corpus `name` (data/corpus/<name>.txt). */
export function bundledCorpusPath(name: string): string {
  return join(packageRoot(), 'data', 'corpus', `${name}.txt`);
}

/** Resolves a user-given path against the current working directory. */
export function resolveUserPath(p: string): string {
  return resolve(p);
}
