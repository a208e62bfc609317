// Report end to end: hand-computed tables, self-contained HTML, CSV, byte-identical rebuild, validation errors.
import { mkdtemp, readFile, rm, writeFile, copyFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, SasError } from '../../src/common/errors.js';
import { CSV_COLUMNS, chartSpecs, loadResults, parseCompareResults, rebuildReport, summarize, writeReport } from '../../src/report/index.js';
import type { CompareResults } from '../../src/report/index.js';
import { syntheticResults } from './fixture.js';

let dir: string;
const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), 'sas-report-'));

beforeAll(async () => {
  dir = await tmp();
  await writeReport(syntheticResults(), dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The rows of the Markdown table under heading `### workload` inside section `## setting`. */
function mdTable(md: string, setting: string, workload: string): Map<string, string[]> {
  const section = md.split('\n## ').find((s) => s.startsWith(setting));
  expect(section, `section ${setting}`).toBeDefined();
  const sub = section!.split('\n### ').find((s) => s.startsWith(workload));
  expect(sub, `workload ${workload}`).toBeDefined();
  const rows = sub!
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| partitioner'))
    .map((l) => l.slice(2, -2).split(' | '));
  return new Map(rows.map((r) => [r[0], r]));
}

describe('report.md', () => {
  it('old results without cells: throughput ÷ the old uniform-runs ideal and ÷ hash, as computed by hand, and the report says so', async () => {
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    // Ideal of word-count: mean over the 6 uniform runs = (1100·2 + 1000·2 + 880 + 920) / 6 = 1000.
    expect(md).toContain('Ideal: 1000 rec/s by the old rule, the mean of 6 `uniform` run(s) (measure max): this results file has no `cells`, so it is not the physical limit.');
    expect(md).toContain('> This results file has no `cells`');
    const zipf = mdTable(md, 'word-count', 'zipf');
    // columns: partitioner, runs, throughput, sd, measure, vs ideal, vs hash, imbalance, p99, replication
    // hash: (400 + 500)/2 = 450, sd = √(2·50²/1) = 70.7; 450/1000; p99 = 12 (the other rep has none).
    expect(zipf.get('hash')).toEqual(['hash', '2', '450', '71', 'max', '0.450', '1.000', '0.900', '12.0', '1.000']);
    // pkg: 750; 750/450 = 1.6667; imbalance (0.3+0.2)/2; p99 (7+9)/2; replication (1.5+1.7)/2.
    expect(zipf.get('pkg')).toEqual(['pkg', '2', '750', '71', 'max', '0.750', '1.667', '0.250', '8.0', '1.600']);
    expect(zipf.get('shuffle')).toEqual(['shuffle', '2', '900', '0', 'max', '0.900', '2.000', '0.030', '10.0', '4.000']);
    expect([...zipf.keys()]).toEqual(['hash', 'pkg', 'shuffle']);

    const uniform = mdTable(md, 'word-count', 'uniform');
    // uniform itself: hash 1100 → 1.1 of the ideal; shuffle (880+920)/2 = 900 → 900/1100 = 0.818 of hash.
    expect(uniform.get('hash')!.slice(2, 7)).toEqual(['1100', '0', 'max', '1.100', '1.000']);
    expect(uniform.get('shuffle')!.slice(2, 7)).toEqual(['900', '28', 'max', '0.900', '0.818']);
  });

  it('falls back to sustained throughput and shows n/a without uniform or hash runs', async () => {
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    const tdigest = mdTable(md, 't-digest', 'zipf');
    expect(tdigest.get('pkg')).toEqual(['pkg', '1', '640', '0', 'sustained', 'n/a', 'n/a', '0.250', 'n/a', '1.500']);
    expect(tdigest.get('shuffle')!.slice(2, 7)).toEqual(['720', '0', 'sustained', 'n/a', 'n/a']);
    const section = md.split('\n## ').find((s) => s.startsWith('t-digest'))!;
    expect(section).toContain('Ideal: n/a');
  });

  it('has config, version and machine blocks and one runs-table line per run', async () => {
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('"repetitions": 2');
    expect(md).toContain('| 0.1.0 | ' + 'a'.repeat(40) + ' | no |');
    expect(md).toContain('| Test CPU, 2 cores | 2 | 8.0 | v20.0.0 | linux | x64 |');
    const runsSection = md.split('\n## ').find((s) => s.startsWith('Runs'))!;
    expect(runsSection.split('\n').filter((l) => l.startsWith('| run-'))).toHaveLength(14);
  });
});

describe('summarize', () => {
  it('groups by task/P/clock then workload, and averages timelines per tMs for the charts', () => {
    const s = summarize(syntheticResults());
    expect(s.settings.map((x) => [x.task.name, x.idealRule, x.workloads.map((w) => w.ideal?.throughput ?? null)])).toEqual([
      ['word-count', 'uniform-runs', [1000, 1000]],
      ['t-digest', 'uniform-runs', [null]],
    ]);
    expect(s.partitioners).toEqual(['hash', 'pkg', 'shuffle']);
    type Point = { panel: string; kind: string; t: number; value?: number; lo?: number; hi?: number };
    const points = (id: string): Point[] => (chartSpecs(s).find((c) => c.id === id)!.spec as { data: { values: Point[] } }).data.values;
    const imb = points('s0-w1-imbalance');
    const hash = imb.filter((v) => v.panel === 'hash' && v.kind === 'line');
    // hash on zipf: reps with imbalance 0.8 and 1.0, timeline imb + 0.1·k → means 0.9, 1.0, 1.1.
    expect(hash.map((v) => v.t)).toEqual([0, 1, 2]);
    hash.forEach((v, k) => expect(v.value).toBeCloseTo(0.9 + 0.1 * k, 12));
    // The grey band of every panel spans all partitioners at each t: shuffle's 0.03 (+0.1·k) to hash's.
    const band = imb.filter((v) => v.panel === 'pkg' && v.kind === 'band');
    expect(band.map((v) => v.t)).toEqual([0, 1, 2]);
    band.forEach((v, k) => {
      expect(v.lo).toBeCloseTo(0.03 + 0.1 * k, 12);
      expect(v.hi).toBeCloseTo(0.9 + 0.1 * k, 12);
    });
    const p99hash = points('s0-w1-p99').filter((v) => v.panel === 'hash' && v.kind === 'line');
    // Only rep 0 has a p99 (12 + k), and never in the middle slide: points at t = 0 and 2.
    expect(p99hash.map((v) => [v.t, v.value])).toEqual([
      [0, 12],
      [2, 14],
    ]);
  });
});

describe('report.html', () => {
  it('has one inline <svg> per chart and is self-contained', async () => {
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    // 2 settings: (2 bar charts + 2 workloads × 2 line charts) + (2 bar charts + 1 workload × 2) = 10.
    const expected = chartSpecs(summarize(syntheticResults()));
    expect(expected).toHaveLength(10);
    expect(html.match(/<svg\b/g)).toHaveLength(10);
    expect(html.match(/<\/svg>/g)).toHaveLength(10);
    for (const c of expected) expect(html.split(`<figure id="${c.id}">`)).toHaveLength(2);

    // No URL anywhere except the SVG namespace declarations.
    const xmlns = /\sxmlns(:[a-z]+)?="http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)"/g;
    expect(html.match(xmlns)!.length).toBeGreaterThanOrEqual(10);
    const stripped = html.replace(xmlns, '');
    expect(stripped).not.toMatch(/https?:\/\//i);
    expect(stripped).not.toMatch(/\/\/[a-z0-9.-]+\.[a-z]{2,}\//i); // protocol-relative URLs
    expect(html).not.toMatch(/<script|<link|<iframe|<img|\ssrc=|@import/i);
    // Only in-document references (#id) in href / url().
    for (const m of html.matchAll(/(?:href="|url\()([^")]*)/g)) expect(m[1].startsWith('#')).toBe(true);
    // SVG-internal ids are unique across the page (several charts share one document).
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('escapes user text', async () => {
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('a, \\&quot;quoted\\&quot; | piped value');
  });
});

describe('results.csv', () => {
  it('has the documented header and one row per run', async () => {
    const csv = await readFile(join(dir, 'results.csv'), 'utf8');
    const lines = csv.split('\n');
    expect(lines.pop()).toBe(''); // ends with a newline
    expect(lines).toHaveLength(1 + 14);
    expect(lines[0]).toBe(CSV_COLUMNS.map(([n]) => n).join(','));
    expect(lines[0].startsWith('id,partitioner,workload,workload_params,task,task_params,clock,P,seed,repetition,max_throughput,')).toBe(
      true,
    );
    // run-7: hash on zipf, rep 1: max 500, no p99 (empty), quoted JSON params and cpu model.
    const run7 = lines.find((l) => l.startsWith('run-7,'))!;
    expect(run7).toContain(',zipf,"{""numKeys"":1000,""s"":1.5}",word-count,');
    expect(run7).toContain(',virtual,4,101,1,500,350,,,1,0.5,1,1,10;20;30;40,');
    expect(run7).toContain(',"Test CPU, 2 cores",');
    // t-digest runs have no ramp: max_throughput empty.
    expect(lines.find((l) => l.startsWith('run-12,'))).toContain(',virtual,4,100,0,,640,');
  });
});

describe('rebuildReport', () => {
  it('reproduces byte-identical csv and md (and html) from results.json alone', async () => {
    const other = await tmp();
    try {
      await copyFile(join(dir, 'results.json'), join(other, 'results.json'));
      await rebuildReport(other);
      expect((await readdir(other)).sort()).toEqual(['report.html', 'report.md', 'results.csv', 'results.json']);
      for (const f of ['results.csv', 'report.md', 'report.html']) {
        expect(await readFile(join(other, f), 'utf8'), f).toBe(await readFile(join(dir, f), 'utf8'));
      }
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('saved results.json round-trips to the same CompareResults', async () => {
    expect(await loadResults(join(dir, 'results.json'))).toEqual(syntheticResults());
  });
});

function catchSync(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('validation', () => {
  async function withResults(value: unknown, f: (d: string) => Promise<void>): Promise<void> {
    const d = await tmp();
    try {
      await writeFile(join(d, 'results.json'), typeof value === 'string' ? value : JSON.stringify(value));
      await f(d);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  }

  it('a bad results.json names the file and the field', async () => {
    const bad = syntheticResults() as unknown as { runs: { summary: Record<string, unknown> }[] };
    bad.runs[3].summary.latencyP99Ms = 'fast';
    await withResults(bad, async (d) => {
      const err = await rebuildReport(d).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('CONFIG_INVALID');
      expect((err as ConfigError).context.field).toBe('runs.3.summary.latencyP99Ms');
      expect((err as ConfigError).context.file).toBe(join(d, 'results.json'));
      expect(await readdir(d)).toEqual(['results.json']); // nothing written
    });
  });

  it('checks perWorkerLoad length against P, unique ids, ISO timestamps, sorted timeline, unknown keys', () => {
    const cases: [(r: CompareResults) => void, string][] = [
      [(r) => void r.runs[2].summary.perWorkerLoad.pop(), 'runs.2.summary.perWorkerLoad'],
      [(r) => void (r.runs[5].id = 'run-1'), 'runs.5.id'],
      [(r) => void (r.runs[0].startedAt = 'yesterday'), 'runs.0.startedAt'],
      [(r) => void (r.runs[1].timeline[2].tMs = 500), 'runs.1.timeline.2.tMs'],
      [(r) => void ((r.runs[0] as unknown as Record<string, unknown>).extra = 1), 'runs.0'],
    ];
    for (const [mutate, field] of cases) {
      const r = syntheticResults();
      mutate(r);
      const err = catchSync(() => parseCompareResults(r));
      expect(err, field).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).context.field, field).toBe(field);
    }
    expect(parseCompareResults(syntheticResults())).toEqual(syntheticResults());
  });

  it('an empty run list is rejected with a clear error on runs', async () => {
    const empty = { ...syntheticResults(), runs: [] };
    const out = join(await tmp(), 'out');
    const err = await writeReport(empty, out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).context.field).toBe('runs');
    expect((err as ConfigError).message).toContain('runs');
    await expect(readdir(out)).rejects.toThrow(); // the output directory was not created
    await withResults(empty, async (d) => {
      await expect(rebuildReport(d)).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'runs' } });
    });
  });

  it('missing and non-JSON results files have their own codes', async () => {
    const d = await tmp();
    try {
      await expect(rebuildReport(d)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
      await writeFile(join(d, 'results.json'), '{"runs": [');
      const err = await rebuildReport(d).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SasError);
      expect((err as SasError).code).toBe('CONFIG_PARSE');
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
