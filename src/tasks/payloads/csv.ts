// CSV datasets (`key,text` or `key,v1,v2,…`): parsing with skip-and-count or strict rejection, and the
// payload store that serves their rows.
import { DataError } from '../../common/errors.js';
import { tokenize, Vocabulary } from '../text/tokenize.js';
import type { PayloadStore } from '../types.js';
import { resolveUserPath } from './paths.js';
import { readDataFile } from './read.js';

/** Row format: `text` = `key,text` (text is everything after the first comma); `values` = `key,v1,v2,…`. */
export type CsvFormat = 'text' | 'values';

/** One skipped line: 1-based line number in the file and why it was skipped. */
export interface SkippedLine {
  readonly line: number;
  readonly reason: string;
}

/** How to read a CSV dataset. */
export interface CsvOptions {
  path: string;
  /** Default `text`. */
  format?: CsvFormat;
  /** The first line is a header and is not a record (default false). */
  header?: boolean;
  /** Reject the file at the first broken line (DataError naming file:line) instead of skipping it (default false). */
  strict?: boolean;
}

/** At most this many skipped lines are listed in `skipped`; `skippedCount` counts them all. */
export const MAX_LISTED_SKIPPED = 1000;

/**
 * A parsed CSV dataset. Row `i` (payload id `i`) is the i-th valid line. String keys are interned to
 * dense ids in first-seen order: `keyNames[keys[i]]` is row i's key. Invariant: `rows > 0`, and
 * `keys[i]` is in [0, numKeys).
 */
export interface CsvData {
  readonly path: string;
  readonly format: CsvFormat;
  readonly rows: number;
  readonly numKeys: number;
  readonly keys: Int32Array;
  readonly keyNames: readonly string[];
  /** 1-based file line of each row. */
  readonly lineOf: Int32Array;
  /** `text` format: the words of each row's text (the whole text is one sentence, not split). */
  readonly sentences?: readonly Int32Array[];
  readonly vocabulary?: Vocabulary;
  /** `values` format: each row's values. */
  readonly values?: readonly Float64Array[];
  /** The first MAX_LISTED_SKIPPED skipped lines, in file order. */
  readonly skipped: readonly SkippedLine[];
  /** Number of skipped lines (blank lines are ignored, not skipped). */
  readonly skippedCount: number;
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/""/g, '"');
  return s;
}

/**
 * Parses CSV `content` (from `file`, used in messages). Blank lines are ignored. A broken line (no
 * comma, an empty key, no value, a value that is not a finite number) is skipped and recorded, or with
 * `strict` rejected with a DataError whose context has {file, line, reason}. An input without any
 * valid line is a DataError (reason `empty` when it has no non-blank line, else `no valid records`).
 */
export function parseCsv(content: string, opts: Omit<CsvOptions, 'path'> & { file: string }): CsvData {
  const format = opts.format ?? 'text';
  const file = opts.file;
  const lines = content.split('\n');
  const keyIds = new Map<string, number>();
  const keyNames: string[] = [];
  const keys: number[] = [];
  const lineOf: number[] = [];
  const sentences: Int32Array[] = [];
  const values: Float64Array[] = [];
  const vocab = new Vocabulary();
  const skipped: SkippedLine[] = [];
  let skippedCount = 0;
  let nonBlank = 0;

  const skip = (line: number, reason: string): void => {
    if (opts.strict) throw new DataError(`${file}:${line}: ${reason}`, { file, line, reason });
    skippedCount++;
    if (skipped.length < MAX_LISTED_SKIPPED) skipped.push({ line, reason });
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    nonBlank++;
    if (opts.header && nonBlank === 1) continue;
    const comma = line.indexOf(',');
    if (comma < 0) {
      skip(lineNo, 'no comma: expected key,' + (format === 'text' ? 'text' : 'v1,v2,…'));
      continue;
    }
    const key = unquote(line.slice(0, comma)).trim();
    if (key === '') {
      skip(lineNo, 'empty key');
      continue;
    }
    if (format === 'text') {
      sentences.push(vocab.internAll(tokenize(unquote(line.slice(comma + 1)))));
    } else {
      const parts = line.slice(comma + 1).split(',');
      const row = new Float64Array(parts.length);
      let bad: string | undefined;
      for (let j = 0; j < parts.length; j++) {
        const s = parts[j].trim();
        const v = s === '' ? NaN : Number(s);
        if (!Number.isFinite(v)) {
          bad = `value ${j + 1} ("${s}") is not a finite number`;
          break;
        }
        row[j] = v;
      }
      if (bad !== undefined) {
        skip(lineNo, bad);
        continue;
      }
      values.push(row);
    }
    let id = keyIds.get(key);
    if (id === undefined) {
      id = keyNames.length;
      keyIds.set(key, id);
      keyNames.push(key);
    }
    keys.push(id);
    lineOf.push(lineNo);
  }
  if (nonBlank === 0) throw new DataError(`${file} is empty`, { file, reason: 'empty' });
  if (keys.length === 0) {
    throw new DataError(`${file} has no valid record (${skippedCount} broken lines)`, { file, reason: 'no valid records', skipped });
  }
  return {
    path: file,
    format,
    rows: keys.length,
    numKeys: keyNames.length,
    keys: Int32Array.from(keys),
    keyNames,
    lineOf: Int32Array.from(lineOf),
    sentences: format === 'text' ? sentences : undefined,
    vocabulary: format === 'text' ? vocab : undefined,
    values: format === 'values' ? values : undefined,
    skipped,
    skippedCount,
  };
}

const cache = new Map<string, CsvData>();

/**
 * Reads and parses the CSV dataset of `opts`, once per thread (cached by path, format, header and
 * strict). FileNotFoundError when the file is missing; DataError as `parseCsv`.
 */
export function loadCsv(opts: CsvOptions): CsvData {
  const path = resolveUserPath(opts.path);
  const k = JSON.stringify([path, opts.format ?? 'text', !!opts.header, !!opts.strict]);
  let data = cache.get(k);
  if (!data) {
    data = parseCsv(readDataFile(path, 'CSV dataset'), { ...opts, file: opts.path });
    cache.set(k, data);
  }
  return data;
}

/**
 * The payload store of a CSV dataset: payload id = row index; `sentence` (text format) or `values`
 * (values format) return the row's data (shared arrays: callers must not modify them).
 */
export class CsvStore implements PayloadStore {
  readonly kind = 'csv' as const;
  readonly size: number;
  readonly sentence?: (id: number) => Int32Array;
  readonly values?: (id: number) => Float64Array;

  constructor(readonly data: CsvData) {
    this.size = data.rows;
    const s = data.sentences;
    const v = data.values;
    if (s) this.sentence = (id: number) => s[id];
    if (v) this.values = (id: number) => v[id];
  }
}
