// The reward guard: falls back to the prior on a bad policy, keeps a good one, exact word counts while it switches.
import { describe, expect, it } from 'vitest';
import { loadJobConfig, type JobConfig } from '../../src/engine/config.js';
import { buildJob, runJob } from '../../src/engine/job.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { referenceWindowed } from '../../src/tasks/index.js';
import { createSasPartitioner, maskFor, sasPartitionerParams, type SasPartitioner } from '../../src/partitioners/saspartitioner.js';
import { DEFAULT_GUARD_OPTIONS, resolveGuard, RewardGuard } from '../../src/partitioners/learned/guard.js';
import type { LearnedPolicy } from '../../src/partitioners/learned/policy.js';
import type { Mask } from '../../src/rl-agent/mask.js';
import type { SlideReport } from '../../src/common/metrics.js';
import { ConfigError } from '../../src/common/errors.js';
import { Rng } from '../../src/common/rng.js';

/** A slide report with the given busy times and `records` routed (the guard reads only these). */
function report(busy: ArrayLike<number>, records = 1000): SlideReport {
  const P = busy.length;
  return {
    slideIndex: 0,
    slideStartMs: 0,
    slideMs: 1000,
    workers: Array.from({ length: P }, (_, w) => ({ worker: w, recordsIn: 0, busyMs: busy[w], backpressuredMs: 0, idleMs: 1000 - busy[w], queueLength: 0, latencyP50Ms: 0, latencyP99Ms: 0, latencyMaxMs: 0 })),
    partitioner: { records, routeNs: 0, routed: new Array(P).fill(0), hotKeys: 0, maxSplit: 0, tableVersion: 0 },
    job: { throughput: 0, targetRate: 0, achievedRate: 0, sourceBackpressuredMs: 0, imbalanceBusy: 0, nmadBusy: 0, imbalanceCount: 0, nmadCount: 0, replication: 0, latencyP50Ms: 0, latencyP99Ms: 0 },
  };
}

/** Busy times of P workers around 500 ms/s with relative spread `level` (uniform noise from `rng`): the regret grows with the level. */
function noisyBusy(rng: Rng, P: number, level: number): number[] {
  return Array.from({ length: P }, () => 500 * (1 + level * (2 * rng.next() - 1)));
}

/** Runs a guard over `slides` slides where arm a's slides have spread levels(t)[a]; returns the arm of each slide. */
function drive(guard: RewardGuard, slides: number, levels: (t: number) => number[], seed: number, records: (t: number) => number = () => 1000): number[] {
  const rng = new Rng(seed);
  const arms: number[] = [];
  for (let t = 0; t < slides; t++) {
    const arm = guard.decide(0, 0);
    arms.push(arm);
    guard.observe(report(noisyBusy(rng, 16, levels(t)[arm]), records(t)));
  }
  return arms;
}

describe('RewardGuard (unit)', () => {
  it('falls back from a 3× worse default arm after the warm-up, and returns as soon as the comparison flips', () => {
    const g = new RewardGuard(2, 1, 16, 0.6);
    const first = drive(g, 60, () => [0.3, 0.1], 1);
    expect(g.current()).toBe(1);
    // warm-up: alternate until minSamples (3) paired probes, then the switch
    const switchedAt = first.findIndex((_, t) => t > 0 && first.slice(t).filter((a) => a === 0).length <= 3);
    expect(switchedAt).toBeGreaterThan(0);
    expect(first.slice(0, 8).filter((a) => a === 1).length).toBeGreaterThanOrEqual(3);
    // after the switch the bad arm is only probed (back-off): a handful of slides out of the last 50
    expect(first.slice(10).filter((a) => a === 0).length).toBeLessThanOrEqual(4);
    // now the default arm is better: the guard goes back to it
    const second = drive(g, 200, () => [0.05, 0.1], 2);
    expect(g.current()).toBe(0);
    expect(second.slice(100).filter((a) => a === 0).length).toBeGreaterThan(85);
  });

  it('two identical arms: the default arm holds (noise does not flip it)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const g = new RewardGuard(2, 1, 16, 0.6);
      const arms = drive(g, 400, () => [0.2, 0.2], seed);
      const onDefault = arms.filter((a) => a === 0).length / arms.length;
      expect(onDefault, `seed ${seed}`).toBeGreaterThan(0.85);
      expect(g.current(), `seed ${seed}`).toBe(0);
    }
  });

  it('a much worse arm is probed less and less often (back-off up to maxProbeEvery)', () => {
    const g = new RewardGuard(2, 1, 16, 0.6);
    const arms = drive(g, 400, () => [0.05, 1.0], 3); // arm 1 is ≈ 20× worse: it stays the probe
    expect(g.current()).toBe(0);
    const probes = arms.filter((a) => a === 1).length;
    // warm-up 3, then intervals 16, 32, 64, 64, … : ≤ 3 + 1 + 1 + 6 + slack; without back-off 400/8 = 50
    expect(probes).toBeLessThanOrEqual(14);
    expect(probes).toBeGreaterThanOrEqual(6); // but it is still probed (the comparison can flip)
  });

  it('slides with under half the previous slide\'s records are not credited; below minRecordsPerWorker · P nothing counts and nothing is probed', () => {
    const g = new RewardGuard(2, 1, 16, 0.6);
    const rng = new Rng(4);
    // every probe slide (arm 1) routes a tenth of the records: none of them counts
    for (let t = 0; t < 40; t++) {
      const arm = g.decide(0, 0);
      g.observe(report(noisyBusy(rng, 16, arm === 1 ? 1 : 0.1), arm === 1 ? 100 : 1000));
    }
    expect(g.snapshot().samples[1]).toBe(0);
    expect(g.current()).toBe(0);
    // 200 records over 16 workers < 16 per worker: the guard holds its default arm and never probes
    const quiet = new RewardGuard(2, 1, 16, 0.6);
    const arms = drive(quiet, 60, () => [1.0, 0.05], 5, () => 200);
    expect(arms.every((a) => a === 0)).toBe(true);
    expect(quiet.snapshot().samples).toEqual([0, 0]);
    // with minRecordsPerWorker 0 the same slides count, and the much better arm 1 takes over
    const loud = new RewardGuard(2, 1, 16, 0.6, { ...DEFAULT_GUARD_OPTIONS, minRecordsPerWorker: 0 });
    drive(loud, 60, () => [1.0, 0.05], 5, () => 200);
    expect(loud.current()).toBe(1);
  });

  it('resolveGuard: on by default with a policy that neither learns nor is remote; a learning policy with an explicit guard is refused', () => {
    expect(resolveGuard(undefined, { hasArms: true, learning: false, remote: false })).toEqual(DEFAULT_GUARD_OPTIONS);
    expect(resolveGuard(undefined, { hasArms: false, learning: false, remote: false })).toBeUndefined();
    expect(resolveGuard(undefined, { hasArms: true, learning: true, remote: false })).toBeUndefined();
    expect(resolveGuard(undefined, { hasArms: true, learning: false, remote: true })).toBeUndefined();
    expect(resolveGuard(true, { hasArms: true, learning: false, remote: true })).toEqual(DEFAULT_GUARD_OPTIONS);
    expect(resolveGuard(false, { hasArms: true, learning: false, remote: false })).toBeUndefined();
    expect(() => resolveGuard(true, { hasArms: true, learning: true, remote: false })).toThrow(ConfigError);
    const o = sasPartitionerParams.parse({ guard: { probeEvery: 4 } }).guard;
    expect(resolveGuard(o, { hasArms: true, learning: false, remote: false })?.probeEvery).toBe(4);
    expect(() => resolveGuard({ ...DEFAULT_GUARD_OPTIONS, probeEvery: 16, maxProbeEvery: 8 }, { hasArms: true, learning: false, remote: false })).toThrow(ConfigError);
    expect(() => sasPartitionerParams.parse({ guard: { probeEvery: 1 } })).toThrow();
  });
});

// ---- virtual-clock jobs with saspartitioner ----

const P = 8;

/** A small word-count job on the virtual clock: P = 8, Zipf 1.5 over 2000 keys, 100 ms slides, 80 slides. */
function job(extra: string[] = []): JobConfig {
  return loadJobConfig(undefined, [
    `workers=${P}`,
    'workload.params.numKeys=2000',
    'workload.params.exponent=1.5',
    'capacity=200000',
    'source.rate=10000',
    'slideMs=100',
    'window={sizeMs: 200, slideMs: 100}',
    'queueCapacity=64',
    'durationMs=8000',
    'output.metrics=false',
    ...extra,
  ]);
}

/** Residual-mode partitioner params shared by every run (4 true hot keys, ranges ≥ 3 workers, corrections up to 16 uniform shares). */
const PARAMS = { checkpoint: 'none', numHotKeys: 6, numTrueHotKeys: 4, maskMinWidth: 3, actionMode: 'residual', residualScale: 16 };

/**
 * A fixed residual-mode policy: `bad` puts each hot key's whole weight on the first worker of its range
 * (all of the hottest key on one worker); `zero` is no correction (the prior itself).
 */
function fixedPolicy(mask: Mask, kind: 'bad' | 'zero'): LearnedPolicy {
  const dim = mask.reduce((a, r) => a + r.end - r.start, 0);
  const a = new Float32Array(dim).fill(0.5);
  if (kind === 'bad') {
    let off = 0;
    for (const r of mask) {
      for (let j = 0; j < r.end - r.start; j++) a[off + j] = j === 0 ? 1 : 0;
      off += r.end - r.start;
    }
  }
  return { mask, actionDim: dim, actionMode: 'residual', residualScale: 16, describe: kind, step: () => a };
}

interface RunOut {
  /** Mean per-slide busy imbalance, slides 5 to the last but one (the drain). */
  imbalance: number;
  /** Per slide: what routed it ('o' policy, 'r' prior, '-' no guard). */
  trace: string;
  part: SasPartitioner;
}

async function run(policy: 'none' | 'bad' | 'zero', guard: boolean | undefined, opts: { exact?: boolean } = {}): Promise<RunOut> {
  const cfg = job();
  const params = sasPartitionerParams.parse({ ...PARAMS, ...(guard === undefined ? {} : { guard }) });
  const mask = maskFor(P, params);
  const pol = policy === 'none' ? undefined : fixedPolicy(mask, policy);
  let part: SasPartitioner | undefined;
  const sink = opts.exact ? new CollectingSink() : undefined;
  const built = buildJob(cfg, { ...(sink ? { sink } : {}), partitioner: (clock, numKeys) => (part = createSasPartitioner({ numWorkers: P, seed: cfg.seed, numKeys, slideMs: cfg.slideMs, clock }, params, pol)) });
  const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
  const imb: number[] = [];
  let trace = '';
  const res = await runJob(built, {
    ...(sink ? { recordInput: input } : {}),
    onSlide: (r) => {
      imb.push(r.job.imbalanceBusy);
      const g = r.partitioner.guard;
      trace += g ? (g.routing === 'policy' ? 'o' : 'r') : '-';
    },
  });
  if (sink) {
    expect(res.records).toBe(input.keys.length);
    const ref = referenceWindowed(built.parts.op, { keys: input.keys, payloads: input.payloads, timesMs: input.times }, built.params.window);
    expect(sink.windows.size).toBe(ref.length);
    for (const r of ref) expect(sink.windows.get(`${r.windowStart}:${r.key}`), `${r.windowStart}:${r.key}`).toEqual(r.output);
    expect(sink.merged).toBeGreaterThan(0); // hot keys really were split
  }
  const steady = imb.slice(5, -1);
  return { imbalance: steady.reduce((a, b) => a + b, 0) / steady.length, trace, part: part! };
}

describe('saspartitioner with the guard (virtual clock)', () => {
  it('falls back on a deliberately bad policy: busy imbalance close to the prior\'s, far below the unguarded policy\'s', async () => {
    const prior = await run('none', undefined);
    const bad = await run('bad', false);
    const guarded = await run('bad', undefined); // on by default
    expect(prior.part.guard).toBeUndefined(); // no policy: nothing to guard
    expect(bad.trace).toMatch(/^-+$/);
    expect(bad.imbalance).toBeGreaterThan(4 * prior.imbalance); // the bad policy is bad
    expect(guarded.imbalance).toBeLessThan(1.3 * prior.imbalance);
    expect(guarded.imbalance).toBeLessThan(0.3 * bad.imbalance);
    const s = guarded.part.stats().guard!;
    expect(s.state).toBe('prior');
    expect(s.ratio).toBeGreaterThan(2); // the policy measured at more than twice the prior's regret
    expect(s.policyReward).toBeLessThan(s.priorReward);
    // after the warm-up the bad policy only gets rare probes
    expect(guarded.trace.slice(12).split('o').length - 1).toBeLessThanOrEqual(4);
  });

  it('keeps a good policy (zero correction) active, and then routes exactly as the prior alone', async () => {
    const prior = await run('none', undefined);
    const zero = await run('zero', undefined);
    expect(zero.part.stats().guard!.state).toBe('policy');
    const onPolicy = zero.trace.split('').filter((c) => c === 'o').length / zero.trace.length;
    expect(onPolicy).toBeGreaterThan(0.8);
    expect(zero.imbalance).toBeCloseTo(prior.imbalance, 12); // same tables whichever arm routes
  });

  it('word counts stay exact while the guard switches between the policy and the prior', async () => {
    const out = await run('bad', true, { exact: true });
    expect(out.trace).toContain('o');
    expect(out.trace).toContain('r');
    expect(out.part.stats().guard!.state).toBe('prior');
  });

  it('learn: true leaves the guard off by default and refuses an explicit one; guard: false reports no guard metrics', async () => {
    const mask = maskFor(P, sasPartitionerParams.parse(PARAMS));
    const learning = Object.assign(fixedPolicy(mask, 'zero'), { learning: true });
    const ctx = { numWorkers: P, seed: 1, numKeys: 2000, slideMs: 100, clock: { nowMs: 0 } };
    expect(createSasPartitioner(ctx, sasPartitionerParams.parse(PARAMS), learning).guard).toBeUndefined();
    expect(createSasPartitioner(ctx, sasPartitionerParams.parse({ ...PARAMS, learn: true }), fixedPolicy(mask, 'zero')).guard).toBeUndefined();
    expect(() => createSasPartitioner(ctx, sasPartitionerParams.parse({ ...PARAMS, guard: true }), learning)).toThrow(ConfigError);
    expect(createSasPartitioner(ctx, sasPartitionerParams.parse(PARAMS), fixedPolicy(mask, 'zero')).guard).toBeDefined();
    const off = await run('bad', false);
    expect(off.part.stats().guard).toBeUndefined();
  });
});
