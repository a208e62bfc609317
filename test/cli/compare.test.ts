import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { compareCommand, compareSchema, loadCompareConfig } from '../../src/cli/compare.js';
import { SasError } from '../../src/common/errors.js';

const root = new URL('../..', import.meta.url).pathname;
const sas = (args: string[]) => spawnSync(process.execPath, [join(root, 'bin/sas'), ...args], { cwd: root, encoding: 'utf8' });
const tmp = () => mkdtempSync(join(tmpdir(), 'sas-cmp-'));

const small = (out: string) =>
  compareSchema.parse({
    base: { workers: 4, capacity: 20000, queueCapacity: 100, ramp: { initialRate: 4000, rateStep: 1000, maxStep: 20000, stepDivisor: 2, intervalMs: 2000 } },
    partitioners: ['hash', 'w-choices'],
    workloads: [{ name: 'uniform', params: { numKeys: 1000 } }, { name: 'zipf', params: { numKeys: 1000, exponent: 1.5 }, label: 'z15' }, { name: 'trace' }],
    tasks: [{ name: 'keyedcount' }],
    fixedRate: { rate: 5000, durationMs: 3000 },
    output: { dir: out, name: 'c1' },
  });

describe('sas compare', () => {
  it('runs every combination and writes results and a report with max throughput per partitioner', async () => {
    const out = tmp();
    const { dir, results } = await compareCommand(small(out), { quiet: true });
    expect(dir).toBe(join(out, 'c1'));
    expect(results.runs).toHaveLength(2 * 3);
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.md', 'results.csv', 'results.json', 'trace-values.csv']);
    const by = (p: string, w: string) => results.runs.find((r) => r.partitioner === p && r.workload.name === w)!;
    // Keyed count costs 1 unit: 4 workers × 20000 units/s is the ideal; hash on Zipf 1.5 is capped by its hottest worker.
    expect(by('w-choices', 'uniform').summary.maxThroughput).toBeGreaterThan(60_000);
    // W-Choices splits the hot key over every worker; hash cannot, so its hottest worker caps it.
    expect(by('hash', 'z15').summary.maxThroughput).toBeLessThan(by('w-choices', 'z15').summary.maxThroughput!);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('### z15');
    expect(md).toContain('### trace');
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.match(/<svg/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    // `sas report DIR` rebuilds the same Markdown from results.json.
    const before = md;
    writeFileSync(join(dir, 'report.md'), 'stale');
    const r = sas(['report', dir]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toBe(before);
  });

  it('one partitioner listed twice with different params: labels tell the runs apart, and a repeated label fails before anything runs', async () => {
    const out = tmp();
    const cfg = compareSchema.parse({
      base: { workers: 4, capacity: 20000, queueCapacity: 100 },
      partitioners: ['pkg', { name: 'pkg', params: { coldHash: 'mod' }, label: 'pkg-mod' }],
      workloads: [{ name: 'zipf', params: { numKeys: 1000, exponent: 1.5 } }],
      tasks: ['keyedcount'],
      maxThroughput: false,
      fixedRate: { rate: 5000, durationMs: 2000 },
      output: { dir: out, name: 'lab' },
    });
    const { results } = await compareCommand(cfg, { quiet: true });
    expect(results.runs.map((r) => r.partitioner).sort()).toEqual(['pkg', 'pkg-mod']);
    const byId = new Map(results.runs.map((r) => [r.partitioner, r]));
    expect((byId.get('pkg-mod')!.config as { partitioner: { params: { coldHash: string } } }).partitioner.params.coldHash).toBe('mod');
    expect((byId.get('pkg')!.config as { partitioner: { params: Record<string, unknown> } }).partitioner.params.coldHash).toBeUndefined();
    const f = join(out, 'dup.yaml');
    writeFileSync(f, `partitioners: [hash, { name: hash, params: { seed: 7 } }]\nworkloads: [{ name: uniform }]\ntasks: [keyedcount]\noutput: { dir: ${out}, name: dup }\n`);
    const r = sas(['compare', '-q', '-c', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('partitioners[1].label');
    expect(readdirSync(out).sort()).toEqual(['dup.yaml', 'lab']);
  });

  it('an unknown partitioner, workload or an empty list fails before anything runs', () => {
    const out = tmp();
    const f = join(out, 'c.yaml');
    writeFileSync(f, `partitioners: [hash, nope]\nworkloads: [{ name: uniform }]\ntasks: [keyedcount]\noutput: { dir: ${out} }\n`);
    const r = sas(['compare', '-q', '-c', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('UNKNOWN_NAME');
    expect(r.stderr).toContain('partitioners[1]');
    expect(readdirSync(out)).toEqual(['c.yaml']);
    writeFileSync(f, `partitioners: [hash]\nworkloads: [{ name: zipfy }]\ntasks: [keyedcount]\noutput: { dir: ${out} }\n`);
    const w = sas(['compare', '-q', '-c', f]);
    expect(w.status).toBe(2);
    expect(w.stderr).toContain('drifting-key');
    writeFileSync(f, `partitioners: []\nworkloads: [{ name: uniform }]\ntasks: [keyedcount]\n`);
    try {
      loadCompareConfig(f);
      expect.unreachable();
    } catch (e) {
      expect((e as SasError).code).toBe('CONFIG_INVALID');
      expect((e as Error).message).toContain('partitioners');
    }
    expect(readdirSync(out)).toEqual(['c.yaml']);
  });
});

describe('compare results keep no secrets', () => {
  it('a partitioner entry token is written as (redacted) in results.json config', async () => {
    const { redactCompareSecrets } = await import('../../src/cli/compare.js');
    const cfg = { partitioners: ['hash', { name: 'saspartitioner', params: { mode: 'remote', token: 'secret-token-1234' }, label: 'remote' }] } as never;
    const out = JSON.stringify(redactCompareSecrets(cfg));
    expect(out).not.toContain('secret-token-1234');
    expect(out).toContain('(redacted)');
    expect(JSON.stringify(cfg)).toContain('secret-token-1234'); // the input is not changed
  });
});
