// `checkpoint: prior`: the learned partitioner's prior alone (the shipped checkpoint's mask and mode, no policy).
import { describe, expect, it } from 'vitest';
import { loadJobConfig } from '../../src/engine/config.js';
import { buildJob, runJob } from '../../src/engine/job.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import { preloadLearnedPolicies } from '../../src/partitioners/learned/prepare.js';
import { peekCheckpoint, resolveCheckpoint } from '../../src/partitioners/learned/paths.js';
import type { SasPartitioner } from '../../src/partitioners/saspartitioner.js';

describe('saspartitioner checkpoint: prior', () => {
  it('has the shipped mask and residual mode but no policy, and routes by the prior', async () => {
    const ctx = { numWorkers: 64, seed: 1, numKeys: 20000, slideMs: 1000, clock: { nowMs: 0 } };
    const cfg = loadJobConfig(undefined, ['partitioner.name=saspartitioner', 'partitioner.params.checkpoint=prior']);
    expect(await preloadLearnedPolicies(cfg)).toEqual([]); // nothing to load
    const prior = createPartitioner('saspartitioner', ctx, { checkpoint: 'prior' }) as SasPartitioner;
    const shipped = peekCheckpoint(resolveCheckpoint('default'))!;
    expect(prior.policy).toBeUndefined();
    expect(prior.actionMode).toBe(shipped.actionMode);
    expect(prior.mask).toEqual(shipped.mask);
    // A run with the prior is not a run with the uniform table: the prior moves the hot keys' shares.
    const busyImbalance = async (checkpoint: string) => {
      const c = loadJobConfig(undefined, ['partitioner.name=saspartitioner', `partitioner.params.checkpoint=${checkpoint}`, 'workload.params={numKeys: 20000, exponent: 1.5}', 'capacity=2500', 'source.rate=6000', 'durationMs=8000']);
      await preloadLearnedPolicies(c);
      const res = await runJob(buildJob(c));
      const r = res.reports.slice(3, 8);
      return r.reduce((a, x) => a + x.job.imbalanceBusy, 0) / r.length;
    };
    const a = await busyImbalance('prior');
    const b = await busyImbalance('none');
    expect(Math.abs(a - b)).toBeGreaterThan(0.01);
  });
});
