// Reads a data file, mapping a missing or unreadable file to FileNotFoundError.
import { readFileSync } from 'node:fs';
import { FileNotFoundError } from '../../common/errors.js';

/** The UTF-8 text of `path`; FileNotFoundError (code FILE_NOT_FOUND) when it is absent or unreadable. */
export function readDataFile(path: string, what: string): string {
  return readDataBytes(path, what).toString('utf8');
}

/** The bytes of `path` (for readers that check the encoding); FileNotFoundError as `readDataFile`. */
export function readDataBytes(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || code === 'ENOTDIR') throw new FileNotFoundError(path, what);
    throw e;
  }
}
