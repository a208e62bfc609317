// The report's answer: ideal from results.cells, the heat map's cells and the best-partitioner lines, by hand.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartSpecs, heatmapCells, renderMarkdown, summarize, verdictText, writeReport } from '../../src/report/index.js';
import type { CompareResults } from '../../src/report/index.js';
import { syntheticResults, syntheticResultsWithCells } from './fixture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sas-answer-'));
  await writeReport(syntheticResultsWithCells(), dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The heat map as `{ partitioner: { column: [value, best] } }`, values rounded to 6 decimals. */
function grid(results: CompareResults, setting = 0): Record<string, Record<string, [number | null, boolean]>> {
  const out: Record<string, Record<string, [number | null, boolean]>> = {};
  for (const c of heatmapCells(summarize(results).settings[setting])) {
    (out[c.partitioner] ??= {})[c.column] = [c.value === null ? null : Math.round(c.value * 1e6) / 1e6, c.best];
  }
  return out;
}

describe('ideal from results.cells', () => {
  it('each workload is divided by its own cell, not by the uniform runs', () => {
    const s = summarize(syntheticResultsWithCells());
    const wc = s.settings[0];
    expect(wc.idealRule).toBe('physical');
    expect(wc.workloads.map((w) => [w.label, w.ideal])).toEqual([
      ['uniform', { kind: 'physical', throughput: 1250, bound: 'workers', emitShare: 0.2 }],
      ['zipf-1.5', { kind: 'physical', throughput: 1000, bound: 'reducers', emitShare: 0.1 }],
    ]);
    // hash on uniform: 1100 / 1250 (the old rule gave 1100 / 1000 = 1.1).
    expect(wc.workloads[0].rows.find((r) => r.partitioner === 'hash')!.relIdeal).toBeCloseTo(0.88, 12);
    // t-digest: the cell's capacity is unlimited, so no ÷ ideal.
    expect(s.settings[1].workloads[0].rows.map((r) => r.relIdeal)).toEqual([null, null]);
  });

  it('a workload without a cell has no ideal (never the uniform fallback)', () => {
    const r = syntheticResultsWithCells();
    r.cells = r.cells!.filter((c) => c.workload !== 'zipf-1.5' || c.task !== 'word-count');
    const wc = summarize(r).settings[0];
    expect(wc.workloads.map((w) => w.ideal?.throughput ?? null)).toEqual([1250, null]);
    expect(renderMarkdown(r)).toContain('Ideal: n/a (results.json has no cell for this workload, so there is no ÷ ideal).');
  });

  it('report.md prints the ideal of each workload and what binds', async () => {
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain(
      'Ideal: 1250 rec/s, the physical limit of this cluster (the workers’ capacity binds; emitting partials takes 20 % of the workers’ capacity at that rate).',
    );
    expect(md).toContain('Ideal: 1000 rec/s, the physical limit of this cluster (the reducers’ capacity binds;');
    expect(md).toContain('Ideal: n/a: the simulated cluster\u2019s capacity is unlimited, so there is no physical limit to compare to.');
    expect(md).not.toContain('old rule');
    // The table's ÷ ideal column: hash 0.880 on uniform, 0.450 on zipf-1.5.
    expect(md).toContain('| hash | 2 | 1100 | 0 | max | 0.880 | 1.000 |');
    expect(md).toContain('| hash | 2 | 450 | 71 | max | 0.450 | 1.000 |');
  });
});

describe('every max throughput gets a ÷ ideal', () => {
  it('in the runs table and in results.csv (from the cells; empty without one)', async () => {
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    // run-0: hash on uniform, 1100 / 1250; run-12: t-digest, unlimited capacity.
    expect(md).toMatch(/\| run-0 \| hash \| uniform\(numKeys=1000\) \|.*\| 1100 \| max \| 0\.880 \|/);
    expect(md).toMatch(/\| run-12 \| pkg \|.*\| 640 \| sustained \| n\/a \|/);
    const csv = (await readFile(join(dir, 'results.csv'), 'utf8')).split('\n');
    const header = csv[0].split(',');
    expect(header.slice(-3)).toEqual(['workload_label', 'ideal', 'max_throughput_over_ideal']);
    expect(csv.find((l) => l.startsWith('run-0,'))!.endsWith(',uniform,1250,0.88')).toBe(true);
    expect(csv.find((l) => l.startsWith('run-7,'))!.endsWith(',zipf-1.5,1000,0.5')).toBe(true);
    expect(csv.find((l) => l.startsWith('run-12,'))!.endsWith(',zipf-1.5,,')).toBe(true);
  });
});

describe('heat map', () => {
  it('cells = max throughput ÷ ideal per partitioner × workload, rows by mean, best per column', () => {
    const s = summarize(syntheticResultsWithCells()).settings[0];
    expect(s.ranking).toEqual(['shuffle', 'pkg', 'hash']); // means 0.81, 0.775, 0.665
    expect(grid(syntheticResultsWithCells())).toEqual({
      shuffle: { uniform: [0.72, false], 'zipf-1.5': [0.9, true], mean: [0.81, true] },
      pkg: { uniform: [0.8, false], 'zipf-1.5': [0.75, false], mean: [0.775, false] },
      hash: { uniform: [0.88, true], 'zipf-1.5': [0.45, false], mean: [0.665, false] },
    });
    // Order: row by row in ranking order, workloads then the mean.
    expect(heatmapCells(s).map((c) => `${c.partitioner}/${c.column}`).slice(0, 4)).toEqual(['shuffle/uniform', 'shuffle/zipf-1.5', 'shuffle/mean', 'pkg/uniform']);
  });

  it('a setting without ideals is all n/a and has no best', () => {
    expect(grid(syntheticResultsWithCells(), 1)).toEqual({
      pkg: { 'zipf-1.5': [null, false], mean: [null, false] },
      shuffle: { 'zipf-1.5': [null, false], mean: [null, false] },
    });
  });

  it('old results (no cells) use the uniform-runs ideal of the setting', () => {
    // ideal 1000: uniform hash 1.1, pkg 1.0, shuffle 0.9; zipf hash 0.45, pkg 0.75, shuffle 0.9.
    // Runs without workloadLabel are labelled by name and params.
    const [u, z] = ['uniform(numKeys=1000)', 'zipf(numKeys=1000, s=1.5)'];
    expect(grid(syntheticResults())).toEqual({
      pkg: { [u]: [1, false], [z]: [0.75, false], mean: [0.875, false] },
      shuffle: { [u]: [0.9, false], [z]: [0.9, true], mean: [0.9, true] },
      hash: { [u]: [1.1, true], [z]: [0.45, false], mean: [0.775, false] },
    });
    expect(summarize(syntheticResults()).settings[0].ranking).toEqual(['shuffle', 'pkg', 'hash']);
  });

  it('report.md leads with it: the heat map table, best in bold, before the detailed tables', async () => {
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    const answer = md.indexOf('## The answer');
    expect(answer).toBeGreaterThan(0);
    expect(answer).toBeLessThan(md.indexOf('## How to read the tables'));
    expect(md).toContain(
      [
        '| partitioner | uniform | zipf-1.5 | mean |',
        '|---|---|---|---|',
        '| shuffle | 0.72 | **0.90** | **0.81** |',
        '| pkg | 0.80 | 0.75 | 0.78 |',
        '| hash | **0.88** | 0.45 | 0.67 |',
      ].join('\n'),
    );
  });

  it('report.html has the heat map and the verdicts before the definitions, the heat map coloured by ÷ ideal', async () => {
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    const heat = html.indexOf('<figure id="s0-heatmap">');
    expect(heat).toBeGreaterThan(0);
    expect(heat).toBeLessThan(html.indexOf('<h2>How to read the tables</h2>'));
    expect(html).toContain('<li><strong>zipf-1.5</strong> (ideal 1000 rec/s): <code>shuffle</code> is best at 0.90 × ideal (900 rec/s)');
    const spec = chartSpecs(summarize(syntheticResultsWithCells())).find((c) => c.id === 's0-heatmap')!.spec as unknown as {
      layer: { encoding?: { color?: { field?: string; scale?: { domain?: number[] } } } }[];
    };
    const colour = spec.layer.map((l) => l.encoding?.color).find((c) => c?.field === 'value');
    expect(colour?.scale?.domain).toEqual([0, 1]);
  });
});

describe('best partitioner per workload', () => {
  it('names the best, how close it comes to the ideal, its lead over the second and the rest', () => {
    const [wc, td] = summarize(syntheticResultsWithCells()).settings;
    expect(wc.workloads.map(verdictText)).toEqual([
      // 1100 / 1000 − 1 = 10 %; shuffle 900 / 1250 = 0.72.
      '**uniform** (ideal 1250 rec/s): `hash` is best at 0.88 × ideal (1100 rec/s), 10.0 % ahead of `pkg` at 0.80 × ideal (1000 rec/s); `shuffle` reaches 0.72 × ideal.',
      // 900 / 750 − 1 = 20 %; the gap 150 is more than pkg's sd (70.7).
      '**zipf-1.5** (ideal 1000 rec/s): `shuffle` is best at 0.90 × ideal (900 rec/s), 20.0 % ahead of `pkg` at 0.75 × ideal (750 rec/s); `hash` reaches 0.45 × ideal.',
    ]);
    // No ideal: rec/s only; 720 / 640 − 1 = 12.5 %.
    expect(verdictText(td.workloads[0])).toBe('**zipf-1.5** (no ideal: unlimited capacity): `shuffle` is best at 720 rec/s, 12.5 % ahead of `pkg` at 640 rec/s.');
  });

  it('ties and leads within one sd are said as such', () => {
    const r = syntheticResultsWithCells();
    const zipfPkg = r.runs.filter((x) => x.partitioner === 'pkg' && x.workloadLabel === 'zipf-1.5' && x.task.name === 'word-count');
    // pkg 850 and 950: mean 900, the same as shuffle → a tie, both ahead of hash (450) by 100 %.
    zipfPkg[0].summary.maxThroughput = 850;
    zipfPkg[1].summary.maxThroughput = 950;
    expect(verdictText(summarize(r).settings[0].workloads[1])).toBe(
      '**zipf-1.5** (ideal 1000 rec/s): `pkg` and `shuffle` tie for best at 0.90 × ideal (900 rec/s), 100.0 % ahead of `hash` at 0.45 × ideal (450 rec/s).',
    );
    // pkg 880 and 960: mean 920 (sd 56.6) leads shuffle (900) by 2.2 %, within one sd.
    zipfPkg[0].summary.maxThroughput = 880;
    zipfPkg[1].summary.maxThroughput = 960;
    expect(verdictText(summarize(r).settings[0].workloads[1])).toBe(
      '**zipf-1.5** (ideal 1000 rec/s): `pkg` is best at 0.92 × ideal (920 rec/s), 2.2 % ahead of `shuffle` at 0.90 × ideal (900 rec/s), within one sd of the repetitions (not a clear lead); `hash` reaches 0.45 × ideal.',
    );
  });

  it('old results say the ideal is the old rule', () => {
    const md = renderMarkdown(syntheticResults());
    expect(md).toContain('- **zipf(numKeys=1000, s=1.5)** (old-rule ideal 1000 rec/s): `shuffle` is best at 0.90 × ideal (900 rec/s)');
    expect(md).toContain('Each cell: the partitioner’s max throughput ÷ the workload’s ideal (1 = the mean of the `uniform` runs, the old ideal).');
    expect(md).not.toContain('physical limit of the simulated cluster');
  });
});

describe('time series and replication', () => {
  it('imbalance and p99 are small multiples on a log scale with a floor', () => {
    const specs = chartSpecs(summarize(syntheticResultsWithCells()));
    for (const id of ['s0-w0-imbalance', 's0-w1-p99']) {
      const spec = specs.find((c) => c.id === id)!.spec as unknown as {
        facet: { field: string; sort: string[] };
        spec: { layer: { encoding: { y: { scale: { type: string } } } }[] };
      };
      expect(spec.facet.field).toBe('panel');
      expect(spec.facet.sort).toEqual(['shuffle', 'pkg', 'hash']); // the heat map's order
      for (const l of spec.spec.layer) expect(l.encoding.y.scale.type).toBe('log');
    }
    // shuffle's imbalance on uniform is 0 at t = 0: drawn at the floor 0.001, never as log(0).
    const imb = specs.find((c) => c.id === 's0-w0-imbalance')!.spec as unknown as { data: { values: { panel: string; kind: string; t: number; value: number }[] } };
    expect(imb.data.values.find((v) => v.panel === 'shuffle' && v.kind === 'line' && v.t === 0)!.value).toBe(0.001);
  });

  it('replication that no slide measured is n/a, not 0', () => {
    const r = syntheticResultsWithCells();
    for (const run of r.runs) if (run.partitioner === 'shuffle') run.summary.replication = null;
    const md = renderMarkdown(r);
    expect(md).toMatch(/\| shuffle \| 2 \| 900 \| 0 \| max \| 0\.900 \| 2\.000 \| 0\.030 \| 10\.0 \| n\/a \|/);
    expect(summarize(r).settings[0].workloads[1].rows.find((x) => x.partitioner === 'shuffle')!.replication).toBeNull();
  });
});
