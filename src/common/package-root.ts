// The package root: the one helper that finds sas-partitioner's folder from source, dist/ or bench/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvariantError } from './errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
let cached: string | undefined;

/**
 * The nearest ancestor of `start` (default: this module's folder) holding the package.json of
 * `sas-partitioner`: the repository root from `src/`, `dist/src/`, `bench/` or `dist/bench/`. The
 * default is cached. InvariantError when there is none (a broken install, never a user error).
 */
export function packageRoot(start: string = HERE): string {
  if (start === HERE && cached !== undefined) return cached;
  let dir = start;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name === 'sas-partitioner') break;
      } catch {
        // an unreadable package.json of something else: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new InvariantError(`package.json of sas-partitioner not found above ${start}`, { start });
    dir = up;
  }
  if (start === HERE) cached = dir;
  return dir;
}
