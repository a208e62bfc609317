// Picks and initialises the TF.js backend: tfjs-node when installed, else wasm (local files), else cpu.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../common/errors.js';

/** The TF.js namespace every rl-agent module uses (one instance, so tensors and backends are shared). */
export { tf };

/** Backends this project knows how to start. `tensorflow` is tfjs-node's native backend. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Valid values of the `SAS_TF_BACKEND` environment variable (`auto` = the default order). */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/**
 * Default order tried by `initBackend('auto')`: native first, then wasm, then cpu.
 * Measured on this project's 2-core machine (bench/agent-backend.ts, MLP 128→256→256 update, batch
 * 128): wasm was faster than cpu (numbers in docs/rl-agent.md), so wasm comes before cpu.
 */
export const DEFAULT_BACKEND_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** What `initBackend` ended up with. `tried` lists failed attempts with their error message. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly tried: readonly { readonly name: BackendName; readonly error: string }[];
}

let current: Promise<BackendInfo> | undefined;
let currentChoice: string | undefined;

/** Directory holding the wasm binaries of @tensorflow/tfjs-backend-wasm, resolved on disk (no network). */
export function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

async function tryBackend(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    // Loaded by a computed specifier so that the project builds without tfjs-node installed.
    const spec = '@tensorflow/tfjs-node';
    await import(spec);
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // A trailing separator tells setWasmPaths this is a directory prefix; Node reads the files from disk.
    wasm.setWasmPaths(wasmDistDir() + path.sep);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend("${name}") returned false`);
  await tf.ready();
}

/**
 * Initialises TF.js once per process and returns which backend is active. `choice` defaults to the
 * `SAS_TF_BACKEND` environment variable, then `auto` (DEFAULT_BACKEND_ORDER). An explicit choice that
 * fails to start is a ConfigError (field `SAS_TF_BACKEND`); `auto` falls through to the next backend.
 * Calling again with the same choice returns the same promise; a different choice switches backend.
 */
export function initBackend(choice: string = process.env.SAS_TF_BACKEND ?? 'auto'): Promise<BackendInfo> {
  if (current && currentChoice === choice) return current;
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new ConfigError(`SAS_TF_BACKEND: expected one of ${BACKEND_CHOICES.join(', ')}, got "${choice}"`, {
      field: 'SAS_TF_BACKEND',
      expected: BACKEND_CHOICES.join(' | '),
      got: choice,
    });
  }
  currentChoice = choice;
  current = (async () => {
    const order: readonly BackendName[] = choice === 'auto' ? DEFAULT_BACKEND_ORDER : [choice as BackendName];
    const tried: { name: BackendName; error: string }[] = [];
    for (const name of order) {
      try {
        await tryBackend(name);
        return { name, tried };
      } catch (e) {
        tried.push({ name, error: e instanceof Error ? e.message : String(e) });
      }
    }
    current = undefined;
    throw new ConfigError(`no TF.js backend could start: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`, {
      field: 'SAS_TF_BACKEND',
      expected: order.join(' | '),
      got: choice,
    });
  })();
  return current;
}
