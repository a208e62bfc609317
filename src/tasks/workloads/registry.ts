// The table of workload names → parameter schema + factory. `sas run` reads it via createWorkload.
import type { z } from 'zod';
import { Registry } from '../../common/registry.js';
import type { WorkloadSpec } from '../specs.js';
import type { PayloadStore, Workload } from '../types.js';
import { createCsv, csvParams } from './csv.js';
import { createDriftingKey, driftingKeyParams } from './drifting-key.js';
import { createUniform, uniformParams } from './uniform.js';
import { createZipfSequence, zipfSequenceParams } from './zipf-sequence.js';
import { createZipf, zipfParams } from './zipf.js';

/** A registered workload: its parameter schema (with defaults) and factory. */
export interface WorkloadEntry {
  readonly name: string;
  readonly summary: string;
  readonly params: z.ZodType;
  readonly create: (params: never, payloads: PayloadStore) => Workload;
}

const WORKLOADS = new Registry<WorkloadEntry>('workload', [
  { name: 'zipf', summary: 'i.i.d. Zipf keys with permuted ids', params: zipfParams, create: createZipf },
  { name: 'uniform', summary: 'i.i.d. uniform keys', params: uniformParams, create: createUniform },
  { name: 'zipf-sequence', summary: 'Zipf distributions that shift every interval', params: zipfSequenceParams, create: createZipfSequence },
  { name: 'drifting-key', summary: 'Zipf base plus one key whose probability flips bands', params: driftingKeyParams, create: createDriftingKey },
  { name: 'csv', summary: 'replay of key,text or key,v1,… rows', params: csvParams, create: createCsv },
]);

/** All workload names, in registration order. */
export function workloadNames(): string[] {
  return WORKLOADS.names();
}

/** The entry of workload `name`, or an UnknownNameError (code UNKNOWN_NAME) listing the valid names. */
export function workloadEntry(name: string, field = 'workload.name'): WorkloadEntry {
  return WORKLOADS.get(name, field);
}

/** Validates the params of `spec` (errors name `workload.params.<field>`) and returns them with defaults. */
export function parseWorkloadParams(spec: WorkloadSpec): Record<string, unknown> {
  return WORKLOADS.parseParams(spec.name, spec.params);
}

/**
 * Creates the workload of `spec` drawing payload ids from `payloads` (build them with
 * `buildPayloads(taskSpec, workloadSpec)`). Deterministic for a given spec and call sequence.
 */
export function createWorkload(spec: WorkloadSpec, payloads: PayloadStore): Workload {
  const entry = workloadEntry(spec.name);
  return entry.create(parseWorkloadParams(spec) as never, payloads);
}
