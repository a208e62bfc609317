// The learned commands' config loading and CLI errors: bad input names the field and exits with code 2.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { collectSectionSchema, loadSectioned, loadTrainOffline, onlineSectionSchema } from '../../src/cli/learned.js';
import { ConfigError } from '../../src/common/errors.js';
import { sasPartitionerParams } from '../../src/partitioners/saspartitioner.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sas-learned-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

async function run(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    const code = await main(['node', 'sas', ...args]);
    return { code, err };
  } finally {
    spy.mockRestore();
  }
}

describe('learned config files', () => {
  it('the shipped params files load and validate', () => {
    const c = loadSectioned('params/collect.yaml', 'collect', collectSectionSchema);
    expect(c.job.partitioner.name).toBe('saspartitioner');
    expect(sasPartitionerParams.parse(c.job.partitioner.params).actionMode).toBe('residual');
    expect(c.section.episodeLength).toBe(128);
    const o = loadSectioned('params/train-online.yaml', 'online', onlineSectionSchema);
    expect(o.job.partitioner.name).toBe('saspartitioner');
    expect(loadTrainOffline('params/train-offline.yaml').preset).toBe('offline-fast');
  });

  it('unknown sections and bad fields are ConfigErrors naming the field', () => {
    const f = file('bad.yaml', 'job: { workers: 4 }\ncollect: { runs: 0 }\n');
    expect(() => loadSectioned(f, 'collect', collectSectionSchema)).toThrow(ConfigError);
    try {
      loadSectioned(f, 'collect', collectSectionSchema);
    } catch (e) {
      expect((e as ConfigError).context.field).toBe('collect.runs');
    }
    const g = file('extra.yaml', 'job: {}\nonline: {}\nfoo: 1\n');
    expect(() => loadSectioned(g, 'online', onlineSectionSchema)).toThrow(/foo/);
  });
});

describe('sas collect / train / agent errors', () => {
  it('exit 2 with error [CODE] for bad input', async () => {
    const a = await run(['collect', '-c', path.join(dir, 'missing.yaml')]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/^error \[FILE_NOT_FOUND\]/);
    const b = await run(['collect', '-c', 'params/collect.yaml', '--set', 'job.partitioner.name=hash']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/error \[CONFIG_INVALID\]: job.partitioner.name/);
    const c = await run(['train', 'offline', '--data', path.join(dir, 'nodata'), '--out', path.join(dir, 'ck')]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/FILE_NOT_FOUND/);
    const d = await run(['run', '-p', 'saspartitioner', '--set', 'partitioner.params.mode=remote', '--no-write', '-q']);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/partitioner\.params\.url/);
    const e = await run(['agent', '--port', '70000']);
    expect(e.code).toBe(2);
  });
});

describe('sas train online (virtual clock, real gradient steps)', () => {
  it('records one imbalance per training iteration (not the drain slide), stops at maxIterations and writes a loadable checkpoint', async () => {
    const { trainOnlineCommand } = await import('../../src/cli/train.js');
    const out = path.join(dir, 'online-ckpt');
    const { job, section } = loadSectioned('params/train-online.yaml', 'online', onlineSectionSchema, [
      'job.durationMs=20000',
      'online.maxIterations=4',
      'online.minIterations=4',
      'online.checkpointEvery=100',
      'online.agent={batchSize: 4, trainingIntensity: 1}',
      `online.out=${out}`,
    ]);
    const r = await trainOnlineCommand(job, section, 'default', { quiet: true, log: () => undefined });
    expect(r.stoppedBy).toBe('max_iterations');
    expect(r.iterations).toBe(4);
    // One busy imbalance per iteration: the partial slide the job drains after the stop is not one.
    expect(r.imbalance).toHaveLength(4);
    for (const x of r.imbalance) expect(x).toBeGreaterThanOrEqual(0);
    expect(r.checkpoint).toBe(out);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { numWorkers?: number; actionMode?: string };
    expect(manifest.numWorkers).toBe(64);
    expect(manifest.actionMode).toBe('residual');
  }, 120_000);
});
