// Serialisable task and workload specs: what a worker thread needs to rebuild operators and payloads.
import { z } from 'zod';

/** A task as named in a job config: `{ name, params }`. Params are validated by the task's own schema. */
export const taskSpecSchema = z.strictObject({
  name: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** A workload as named in a job config: `{ name, params }`. */
export const workloadSpecSchema = z.strictObject({
  name: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** A task spec (plain JSON, structured-cloneable). */
export type TaskSpec = z.infer<typeof taskSpecSchema>;
/** A workload spec (plain JSON, structured-cloneable). */
export type WorkloadSpec = z.infer<typeof workloadSpecSchema>;

/** The payload id space a generated workload draws from: the store's size, capped to int32 (Infinity → 2^31 − 1). */
export function payloadSpaceOf(size: number): number {
  if (!Number.isFinite(size)) return 0x7fffffff;
  return Math.max(1, Math.min(0x7fffffff, Math.floor(size)));
}
