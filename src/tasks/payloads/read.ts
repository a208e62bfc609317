// Reads a data file, mapping a missing or unreadable file to FileNotFoundError.
import { readFileSync } from 'node:fs';
import { FileNotFoundError } from '../../common/errors.js';

/** The UTF-8 text of `path`; FileNotFoundError (code FILE_NOT_FOUND) when it is absent or unreadable. */
export function readDataFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || code === 'ENOTDIR') throw new FileNotFoundError(path, what);
    throw e;
  }
}
