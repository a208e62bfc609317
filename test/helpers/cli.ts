// Runs the compiled CLI (`bin/sas`, which loads dist/) as its own process, for tests that need it async.
import { spawn } from 'node:child_process';
import path from 'node:path';

/** The repository root. */
export const repoRoot = new URL('../..', import.meta.url).pathname;

/** `bin/sas args…` in the repository root, KAFKA_BROKERS unset unless `env` sets it; resolves with exit code and output. */
export function sasAsync(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/sas'), ...args], { cwd: repoRoot, env: { ...process.env, KAFKA_BROKERS: undefined, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
