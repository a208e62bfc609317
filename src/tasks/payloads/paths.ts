// Locates the package root (and so the bundled data/ folder) from source or compiled code.
import { join, resolve } from 'node:path';
import { packageRoot } from '../../common/package-root.js';

export { packageRoot };

/** Absolute path of the bundled corpus `name` (data/corpus/<name>.txt). */
export function bundledCorpusPath(name: string): string {
  return join(packageRoot(), 'data', 'corpus', `${name}.txt`);
}

/** Resolves a user-given path against the current working directory. */
export function resolveUserPath(p: string): string {
  return resolve(p);
}
