// CSV replay: skip-and-count with line numbers, strict rejection, missing and empty files, formats;
// RFC 4180 quoting (golden cases and a round trip through an independent writer) and invalid UTF-8.
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, FileNotFoundError } from '../../src/common/errors.js';
import { buildPayloads, createTask, createWorkload, CsvWorkload, parseCsv, type WorkloadSpec } from '../../src/tasks/index.js';
import { readCsvRecords, type CsvData } from '../../src/tasks/payloads/csv.js';
import { tokenize } from '../../src/tasks/text/tokenize.js';

const dir = mkdtempSync(join(tmpdir(), 'sas-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const TEXT_CSV = [
  'alice,The cat saw the cat', // 1
  'this line has no comma', //      2
  'bob,"a, quoted, text"', //        3
  ',empty key', //                   4
  '', //                             5 (blank: ignored)
  'alice,and the END', //            6
  'carol,', //                       7 (valid: no words)
].join('\r\n');

describe('csv workload (key,text)', () => {
  const path = file('text.csv', TEXT_CSV + '\n');
  const spec: WorkloadSpec = { name: 'csv', params: { path } };

  it('skips broken lines and reports them with their line numbers', () => {
    const store = buildPayloads({ name: 'wordcount' }, spec);
    const w = createWorkload(spec, store) as CsvWorkload;
    expect(w.skippedCount).toBe(2);
    expect(w.skipped.map((s) => s.line)).toEqual([2, 4]);
    expect(w.skipped[1].reason).toBe('empty key');
    expect(w.data.keyNames).toEqual(['alice', 'bob', 'carol']);
    expect(w.numKeys).toBe(3);
    expect(store.size).toBe(4);
    expect([...w.data.lineOf]).toEqual([1, 3, 6, 7]);
  });
  it('replays keys in file order with payload id = row index, looping by default', () => {
    const store = buildPayloads({ name: 'wordcount' }, spec);
    const w = createWorkload(spec, store);
    const keys = new Int32Array(12);
    const payloads = new Int32Array(12);
    expect(w.fill(keys, payloads, 2, 10, 0)).toBe(10);
    expect([...keys.slice(2)]).toEqual([0, 1, 0, 2, 0, 1, 0, 2, 0, 1]);
    expect([...payloads.slice(2)]).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    const wc = createTask({ name: 'wordcount' }, store);
    const p = wc.create();
    for (let i = 0; i < 4; i++) wc.add(p, 0, i);
    // the=0 cat=1 saw=2 a=3 quoted=4 text=5 and=6 end=7
    expect(wc.output(p)).toEqual([[0, 3], [1, 2], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1], [7, 1]]);
    expect(wc.cost(3)).toBe(0);
  });
  it('is finite with loop: false', () => {
    const finite: WorkloadSpec = { name: 'csv', params: { path, loop: false } };
    const w = createWorkload(finite, buildPayloads({ name: 'keyedcount' }, finite));
    const keys = new Int32Array(3);
    const payloads = new Int32Array(3);
    expect(w.fill(keys, payloads, 0, 3, 0)).toBe(3);
    expect(w.fill(keys, payloads, 0, 3, 0)).toBe(1);
    expect(w.fill(keys, payloads, 0, 3, 0)).toBe(0);
  });
  it('strict: rejects the first broken line with a DataError naming file:line', () => {
    const strict: WorkloadSpec = { name: 'csv', params: { path, strict: true } };
    let err: unknown;
    try {
      buildPayloads({ name: 'wordcount' }, strict);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).code).toBe('DATA_INVALID');
    expect((err as DataError).context).toMatchObject({ file: path, line: 2 });
  });
  it('a missing file is a FileNotFoundError; an empty file is a DataError', () => {
    expect(() => buildPayloads({ name: 'wordcount' }, { name: 'csv', params: { path: join(dir, 'nope.csv') } })).toThrow(FileNotFoundError);
    const empty = file('empty.csv', '\n  \n');
    expect(() => buildPayloads({ name: 'wordcount' }, { name: 'csv', params: { path: empty } })).toThrow(
      expect.objectContaining({ code: 'DATA_INVALID', context: expect.objectContaining({ reason: 'empty' }) }),
    );
    const broken = file('broken.csv', 'no comma here\n');
    expect(() => buildPayloads({ name: 'keyedcount' }, { name: 'csv', params: { path: broken } })).toThrow(DataError);
  });
  it('the task must match the CSV format', () => {
    expect(() => buildPayloads({ name: 'tdigest' }, spec)).toThrow(ConfigError);
    expect(() => buildPayloads({ name: 'tdigest' }, spec)).toThrow(expect.objectContaining({ context: expect.objectContaining({ field: 'workload.params.format' }) }));
  });
  it('the workload refuses a payload store of another source', () => {
    expect(() => createWorkload(spec, buildPayloads({ name: 'wordcount' }, { name: 'zipf' }))).toThrow(ConfigError);
  });
});

describe('csv workload (key,v1,v2,…)', () => {
  it('parses values, skips non-numeric rows, honours a header', () => {
    const path = file('values.csv', 'key,v1,v2\nk1,1,2.5\nk2,3,x\nk1,4\nk3,5,\n');
    const spec: WorkloadSpec = { name: 'csv', params: { path, format: 'values', header: true } };
    const store = buildPayloads({ name: 'tdigest' }, spec);
    const w = createWorkload(spec, store) as CsvWorkload;
    expect(store.size).toBe(2);
    expect([...store.values!(0)]).toEqual([1, 2.5]);
    expect([...store.values!(1)]).toEqual([4]);
    expect(w.skipped.map((s) => s.line)).toEqual([3, 5]);
    const td = createTask({ name: 'tdigest' }, store);
    expect(td.cost(0)).toBe(2);
    const p = td.create();
    td.add(p, 0, 0);
    td.add(p, 0, 1);
    expect((td.output(p) as { count: number }).count).toBe(3);
  });
  it('parseCsv lists at most MAX_LISTED_SKIPPED lines but counts all', () => {
    const lines = ['k,1'];
    for (let i = 0; i < 1500; i++) lines.push('bad');
    const d = parseCsv(lines.join('\n'), { file: 'mem.csv', format: 'values' });
    expect(d.skippedCount).toBe(1500);
    expect(d.skipped.length).toBe(1000);
    expect(d.skipped[999].line).toBe(1001);
  });
});

/** Each row's key name and words (text format). */
function rows(d: CsvData): Array<[string, string[]]> {
  return Array.from(d.keys, (k, i) => [d.keyNames[k], Array.from(d.sentences![i], (w) => d.vocabulary!.word(w)!)]);
}

/** The DataError `f` throws (fails the test when it throws nothing or something else). */
function dataError(f: () => unknown): DataError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('csv quoting (RFC 4180)', () => {
  it('golden: quoted keys with commas, doubled quotes, line breaks inside quotes, CRLF, spaces around quotes', () => {
    const text = [
      '"a,b",first text', //                  1
      '"say ""hi""","she said ""no"", twice"', // 2
      'k3,"two', //                            3
      'lines, one record"', //                 4
      '  "spaced" , after', //                 5
      'plain,unquoted "quotes" stay', //       6
      '"",no key', //                          7 (empty key)
      '"x"', //                                8 (no comma)
    ].join('\r\n');
    const d = parseCsv(text, { file: 'q.csv' });
    expect(rows(d)).toEqual([
      ['a,b', ['first', 'text']],
      ['say "hi"', ['she', 'said', 'no', 'twice']],
      ['k3', ['two', 'lines', 'one', 'record']],
      ['spaced', ['after']],
      ['plain', ['unquoted', 'quotes', 'stay']],
    ]);
    expect([...d.lineOf]).toEqual([1, 2, 3, 5, 6]);
    expect(d.skipped).toEqual([
      { line: 7, reason: 'empty key' },
      { line: 8, reason: 'no comma: expected key,text' },
    ]);
    expect([...readCsvRecords(text)].map((r) => [r.line, r.lines, r.fields])).toEqual([
      [1, 1, ['a,b', 'first text']],
      [2, 1, ['say "hi"', 'she said "no", twice']],
      [3, 2, ['k3', 'two\r\nlines, one record']],
      [5, 1, ['spaced', ' after']],
      [6, 1, ['plain', 'unquoted "quotes" stay']],
      [7, 1, ['', 'no key']],
      [8, 1, ['x']],
    ]);
  });

  it('golden: quoted values, a quoted empty last field', () => {
    const d = parseCsv('k,"1.5",2\n"k,2","3",""\n', { file: 'v.csv', format: 'values' });
    expect(d.keyNames).toEqual(['k']);
    expect([...d.values![0]]).toEqual([1.5, 2]);
    expect(d.skipped).toEqual([{ line: 2, reason: 'value 2 ("") is not a finite number' }]);
  });

  it('a quote that never closes, or text after a closing quote, breaks one line; reading resumes on the next', () => {
    const text = 'b,fine\n"c"d,after the quote\ne,"two\nlines" x\nf,last\na,"never closed\ng,after\n';
    const d = parseCsv(text, { file: 'bad.csv' });
    expect(rows(d).map(([k]) => k)).toEqual(['b', 'f', 'g']);
    expect([...d.lineOf]).toEqual([1, 5, 7]);
    // After the resync line 4 (`lines" x`) is read on its own: a quote inside an unquoted field is a character.
    expect(d.skipped).toEqual([
      { line: 2, reason: 'text after a closing quote' },
      { line: 3, reason: 'text after a closing quote' },
      { line: 4, reason: 'no comma: expected key,text' },
      { line: 6, reason: 'unterminated quoted field' },
    ]);
    expect(dataError(() => parseCsv(text, { file: 'bad.csv', strict: true })).context).toMatchObject({ file: 'bad.csv', line: 2, reason: 'text after a closing quote' });
    expect(dataError(() => parseCsv('a,1\nb,"open\n', { file: 'open.csv', strict: true })).context).toMatchObject({ line: 2, reason: 'unterminated quoted field' });
  });

  it('round trip: records written by an independent writer (quoting when needed or at random) read back equal, with their lines', () => {
    const alphabet = fc.constantFrom('a', 'b', 'Z', '0', ' ', '\t', ',', '"', '\n', '\r', 'é', '東', '😀', "'");
    const field = fc.string({ unit: alphabet, maxLength: 8 });
    const record = fc.array(fc.tuple(field, fc.boolean()), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 12 }), fc.boolean(), fc.boolean(), (recs, crlf, finalBreak) => {
        // The writer: RFC 4180 quoting; a field must be quoted when it holds a comma, quote, CR or LF,
        // and a record of one blank field must be quoted to stay a record.
        const eol = crlf ? '\r\n' : '\n';
        const lines = recs.map((r) =>
          r
            .map(([f, q]) => {
              const must = /[,"\r\n]/.test(f) || (r.length === 1 && f.trim() === '');
              return must || q ? `"${f.replace(/"/g, '""')}"` : f;
            })
            .join(','),
        );
        const text = lines.join(eol) + (finalBreak ? eol : '');
        const got = [...readCsvRecords(text)];
        expect(got.map((g) => g.fields)).toEqual(recs.map((r) => r.map(([f]) => f)));
        expect(got.every((g) => !g.blank && g.error === undefined)).toBe(true);
        // Each record starts one line after the line breaks before it.
        let line = 1;
        for (let i = 0; i < lines.length; i++) {
          expect(got[i].line).toBe(line);
          line += (lines[i].match(/\n/g)?.length ?? 0) + 1;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('round trip through parseCsv: key,text rows written quoted keep their key and words', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', ' ', ',', '"', '\n', 'é', '-');
    const key = fc.string({ unit: alphabet, minLength: 1, maxLength: 6 }).filter((k) => k.trim() !== '' && k === k.trim());
    const text = fc.string({ unit: alphabet, maxLength: 20 });
    const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
    fc.assert(
      fc.property(fc.array(fc.tuple(key, text), { minLength: 1, maxLength: 10 }), (rs) => {
        const d = parseCsv(rs.map(([k, t]) => `${q(k)},${q(t)}`).join('\n'), { file: 'p.csv', strict: true });
        expect(rows(d)).toEqual(rs.map(([k, t]) => [k, tokenize(t)]));
      }),
      { numRuns: 200 },
    );
  });
});

describe('csv encoding', () => {
  const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
  const content = Buffer.concat([Buffer.from('alice,caf'), latin1('\u00e9 au lait\n'), Buffer.from('bob,café crème\ncarol,"two\n'), latin1('ligne \u00e0 deux"\n'), Buffer.from('dave,the end\n')]);

  it('a line that is not UTF-8 is skipped and reported by line; the other rows are read intact', () => {
    const path = file('latin1.csv', content);
    const store = buildPayloads({ name: 'wordcount' }, { name: 'csv', params: { path } });
    const w = createWorkload({ name: 'csv', params: { path } }, store) as CsvWorkload;
    expect(rows(w.data)).toEqual([
      ['bob', ['café', 'crème']],
      ['dave', ['the', 'end']],
    ]);
    expect(w.skipped).toEqual([
      { line: 1, reason: 'invalid UTF-8' },
      { line: 3, reason: 'invalid UTF-8 (line 4)' },
    ]);
    expect(w.data.vocabulary!.lookup('\ufffd')).toBe(-1);
  });

  it('strict: the first line that is not UTF-8 is a DataError naming file and line', () => {
    const path = file('latin1-strict.csv', content);
    const e = dataError(() => buildPayloads({ name: 'wordcount' }, { name: 'csv', params: { path, strict: true } }));
    expect(e.code).toBe('DATA_INVALID');
    expect(e.context).toMatchObject({ file: path, line: 1, reason: 'invalid UTF-8' });
  });

  it('a UTF-8 byte-order mark is not part of the first key; valid multi-byte text decodes as is', () => {
    const d = parseCsv(Buffer.from('\ufeffkey,naïve 東京\n'), { file: 'bom.csv' });
    expect(rows(d)).toEqual([['key', ['naïve', '東京']]]);
  });
});
