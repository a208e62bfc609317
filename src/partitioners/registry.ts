// The table of partitioner names → parameter schema + factory. `sas run --partitioner NAME` reads it.
import type { z } from 'zod';
import { UnknownNameError } from '../common/errors.js';
import { parseOrThrow } from '../common/validate.js';
import { createHash, hashParams } from './hash.js';
import { createShuffle, shuffleParams } from './shuffle.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** A registered partitioner: its parameter schema (with defaults) and its factory. */
export interface PartitionerSpec {
  readonly name: string;
  readonly summary: string;
  readonly params: z.ZodType;
  readonly create: (ctx: PartitionerContext, params: never) => Partitioner;
}

const SPECS: PartitionerSpec[] = [
  { name: 'hash', summary: 'murmur3 key grouping', params: hashParams, create: createHash },
  { name: 'shuffle', summary: 'round robin, ignores keys', params: shuffleParams, create: createShuffle },
];

/** Registers a partitioner (used by each partitioner module's entry in `index.ts`). */
export function registerPartitioner(spec: PartitionerSpec): void {
  if (SPECS.some((s) => s.name === spec.name)) throw new Error(`partitioner ${spec.name} registered twice`);
  SPECS.push(spec);
}

/** All registered names, in registration order. */
export function partitionerNames(): string[] {
  return SPECS.map((s) => s.name);
}

/** The spec of `name`, or an UnknownNameError listing the valid names. */
export function partitionerSpec(name: string, field = 'partitioner.name'): PartitionerSpec {
  const s = SPECS.find((x) => x.name === name);
  if (!s) throw new UnknownNameError('partitioner', name, partitionerNames(), field);
  return s;
}

/**
 * Validates `params` for partitioner `name` (errors name the field under `field`) and returns the
 * parsed parameters with defaults filled in.
 */
export function parsePartitionerParams(name: string, params: unknown, field = 'partitioner.params'): unknown {
  return parseOrThrow(partitionerSpec(name).params, params ?? {}, field);
}

/** Creates partitioner `name` with validated `params`. */
export function createPartitioner(name: string, ctx: PartitionerContext, params: unknown = {}): Partitioner {
  const spec = partitionerSpec(name);
  const parsed = parseOrThrow(spec.params, params ?? {}, `partitioner.params`);
  return spec.create(ctx, parsed as never);
}
