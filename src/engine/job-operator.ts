// Thread-side factory: rebuilds the task operator (and its payloads) from the job's plain JSON specs.
import { buildPayloads, createTask, type TaskSpec, type TaskOperator, type WorkloadSpec } from '../tasks/index.js';

/** Arguments a worker thread receives to rebuild its operator. */
export interface OperatorArgs {
  readonly task: TaskSpec;
  readonly workload: WorkloadSpec;
}

/** Builds the job's task operator inside a worker thread (payload stores are loaded locally). */
export function operatorFromSpecs(args: OperatorArgs): TaskOperator {
  return createTask(args.task, buildPayloads(args.task, args.workload));
}
