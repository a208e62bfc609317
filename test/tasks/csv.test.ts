// CSV replay: skip-and-count with line numbers, strict rejection, missing and empty files, formats.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, FileNotFoundError } from '../../src/common/errors.js';
import { buildPayloads, createTask, createWorkload, CsvWorkload, parseCsv, type WorkloadSpec } from '../../src/tasks/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sas-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string): string {
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
