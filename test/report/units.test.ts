// Report building blocks: formatting, headless SVG rendering, downsampling, machine and version info.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TopLevelSpec } from 'vega-lite';
import { MachineInfoSchema, finiteOrNull, machineInfo, packageRoot, renderSvg, versionInfo } from '../../src/report/index.js';
import { canonicalJson, csvField, escapeHtml, fixed, mdCell, namedLabel } from '../../src/report/format.js';
import { mean, sampleSd } from '../../src/report/aggregate.js';
import { downsample } from '../../src/report/charts.js';

describe('format helpers', () => {
  it('fixed is locale-free, never prints -0, and gives n/a for missing values', () => {
    expect(fixed(1234.5678, 2)).toBe('1234.57');
    expect(fixed(-0.0001, 2)).toBe('0.00');
    expect(fixed(-1.5, 1)).toBe('-1.5');
    expect(fixed(null, 1)).toBe('n/a');
    expect(fixed(undefined, 1)).toBe('n/a');
    expect(fixed(NaN, 1)).toBe('n/a');
  });
  it('canonicalJson ignores key order; namedLabel sorts params', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: 3 } })).toBe('{"a":{"c":3,"d":[2,{"y":0,"z":1}]},"b":1}');
    expect(namedLabel('zipf', { s: 1.5, numKeys: 10 })).toBe('zipf(numKeys=10, s=1.5)');
    expect(namedLabel('trace', { file: 'a.csv', cols: [1, 2] })).toBe('trace(cols=[1,2], file=a.csv)');
    expect(namedLabel('uniform', {})).toBe('uniform');
  });
  it('escapes CSV, Markdown cells and HTML', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(mdCell('a|b\nc')).toBe('a\\|b c');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
  it('mean and sample sd', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(sampleSd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleSd([5])).toBe(0);
    expect(finiteOrNull(NaN)).toBeNull();
    expect(finiteOrNull(Infinity)).toBeNull();
    expect(finiteOrNull(2.5)).toBe(2.5);
  });
});

describe('renderSvg', () => {
  // A clipped line mark makes vega emit a clip path, whose id must be per-chart and deterministic.
  const spec: TopLevelSpec = {
    width: 100,
    height: 50,
    data: { values: [{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 2 }] },
    mark: { type: 'line', clip: true },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  };
  it('prefixes SVG-internal ids and is deterministic', async () => {
    const a = await renderSvg(spec, 'chartA');
    const b = await renderSvg(spec, 'chartB');
    const a2 = await renderSvg(spec, 'chartA');
    expect(a).toMatch(/^<svg /);
    const idsA = [...a.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(idsA.length).toBeGreaterThan(0);
    for (const id of idsA) {
      expect(id.startsWith('chartA-')).toBe(true);
      expect(a).toContain(`url(#${id})`);
    }
    expect(b).toBe(a.replaceAll('chartA-', 'chartB-'));
    expect(a2).toBe(a);
  });
  it('never loads external data', async () => {
    const external: TopLevelSpec = { data: { url: 'https://example.invalid/data.json' }, mark: 'point' };
    await expect(renderSvg(external, 'x')).rejects.toMatchObject({ code: 'INVARIANT' });
  });
});

describe('machine and version info', () => {
  it('machineInfo validates against the schema and describes this process', () => {
    const m = MachineInfoSchema.parse(machineInfo());
    expect(m.node).toBe(process.version);
    expect(m.platform).toBe(process.platform);
    expect(m.arch).toBe(process.arch);
    expect(m.cpus).toBeGreaterThanOrEqual(1);
    expect(m.memoryBytes).toBeGreaterThan(0);
  });
  it('versionInfo reads package.json and the git commit of the checkout', async () => {
    const root = packageRoot();
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    const v = versionInfo(root);
    expect(v.package).toBe(pkg.version);
    let head: string | undefined;
    try {
      head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      head = undefined;
    }
    expect(v.commit).toBe(head);
    if (head !== undefined) expect(typeof v.dirty).toBe('boolean');
  });
  it('versionInfo outside a git checkout has no commit', async () => {
    const d = await mkdtemp(join(tmpdir(), 'sas-version-'));
    try {
      await writeFile(join(d, 'package.json'), JSON.stringify({ name: 'sas-partitioner', version: '9.8.7' }));
      expect(versionInfo(d)).toEqual({ package: '9.8.7' });
      expect(packageRoot(d)).toBe(d);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('downsample', () => {
  it('averages consecutive buckets only when a line is too long', () => {
    const pts = Array.from({ length: 7 }, (_, i) => ({ t: i, value: i * 10 }));
    expect(downsample(pts, 7)).toBe(pts);
    // ceil(7/3) = 3 per bucket: [0,1,2], [3,4,5], [6].
    expect(downsample(pts, 3)).toEqual([
      { t: 1, value: 10 },
      { t: 4, value: 40 },
      { t: 6, value: 60 },
    ]);
  });
});
