// Machine and code-version info stamped on every result so that a run can be reproduced.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../common/package-root.js';
import type { MachineInfo, VersionInfo } from './types.js';

/** Info about the current machine and Node.js runtime. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cpus: Math.max(1, cpus.length),
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
  };
}

export { packageRoot };

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return undefined; // no git, not a checkout, or git failed: the commit is simply unknown
  }
}

/**
 * The package version (package.json) and, when `root` is a git checkout, the commit (`git rev-parse
 * HEAD`) and whether the tree had uncommitted changes. `commit` and `dirty` are absent without git.
 */
export function versionInfo(root: string = packageRoot()): VersionInfo {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
  const info: VersionInfo = { package: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
  const head = git(['rev-parse', 'HEAD'], root)?.trim();
  if (head !== undefined && /^[0-9a-f]{40}$/.test(head)) {
    info.commit = head;
    const status = git(['status', '--porcelain', '--untracked-files=no'], root);
    if (status !== undefined) info.dirty = status.trim() !== '';
  }
  return info;
}
