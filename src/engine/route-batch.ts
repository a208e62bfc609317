// One batch of route() calls, with the records' task costs for a partitioner that asks for them.
import type { Partitioner } from '../partitioners/types.js';
import type { TaskOperator } from '../tasks/types.js';

/**
 * A scratch array for {@link routeBatch}'s costs when `partitioner.usesCost`, else undefined (the
 * batch is then routed by key alone).
 */
export function costScratch(partitioner: Partitioner, capacity: number): Float64Array | undefined {
  return partitioner.usesCost ? new Float64Array(capacity) : undefined;
}

/**
 * Fills `costs[0..n)` with `op.cost(payloads[i])` when `costs` is defined. Kept apart from
 * {@link routeBatch} so that the engines' route timing does not include the task's cost model.
 */
export function fillCosts(op: Pick<TaskOperator, 'cost'>, payloads: Int32Array, n: number, costs: Float64Array | undefined): void {
  if (costs) for (let i = 0; i < n; i++) costs[i] = op.cost(payloads[i]);
}

/** `dest[i] = partitioner.route(keys[i], costs[i])` for i < n, or `route(keys[i])` without costs. Allocation-free. */
export function routeBatch(partitioner: Partitioner, keys: Int32Array, n: number, dest: Int32Array, costs: Float64Array | undefined): void {
  if (costs) for (let i = 0; i < n; i++) dest[i] = partitioner.route(keys[i], costs[i]);
  else for (let i = 0; i < n; i++) dest[i] = partitioner.route(keys[i]);
}
