// The repository root for benchmarks, whether they run from bench/ (tsx) or dist/bench/ (node).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/common/package-root.js';

/** The package root above the module at `moduleUrl` (pass `import.meta.url`): src/common/package-root.ts. */
export function repoRoot(moduleUrl: string): string {
  return packageRoot(dirname(fileURLToPath(moduleUrl)));
}
