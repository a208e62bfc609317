// Starts a worker thread from a module URL, whether the project runs compiled (.js) or from source (.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Options of a started worker thread. */
export interface ModuleWorkerOptions {
  /** V8's young-generation limit for the thread, MB (`resourceLimits.maxYoungGenerationSizeMb`). Default: V8's. */
  readonly youngGenerationMb?: number;
}

/**
 * Starts `entry` (a file URL) as a worker thread with `workerData`. A `.ts` entry (tests, tsx) is
 * loaded through tsx's ESM hooks registered inside the new thread; a `.js` entry is loaded directly.
 */
export function startModuleWorker(entry: URL, workerData: unknown, options: ModuleWorkerOptions = {}): Worker {
  const resourceLimits = options.youngGenerationMb === undefined ? undefined : { maxYoungGenerationSizeMb: options.youngGenerationMb };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData, resourceLimits });
  // The ESM entry of tsx's API (require.resolve would give the CommonJS one).
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const api = pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}
