import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadJobConfig } from '../../src/engine/config.js';
import { SasError } from '../../src/common/errors.js';
import { runCommand } from '../../src/cli/run.js';

const root = new URL('../..', import.meta.url).pathname;
const sas = (args: string[], cwd = root) => spawnSync(process.execPath, [join(root, 'bin/sas'), ...args], { cwd, encoding: 'utf8' });
const tmp = () => mkdtempSync(join(tmpdir(), 'sas-cli-'));

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof SasError ? e.code : 'not-sas';
  }
  return undefined;
}

describe('config validation', () => {
  it('defaults fill every field', () => {
    const c = loadJobConfig(undefined);
    expect(c.workers).toBe(64);
    expect(c.partitioner.name).toBe('hash');
    expect(c.source.rate).toBe(100000);
  });
  it('rejects unknown fields, wrong types, P = 0 and negative rates naming the field', () => {
    const cases: Array<[string[], string]> = [
      [['workers=0'], 'workers'],
      [['source.rate=-5'], 'source.rate'],
      [['bogus=1'], '(root)'],
      [['workers=abc'], 'workers'],
      [['window.sizeMs=1500'], 'window.sizeMs'],
      [['threadYoungGenMb=0'], 'threadYoungGenMb'],
      [['threadYoungGenMb=1.5'], 'threadYoungGenMb'],
    ];
    for (const [sets, field] of cases) {
      try {
        loadJobConfig(undefined, sets);
        expect.unreachable(sets.join());
      } catch (e) {
        expect((e as SasError).code).toBe('CONFIG_INVALID');
        expect((e as Error).message).toContain(field);
      }
    }
  });
  it('malformed YAML is CONFIG_PARSE with a line number; a missing file is FILE_NOT_FOUND', () => {
    const d = tmp();
    writeFileSync(join(d, 'bad.yaml'), 'workers: 4\nsource: [unclosed\n');
    expect(codeOf(() => loadJobConfig(join(d, 'bad.yaml')))).toBe('CONFIG_PARSE');
    expect(codeOf(() => loadJobConfig(join(d, 'none.yaml')))).toBe('FILE_NOT_FOUND');
  });
});

describe('sas run (real process)', () => {
  it('an unknown partitioner exits 2, lists the valid names and writes nothing', () => {
    const out = tmp();
    const r = sas(['run', '-q', '--partitioner', 'nope', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('UNKNOWN_NAME');
    expect(r.stderr).toContain('hash, shuffle');
    expect(r.stderr).not.toContain('    at ');
    expect(readdirSync(out)).toEqual([]);
  });
  it('unknown workload and task list the valid ones; a bad partitioner parameter names the field', () => {
    const w = sas(['run', '-q', '--no-write', '--set', 'workload.name=nope']);
    expect(w.status).toBe(2);
    expect(w.stderr).toContain('zipf');
    const t = sas(['run', '-q', '--no-write', '--set', 'task.name=nope']);
    expect(t.status).toBe(2);
    expect(t.stderr).toContain('wordcount');
    const p = sas(['run', '-q', '--no-write', '--set', 'partitioner.params.seed=x']);
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('partitioner.params.seed');
  });
  it('a missing CSV data file exits 2 and leaves no results folder', () => {
    const out = tmp();
    const r = sas(['run', '-q', '--out', out, '--set', 'workload.name=csv', '--set', 'workload.params.path=/no/such.csv']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('FILE_NOT_FOUND');
    expect(readdirSync(out)).toEqual([]);
  });
  it('broken CSV lines are skipped and reported with line numbers; strict rejects them', () => {
    const d = tmp();
    const f = join(d, 't.csv');
    writeFileSync(f, 'a,hello world\nno-comma-here\nb,foo bar\n,empty key\nc,baz\n');
    const ok = sas(['run', '--no-write', '--set', 'workload.name=csv', '--set', `workload.params.path=${f}`, '--set', 'durationMs=1000', '--set', 'workers=2']);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain('2 broken CSV line(s) skipped: 2 (');
    expect(ok.stderr).toContain(', 4 (');
    const strict = sas(['run', '-q', '--no-write', '--set', 'workload.name=csv', '--set', `workload.params.path=${f}`, '--set', 'workload.params.strict=true']);
    expect(strict.status).toBe(2);
    expect(strict.stderr).toContain('DATA_INVALID');
    expect(strict.stderr).toContain('t.csv:2');
  });
  it('a short run writes config.json, one metrics line per slide and summary.json', async () => {
    const out = tmp();
    const cfg = loadJobConfig(join(root, 'params/default.yaml'), ['durationMs=4000', `output.dir=${out}`, 'output.name=t1', 'workers=8', 'source.rate=20000']);
    const { result, dir } = await runCommand(cfg, { quiet: true });
    expect(dir).toBe(join(out, 't1'));
    const lines = readFileSync(join(out, 't1', 'metrics.jsonl'), 'utf8').trim().split('\n');
    const slides = lines.map((l) => JSON.parse(l).slideIndex);
    expect(slides).toEqual(slides.map((_, i) => i));
    expect(slides.length).toBeGreaterThanOrEqual(4);
    expect(JSON.parse(readFileSync(join(out, 't1', 'summary.json'), 'utf8')).summary.perWorkerLoad).toHaveLength(8);
    expect(existsSync(join(out, 't1', 'config.json'))).toBe(true);
    expect(result.summary.sustainedThroughput).toBeGreaterThan(0);
  });
});

describe('sas stress and sas max-throughput (real process)', () => {
  it('stress logs one line per slide with every worker idle time, and the usual metrics', () => {
    const out = tmp();
    const r = sas(['stress', '-q', '--set', 'durationMs=4000', '--set', 'workers=8', '--set', `output.dir=${out}`, '--set', 'output.name=s1', '--set', 'workload.params.shiftIntervalMs=2000']);
    expect(r.status).toBe(0);
    const lines = readFileSync(join(out, 's1', 'stress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.slide)).toEqual(lines.map((_, i) => i));
    for (const l of lines) {
      expect(l.idleMs).toHaveLength(8);
      expect(l.rssBytes).toBeGreaterThan(0);
    }
    const metrics = readFileSync(join(out, 's1', 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics).toHaveLength(lines.length);
  });
  it('max-throughput reports every listed partitioner; hash below w-choices on a skewed stream', () => {
    const r = sas(['max-throughput', '-q', '--json', '-p', 'hash,w-choices', '--set', 'task.name=keyedcount', '--set', 'workers=4', '--set', 'capacity=10000', '--set', 'workload.params.numKeys=1000', '--set', 'ramp.initialRate=2000', '--set', 'ramp.rateStep=500', '--set', 'ramp.stepDivisor=2', '--set', 'ramp.maxStep=20000', '--set', 'ramp.intervalMs=2000']);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ partitioner: string; maxThroughput: number; backpressured: boolean }>;
    expect(rows.map((x) => x.partitioner)).toEqual(['hash', 'w-choices']);
    expect(rows.every((x) => x.backpressured)).toBe(true);
    expect(rows[0].maxThroughput).toBeLessThan(rows[1].maxThroughput);
    // 4 workers × 10000 units/s with keyed count (1 unit/record) bounds every partitioner.
    expect(rows[1].maxThroughput).toBeLessThanOrEqual(40_000 / 0.98 + 500);
  });
});
