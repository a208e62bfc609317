// The table of task names → parameter schema + operator factory. `sas run` reads it via createTask.
import type { z } from 'zod';
import { Registry } from '../common/registry.js';
import { createKeyedcount, keyedcountParams } from './operators/keyedcount.js';
import { createTdigest, tdigestParams } from './operators/tdigest.js';
import { createWordcount, wordcountParams } from './operators/wordcount.js';
import type { TaskSpec } from './specs.js';
import type { PayloadStore, TaskOperator } from './types.js';

/** What a task reads from its payload store. */
export type PayloadNeed = 'text' | 'values' | 'none';

/** A registered task: its kind, parameter schema (with defaults), payload needs and factory. */
export interface TaskEntry {
  readonly name: string;
  readonly summary: string;
  readonly kind: 'windowed' | 'global';
  readonly payloads: PayloadNeed;
  readonly params: z.ZodType;
  readonly create: (params: never, payloads: PayloadStore) => TaskOperator;
  /**
   * Measured merge-stage costs of a windowed task, in its cost units (bench/calibration.ts on the
   * project's 2-core machine, docs/tasks.md): `emitCost` per partial a combiner emits (encode and
   * send), `mergeCost` per partial a reducer merges (decode and merge). The defaults of `merge.*`.
   */
  readonly mergeCosts?: { readonly emitCost: number; readonly mergeCost: number };
}

const TASKS = new Registry<TaskEntry>('task', [
  { name: 'wordcount', summary: 'per-key word counts of corpus sentences', kind: 'windowed', payloads: 'text', params: wordcountParams, create: createWordcount, mergeCosts: { emitCost: 84, mergeCost: 41 } },
  { name: 'tdigest', summary: 'per-key t-digest of N doubles per record', kind: 'windowed', payloads: 'values', params: tdigestParams, create: createTdigest, mergeCosts: { emitCost: 7.5, mergeCost: 28 } },
  { name: 'keyedcount', summary: 'global per-key running count', kind: 'global', payloads: 'none', params: keyedcountParams, create: createKeyedcount },
]);

/** All task names, in registration order. */
export function taskNames(): string[] {
  return TASKS.names();
}

/** The entry of task `name`, or an UnknownNameError (code UNKNOWN_NAME) listing the valid names. */
export function taskEntry(name: string, field = 'task.name'): TaskEntry {
  return TASKS.get(name, field);
}

/** Validates the params of `spec` (errors name `task.params.<field>`) and returns them with defaults. */
export function parseTaskParams(spec: TaskSpec): Record<string, unknown> {
  return TASKS.parseParams(spec.name, spec.params);
}

/**
 * Creates the operator of `spec` over `payloads` (build them with `buildPayloads(taskSpec,
 * workloadSpec)`). UnknownNameError for an unknown name, ConfigError for bad params or payloads that
 * lack what the task reads.
 */
export function createTask(spec: TaskSpec, payloads: PayloadStore): TaskOperator {
  const entry = taskEntry(spec.name);
  return entry.create(parseTaskParams(spec) as never, payloads);
}
