// CSV datasets (`key,text` or `key,v1,v2,…`): parsing with skip-and-count or strict rejection, and the
// payload store that serves their rows.
import { DataError } from '../../common/errors.js';
import { tokenize, Vocabulary } from '../text/tokenize.js';
import type { PayloadStore } from '../types.js';
import { resolveUserPath } from './paths.js';
import { readDataBytes } from './read.js';

/**
 * Row format: `text` = `key,text` (the text is the rest of the record after the key field: its fields
 * joined by commas, each unquoted); `values` = `key,v1,v2,…`.
 */
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

/** The text of CSV bytes, and the 1-based lines that are not valid UTF-8 (ascending). */
export interface DecodedText {
  readonly text: string;
  readonly badLines: readonly number[];
}

const NEWLINE = 0x0a;

/**
 * Decodes UTF-8 `bytes` (a leading byte-order mark is dropped). Valid input decodes in one pass; on
 * invalid input each line (split at 0x0A, which never occurs inside a multi-byte sequence) is decoded
 * on its own, so the lines with invalid bytes are known: their text has U+FFFD in their place.
 */
export function decodeUtf8Lines(bytes: Uint8Array): DecodedText {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), badLines: [] };
  } catch {
    // invalid somewhere: find the lines
  }
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
  const parts: string[] = [];
  const badLines: number[] = [];
  let from = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let line = 1; from <= bytes.length; line++) {
    let to = bytes.indexOf(NEWLINE, from);
    if (to < 0) to = bytes.length;
    const seg = bytes.subarray(from, to);
    try {
      parts.push(strict.decode(seg));
    } catch {
      badLines.push(line);
      parts.push(lenient.decode(seg));
    }
    from = to + 1;
  }
  return { text: parts.join('\n'), badLines };
}

/** One record of a CSV text: its fields, or why it is malformed. */
export interface CsvRecord {
  /** 1-based line where the record starts. */
  readonly line: number;
  /** Lines the record spans (more than 1 when a quoted field holds line breaks). */
  readonly lines: number;
  /** The fields, unquoted (`""` → `"`). Empty when `error` is set. */
  readonly fields: readonly string[];
  /** True for a blank line (one unquoted field of only spaces and tabs): not a record. */
  readonly blank: boolean;
  /** Why the record is malformed: an unterminated quoted field, or text after a closing quote. */
  readonly error?: string;
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

/**
 * Splits CSV text into records (RFC 4180): fields separated by commas, records by `\n` or `\r\n`; a
 * field that starts with `"` (after optional spaces or tabs) is quoted and may hold commas, line
 * breaks and doubled quotes (`""` → `"`); spaces or tabs may follow its closing quote. Lenient where
 * RFC 4180 is silent: a quote inside an unquoted field is an ordinary character. A quoted field that
 * never closes, or is followed by other text, makes its record malformed (`error`); reading goes on
 * at the line after the record's first line, so one stray quote costs one line.
 */
export function* readCsvRecords(text: string): Generator<CsvRecord> {
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = i;
    const startLine = line;
    const fields: string[] = [];
    let error: string | undefined;
    let quotedAny = false;
    for (;;) {
      let j = i;
      while (j < n && (text.charCodeAt(j) === SPACE || text.charCodeAt(j) === TAB)) j++;
      if (j < n && text.charCodeAt(j) === QUOTE) {
        quotedAny = true;
        let value = '';
        let k = j + 1;
        let closed = false;
        for (;;) {
          const q = text.indexOf('"', k);
          if (q < 0) break;
          value += text.slice(k, q);
          if (q + 1 < n && text.charCodeAt(q + 1) === QUOTE) {
            value += '"';
            k = q + 2;
            continue;
          }
          k = q + 1;
          closed = true;
          break;
        }
        if (!closed) {
          error = 'unterminated quoted field';
          break;
        }
        while (k < n && (text.charCodeAt(k) === SPACE || text.charCodeAt(k) === TAB)) k++;
        const c = k < n ? text.charCodeAt(k) : -1;
        if (c === COMMA) {
          fields.push(value);
          i = k + 1;
          continue;
        }
        if (c === -1 || c === LF || (c === CR && (k + 1 === n || text.charCodeAt(k + 1) === LF))) {
          fields.push(value);
          i = c === -1 ? n : c === CR ? k + 2 : k + 1;
          break;
        }
        error = 'text after a closing quote';
        break;
      }
      let k = i;
      let c = -1;
      while (k < n) {
        c = text.charCodeAt(k);
        if (c === COMMA || c === LF) break;
        k++;
      }
      if (k < n && c === COMMA) {
        fields.push(text.slice(i, k));
        i = k + 1;
        continue;
      }
      // end of the record: a line break or the end of the text; a \r before it is the \r\n line end
      const last = k > i && text.charCodeAt(k - 1) === CR ? k - 1 : k;
      fields.push(text.slice(i, last));
      i = k < n ? k + 1 : n;
      break;
    }
    if (error !== undefined) {
      // Resume at the line after the record's first line.
      const nl = text.indexOf('\n', start);
      i = nl < 0 ? n : nl + 1;
      line = startLine + 1;
      yield { line: startLine, lines: 1, fields: [], blank: false, error };
      continue;
    }
    let breaks = 0;
    for (let p = text.indexOf('\n', start); p >= 0 && p < i; p = text.indexOf('\n', p + 1)) breaks++;
    const ended = i > start && text.charCodeAt(i - 1) === LF;
    const lines = Math.max(1, ended ? breaks : breaks + 1);
    line = startLine + breaks;
    const blank = !quotedAny && fields.length === 1 && fields[0].trim() === '';
    yield { line: startLine, lines, fields, blank };
  }
}

/**
 * Parses CSV `content` (from `file`, used in messages): a string, or bytes that must be UTF-8.
 * Records follow RFC 4180 (`readCsvRecords`: quoted fields with commas, line breaks and `""`); the
 * key is the first field, trimmed. Blank lines are ignored. A broken record (no comma, an empty key,
 * no value, a value that is not a finite number, a malformed quoted field, a line that is not valid
 * UTF-8) is skipped and recorded by its first line, or with `strict` rejected with a DataError whose
 * context has {file, line, reason}. An input without any valid record is a DataError (reason `empty`
 * when it has no non-blank line, else `no valid records`).
 */
export function parseCsv(content: string | Uint8Array, opts: Omit<CsvOptions, 'path'> & { file: string }): CsvData {
  const format = opts.format ?? 'text';
  const file = opts.file;
  const { text, badLines } = typeof content === 'string' ? { text: content, badLines: [] as readonly number[] } : decodeUtf8Lines(content);
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
  let bad = 0; // index of the first invalid-UTF-8 line not before the current record

  const skip = (line: number, reason: string): void => {
    if (opts.strict) throw new DataError(`${file}:${line}: ${reason}`, { file, line, reason });
    skippedCount++;
    if (skipped.length < MAX_LISTED_SKIPPED) skipped.push({ line, reason });
  };

  for (const rec of readCsvRecords(text)) {
    if (rec.blank) continue;
    nonBlank++;
    if (opts.header && nonBlank === 1) continue;
    const lineNo = rec.line;
    while (bad < badLines.length && badLines[bad] < lineNo) bad++;
    if (bad < badLines.length && badLines[bad] < lineNo + rec.lines) {
      skip(lineNo, badLines[bad] === lineNo ? 'invalid UTF-8' : `invalid UTF-8 (line ${badLines[bad]})`);
      continue;
    }
    if (rec.error !== undefined) {
      skip(lineNo, rec.error);
      continue;
    }
    const f = rec.fields;
    if (f.length < 2) {
      skip(lineNo, 'no comma: expected key,' + (format === 'text' ? 'text' : 'v1,v2,…'));
      continue;
    }
    const key = f[0].trim();
    if (key === '') {
      skip(lineNo, 'empty key');
      continue;
    }
    if (format === 'text') {
      sentences.push(vocab.internAll(tokenize(f.length === 2 ? f[1] : f.slice(1).join(','))));
    } else {
      const row = new Float64Array(f.length - 1);
      let broken: string | undefined;
      for (let j = 1; j < f.length; j++) {
        const v0 = f[j].trim();
        const v = v0 === '' ? NaN : Number(v0);
        if (!Number.isFinite(v)) {
          broken = `value ${j} ("${v0}") is not a finite number`;
          break;
        }
        row[j - 1] = v;
      }
      if (broken !== undefined) {
        skip(lineNo, broken);
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
    data = parseCsv(readDataBytes(path, 'CSV dataset'), { ...opts, file: opts.path });
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
