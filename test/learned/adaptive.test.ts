// saspartitioner-adaptive chooses by measured reward: the better model wins where the α-match picks the worse; one model = saspartitioner.
import { describe, expect, it } from 'vitest';
import { loadJobConfig, type JobConfig } from '../../src/engine/config.js';
import { buildJob, runJob } from '../../src/engine/job.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { referenceWindowed } from '../../src/tasks/index.js';
import { createSasAdaptive, sasAdaptiveParams, type SasAdaptivePartitioner } from '../../src/partitioners/saspartitioner-adaptive.js';
import { createSasPartitioner, sasPartitionerParams } from '../../src/partitioners/saspartitioner.js';
import type { LearnedPolicy } from '../../src/partitioners/learned/policy.js';
import type { Partitioner } from '../../src/partitioners/types.js';
import { maskFromFrequencies, zipfTopProbabilities, type Mask } from '../../src/rl-agent/mask.js';

const P = 8;
const H = 4;

/** A small word-count job on the virtual clock: P = 8, Zipf 1.5, 100 ms slides, 80 slides. */
function job(numKeys: number): JobConfig {
  return loadJobConfig(undefined, [
    `workers=${P}`,
    `workload.params.numKeys=${numKeys}`,
    'workload.params.exponent=1.5',
    'capacity=200000',
    'source.rate=10000',
    'slideMs=100',
    'window={sizeMs: 200, slideMs: 100}',
    'queueCapacity=64',
    'durationMs=8000',
    'output.metrics=false',
  ]);
}

/** A policy that always returns `action`. */
function constant(mask: Mask, mode: 'direct' | 'residual', fill: (j: number, r: { start: number; end: number }) => number): LearnedPolicy {
  const dim = mask.reduce((a, r) => a + r.end - r.start, 0);
  const a = new Float32Array(dim);
  let off = 0;
  for (const r of mask) {
    for (let j = 0; j < r.end - r.start; j++) a[off + j] = fill(j, r);
    off += r.end - r.start;
  }
  return { mask, actionDim: dim, actionMode: mode, residualScale: 16, describe: 'constant', step: () => a };
}

/** Model "narrow": every hot key confined to worker 0 (its mask), whatever the table — bad by construction. */
const narrowMask: Mask = Array.from({ length: H }, () => ({ start: 0, end: 1 }));
/** Model "wide": the heuristic mask over Zipf(1.5) top-4, ranges ≥ 3 workers, routed by its prior (zero correction). */
const wideMask: Mask = maskFromFrequencies(zipfTopProbabilities(1.5, H), P, { minWidth: 3 });

interface RunOut {
  /** Mean per-slide busy imbalance, slides 5 to the last but one (the drain). */
  imbalance: number;
  /** The same over the second half of the run (after the guard's warm-up). */
  late: number;
  /** Per slide: index of the model that routed it. */
  models: number[];
  /** Per slide: busy imbalance. */
  perSlide: number[];
  part: Partitioner;
}

async function run(numKeys: number, create: (ctx: { numWorkers: number; seed: number; numKeys: number; slideMs: number; clock: { nowMs: number } }) => Partitioner, exact = false): Promise<RunOut> {
  const cfg = job(numKeys);
  let part: Partitioner | undefined;
  const sink = exact ? new CollectingSink() : undefined;
  const built = buildJob(cfg, { ...(sink ? { sink } : {}), partitioner: (clock, nk) => (part = create({ numWorkers: P, seed: cfg.seed, numKeys: nk, slideMs: cfg.slideMs, clock })) });
  const input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
  const perSlide: number[] = [];
  const models: number[] = [];
  await runJob(built, {
    ...(sink ? { recordInput: input } : {}),
    onSlide: (r) => {
      perSlide.push(r.job.imbalanceBusy);
      models.push(r.partitioner.guard?.routingModel ?? -1);
    },
  });
  if (sink) {
    const ref = referenceWindowed(built.parts.op, { keys: input.keys, payloads: input.payloads, timesMs: input.times }, built.params.window);
    expect(sink.windows.size).toBe(ref.length);
    for (const r of ref) expect(sink.windows.get(`${r.windowStart}:${r.key}`), `${r.windowStart}:${r.key}`).toEqual(r.output);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { imbalance: mean(perSlide.slice(5, -1)), late: mean(perSlide.slice(perSlide.length >> 1, -1)), models, perSlide, part: part! };
}

describe('saspartitioner-adaptive chooses by measured reward', () => {
  // Model 0 (α 1.5, the α-match on Zipf 1.5 data) is the narrow one; model 1 (α 0.5) the wide one.
  const models = [{ alpha: 1.5 }, { alpha: 0.5 }];
  const pols = () => [constant(narrowMask, 'direct', () => 1), constant(wideMask, 'residual', () => 0.5)];

  it('picks the better of two models where the α-match picks the worse one', async () => {
    const alphaOnly = await run(2000, (ctx) => createSasAdaptive(ctx, sasAdaptiveParams.parse({ models, numHotKeys: H, guard: false }), pols()));
    const byReward = await run(2000, (ctx) => createSasAdaptive(ctx, sasAdaptiveParams.parse({ models, numHotKeys: H }), pols()));
    const wideAlone = await run(2000, (ctx) => createSasAdaptive(ctx, sasAdaptiveParams.parse({ models: [models[1]], numHotKeys: H, guard: false }), [pols()[1]]));
    // the α-match really is the narrow model: without the guard it routes every slide
    expect((alphaOnly.part as SasAdaptivePartitioner).active).toBe(0);
    expect(alphaOnly.imbalance).toBeGreaterThan(5 * wideAlone.imbalance);
    // by reward: the wide model holds and routes most slides; once warmed up (second half) the narrow
    // model routes only its rare probes, each a slide at its imbalance (≈ 10× the wide model's)
    const a = byReward.part as SasAdaptivePartitioner;
    expect(a.stats().guard!.model).toBe(1);
    expect(a.arms.map((x) => `${x.model}:${x.kind}`)).toEqual(['0:policy', '0:prior', '1:policy', '1:prior']);
    const wideShare = byReward.models.filter((m) => m === 1).length / byReward.models.length;
    expect(wideShare).toBeGreaterThan(0.75);
    const late = byReward.models.slice(byReward.models.length >> 1);
    expect(late.filter((m) => m === 0).length).toBeLessThanOrEqual(4); // rare probes of the narrow model (back-off)
    expect(byReward.late).toBeLessThan(2 * wideAlone.late);
    expect(byReward.late).toBeLessThan(0.2 * alphaOnly.late);
    expect(byReward.imbalance).toBeLessThan(0.25 * alphaOnly.imbalance);
  });

  it('word counts stay exact while it switches between models', async () => {
    const out = await run(2000, (ctx) => createSasAdaptive(ctx, sasAdaptiveParams.parse({ models, numHotKeys: H }), pols()), true);
    expect(new Set(out.models).size).toBeGreaterThan(1);
  });

  it('one model: routes slide for slide like saspartitioner with the same policy and guard (while the guard switches)', async () => {
    // numKeys 300 ≤ the sketch's 400 counters: saspartitioner's top-k is exact, as adaptive's
    const bad = () => constant(wideMask, 'residual', (j) => (j === 0 ? 1 : 0));
    const sas = await run(300, (ctx) => createSasPartitioner(ctx, sasPartitionerParams.parse({ checkpoint: 'none', numHotKeys: H, sketchCapacity: 400 }), bad()));
    const ada = await run(300, (ctx) => createSasAdaptive(ctx, sasAdaptiveParams.parse({ models: [{ alpha: 1.5 }], numHotKeys: H }), [bad()]));
    expect(ada.perSlide).toEqual(sas.perSlide);
    expect(ada.part.stats().guard).toEqual(sas.part.stats().guard);
    expect(sas.part.stats().guard!.state).toBe('prior'); // the guard did fall back on both
  });

  it('`checkpoint: prior` models have no policy; guard: false is the α-match alone', () => {
    const ctx = { numWorkers: 64, seed: 1, numKeys: 20000, slideMs: 1000, clock: { nowMs: 0 } };
    const p = createSasAdaptive(ctx, sasAdaptiveParams.parse({ models: [{ alpha: 1.5, checkpoint: 'prior' }] }));
    expect(p.arms).toEqual([{ model: 0, kind: 'prior' }]);
    expect(p.guard).toBeUndefined(); // one arm: nothing to choose
    const two = createSasAdaptive(ctx, sasAdaptiveParams.parse({ models: [{ alpha: 0 }, { alpha: 1.5, checkpoint: 'prior' }] }));
    expect(two.arms.map((a) => a.kind)).toEqual(['table', 'prior']);
    expect(two.guard).toBeDefined();
    expect(createSasAdaptive(ctx, sasAdaptiveParams.parse({ models: [{ alpha: 0 }, { alpha: 1.5, checkpoint: 'prior' }], guard: false })).guard).toBeUndefined();
  });
});
