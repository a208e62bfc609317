// The table of partitioner names → parameter schema + factory. `sas run --partitioner NAME` reads it.
import type { z } from 'zod';
import { Registry } from '../common/registry.js';
import { camParams, createCam } from './cam.js';
import { createDChoices, dChoicesParams } from './d-choices.js';
import { createDagreedy, dagreedyParams } from './dagreedy.js';
import { createDalton, daltonParams } from './dalton.js';
import { createDaltonMetrics, daltonMetricsParams } from './dalton-metrics.js';
import { createDaltonOffline, daltonOfflineParams } from './dalton-offline.js';
import { createFlexd, flexdParams } from './flexd.js';
import { createHash, hashParams } from './hash.js';
import { createPkg, pkgParams } from './pkg.js';
import { createShuffle, shuffleParams } from './shuffle.js';
import { createSasPartitioner, sasPartitionerParams } from './saspartitioner.js';
import { createSasAdaptive, sasAdaptiveParams } from './saspartitioner-adaptive.js';
import { createWChoices, wChoicesParams } from './w-choices.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** A registered partitioner: its parameter schema (with defaults) and its factory. */
export interface PartitionerSpec {
  readonly name: string;
  readonly summary: string;
  readonly params: z.ZodType;
  readonly create: (ctx: PartitionerContext, params: never) => Partitioner;
}

const REGISTRY = new Registry<PartitionerSpec>('partitioner', [
  { name: 'hash', summary: 'murmur3 key grouping', params: hashParams, create: createHash },
  { name: 'shuffle', summary: 'round robin, ignores keys', params: shuffleParams, create: createShuffle },
  { name: 'pkg', summary: 'partial key grouping: two choices, local load', params: pkgParams, create: createPkg },
  { name: 'd-choices', summary: 'head keys get d choices (paper formula), tail PKG', params: dChoicesParams, create: createDChoices },
  { name: 'w-choices', summary: 'head keys may use every worker, tail PKG', params: wChoicesParams, create: createWChoices },
  { name: 'cam', summary: 'two choices, stick where the key already is (windowed)', params: camParams, create: createCam },
  { name: 'dagreedy', summary: 'hot keys: argmax locality minus load', params: dagreedyParams, create: createDagreedy },
  { name: 'flexd', summary: 'hot keys widen by one worker as their frequency grows', params: flexdParams, create: createFlexd },
  { name: 'dalton', summary: 'epsilon-greedy contextual bandit per hot key (cooperative with instances > 1)', params: daltonParams, create: createDalton },
  {
    name: 'dalton-metrics',
    summary: 'dalton with rewards from measured busy times',
    params: daltonMetricsParams,
    create: createDaltonMetrics,
  },
  {
    name: 'dalton-offline',
    summary: 'epsilon-greedy behaviour policy within mask ranges (offline data collection)',
    params: daltonOfflineParams,
    create: createDaltonOffline,
  },
  { name: 'saspartitioner', summary: 'learned masked routing table (SAC-N/CQL-N policy), deficit routing of detected hot keys', params: sasPartitionerParams, create: (ctx, p) => createSasPartitioner(ctx, p) },
  { name: 'saspartitioner-adaptive', summary: 'saspartitioner switching to the checkpoint whose Zipf top-k is nearest', params: sasAdaptiveParams, create: (ctx, p) => createSasAdaptive(ctx, p) },
]);

/** All registered names, in registration order. */
export function partitionerNames(): string[] {
  return REGISTRY.names();
}

/** The spec of `name`, or an UnknownNameError listing the valid names. */
export function partitionerSpec(name: string, field = 'partitioner.name'): PartitionerSpec {
  return REGISTRY.get(name, field);
}

/**
 * Validates `params` for partitioner `name` (errors name the field under `field`) and returns the
 * parsed parameters with defaults filled in.
 */
export function parsePartitionerParams(name: string, params: unknown, field = 'partitioner.params'): unknown {
  return REGISTRY.parseParams(name, params, field);
}

/** Creates partitioner `name` with validated `params`. */
export function createPartitioner(name: string, ctx: PartitionerContext, params: unknown = {}): Partitioner {
  return partitionerSpec(name).create(ctx, REGISTRY.parseParams(name, params) as never);
}
