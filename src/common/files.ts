// Files the user named: a failed read or write becomes a SasError naming the path and what is wrong with it.
import { readFileSync } from 'node:fs';
import { FileNotFoundError, OutputError, SasError } from './errors.js';

/** What an errno means for a path, in words; undefined for codes that say nothing about the path. */
function reasonOf(errno: string | undefined): string | undefined {
  switch (errno) {
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be accessed (permission denied)';
    case 'ENOTDIR':
      return 'has a file where a folder belongs in its path';
    case 'ELOOP':
      return 'has too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'is too long a name';
    case 'ENOSPC':
      return 'cannot be written: no space left on the device';
    case 'EDQUOT':
      return 'cannot be written: disk quota exceeded';
    case 'EROFS':
      return 'is on a read-only file system';
    case 'EIO':
      return 'cannot be written: input/output error';
    case 'EMFILE':
    case 'ENFILE':
      return 'cannot be opened: too many open files';
    default:
      return undefined;
  }
}

/** The errno code of a Node file-system error (`ENOENT`, `EISDIR`, …), or undefined. */
export function errnoOf(e: unknown): string | undefined {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' && /^E[A-Z0-9]+$/.test(c) ? c : undefined;
}

/**
 * A read of `path` (a `what`: "config file", "results file") failed with `e`: FileNotFoundError when it
 * is absent, SasError FILE_NOT_FOUND naming the path and the reason for another errno (a folder, no
 * permission, …), `e` itself when it is not a file-system error.
 */
export function readErrorOf(e: unknown, path: string, what: string): unknown {
  const errno = errnoOf(e);
  if (errno === 'ENOENT') return new FileNotFoundError(path, what);
  const reason = reasonOf(errno);
  if (!reason) return e;
  return new SasError('FILE_NOT_FOUND', `${what} ${path} ${reason} (${errno})`, { context: { path, what, errno }, cause: e });
}

/**
 * A write into `path` failed with `e`: OutputError (OUTPUT_INVALID) naming the path, the reason and
 * `field` (the option the path came from), or `e` itself when it is not a file-system error.
 */
export function writeErrorOf(e: unknown, path: string, field?: string): unknown {
  const errno = errnoOf(e);
  if (!errno) return e;
  const reason = errno === 'ENOENT' ? 'cannot be written: a folder of its path is missing' : (reasonOf(errno) ?? `cannot be written: ${(e as Error).message}`);
  return new OutputError(`${field ? `${field}: ` : ''}${path} ${reason} (${errno})`, { path, got: errno, ...(field ? { field } : {}) });
}

/** The UTF-8 text of `path`; FILE_NOT_FOUND naming the path when it is absent, a folder or unreadable. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw readErrorOf(e, path, what);
  }
}
