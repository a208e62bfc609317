// Replacing an output folder safely: write beside it, rename into place, never delete what we did not write.
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, OutputError } from './errors.js';

/**
 * What a writer says about the folders it writes. `files` are every file name its folders may hold;
 * `recognize` says whether an existing folder is one of them (for example, a checkpoint's manifest has
 * the checkpoint format). A folder that fails either check is never replaced.
 */
export interface DirKind {
  /** A word for messages: `checkpoint`, `results`, `dataset`. */
  readonly name: string;
  /** Every file name (no folders) that a folder of this kind consists of. */
  readonly files: readonly string[];
  /** True when the existing folder `dir` is of this kind. */
  readonly recognize: (dir: string) => boolean;
}

/** Options of `replaceDir`. */
export interface ReplaceDirOptions {
  /** The config or CLI field the target came from, for messages (`--out`, `online.out`). */
  readonly field?: string;
}

let serial = 0;
function siblingName(target: string, tag: string): string {
  serial += 1;
  return path.join(path.dirname(target), `.${path.basename(target)}.${tag}-${process.pid}-${Date.now().toString(36)}-${serial}`);
}

/**
 * Checks that `target` may be replaced by a folder of `kind`, without touching anything: it is absent,
 * an empty folder, or a folder of that kind holding only that kind's files. Throws OutputError otherwise,
 * naming the path and what it holds.
 */
export function checkReplaceable(target: string, kind: DirKind, opts: ReplaceDirOptions = {}): void {
  const at = opts.field ? `${opts.field}: ` : '';
  let st;
  try {
    st = lstatSync(target);
  } catch {
    return; // absent: nothing to replace
  }
  if (!st.isDirectory()) {
    throw new OutputError(`${at}${target} is ${st.isSymbolicLink() ? 'a symbolic link' : 'a file'}, not a ${kind.name} folder; refusing to replace it`, {
      path: target,
      expected: `a ${kind.name} folder or a new path`,
      got: st.isSymbolicLink() ? 'symlink' : 'file',
      ...(opts.field ? { field: opts.field } : {}),
    });
  }
  const entries = readdirSync(target);
  if (entries.length === 0) return;
  const foreign = entries.filter((e) => !kind.files.includes(e) || !lstatSync(path.join(target, e)).isFile());
  if (!kind.recognize(target) || foreign.length > 0) {
    const what = foreign.length > 0 ? `it holds ${foreign.slice(0, 3).map((f) => JSON.stringify(f)).join(', ')}${foreign.length > 3 ? ', …' : ''}` : `it is not a ${kind.name}`;
    throw new OutputError(`${at}${target} is a folder that is not a ${kind.name} (${what}); refusing to replace it`, {
      path: target,
      expected: `a ${kind.name} folder or a new path`,
      got: 'folder of another kind',
      ...(opts.field ? { field: opts.field } : {}),
    });
  }
}

/**
 * Writes a folder of `kind` at `target`: `write` fills a new sibling folder, which is then renamed into
 * place. An existing target must pass `checkReplaceable` (checked before anything is written); it is
 * moved aside, the new folder renamed in, and then only the old folder's own files are removed. On a
 * failure in `write` the sibling is removed and the target is untouched.
 */
export function replaceDir<T>(target: string, kind: DirKind, write: (tmpDir: string) => T, opts: ReplaceDirOptions = {}): T {
  const dest = path.resolve(target);
  checkReplaceable(dest, kind, opts);
  mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = siblingName(dest, 'tmp');
  mkdirSync(tmp);
  let result: T;
  try {
    result = write(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(dest)) {
    renameSync(tmp, dest);
    return result;
  }
  // Re-check just before the swap: the target may have changed while `write` ran.
  try {
    checkReplaceable(dest, kind, opts);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = siblingName(dest, 'old');
  renameSync(dest, old);
  renameSync(tmp, dest);
  removeOwnFiles(old, kind);
  return result;
}

/** Removes the files of `kind` from `dir`, then `dir` itself if that left it empty. */
function removeOwnFiles(dir: string, kind: DirKind): void {
  for (const f of kind.files) {
    try {
      unlinkSync(path.join(dir, f));
    } catch {
      // absent
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // not empty: something appeared that we did not write; leave it
  }
}

/** Names that a client or config may give a folder under a root: letters, digits, `_`, `.`, `-`, not only dots. */
export const SAFE_NAME = /^(?!\.+$)[A-Za-z0-9_.-]{1,64}$/;

/**
 * The path of `name` confined to `root`: `name` must match SAFE_NAME (so never `.`, `..`, a separator
 * or an absolute path), and the result must lie strictly inside `root`. Throws ConfigError otherwise.
 */
export function confinedPath(root: string, name: string, field = 'name'): string {
  if (!SAFE_NAME.test(name)) throw new ConfigError(`${field}: ${JSON.stringify(name)} is not a safe name (1-64 of A-Z a-z 0-9 _ . -, not only dots)`, { field, expected: SAFE_NAME.source, got: name });
  const base = path.resolve(root);
  const p = path.resolve(base, name);
  const rel = path.relative(base, p);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel) || rel.includes(path.sep)) {
    throw new ConfigError(`${field}: ${JSON.stringify(name)} leaves ${root}`, { field, expected: 'a name inside the folder', got: name });
  }
  return p;
}
