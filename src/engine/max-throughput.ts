// Runs one job under the max-throughput ramp and returns the last sustained rate.
import type { JobConfig } from './config.js';
import { buildJob, runJob } from './job.js';
import { RampController, type RampStep } from './ramp.js';
import type { Sink } from './sink.js';
import type { RunHooks, RunResult } from './types.js';

/** The outcome of a ramp. */
export interface MaxThroughputResult {
  /** Last sustained rate, records/s (0 when the initial rate was already backpressured). */
  readonly maxThroughput: number;
  /** True when backpressure was reached (false: stopped at maxRate or the time cap). */
  readonly backpressured: boolean;
  readonly steps: RampStep[];
  readonly run: RunResult;
}

/**
 * Ramps the source of `cfg` (its `ramp` section) until the achieved rate falls below the target, on
 * either clock. The job's `source.rate` is ignored; `durationMs` is replaced by `ramp.maxDurationMs`.
 */
export async function runMaxThroughput(cfg: JobConfig, hooks: RunHooks = {}, sink?: Sink): Promise<MaxThroughputResult> {
  const ramp = new RampController(cfg.ramp);
  const job = buildJob({ ...cfg, durationMs: cfg.ramp.maxDurationMs }, { sink });
  const params = { ...job.params, rate: ramp };
  const run = await runJob({ ...job, params }, {
    ...hooks,
    onSlide: (r) => {
      ramp.onSlide(r);
      hooks.onSlide?.(r);
    },
    shouldStop: () => ramp.done || (hooks.shouldStop?.() ?? false),
  });
  const last = ramp.steps[ramp.steps.length - 1];
  return { maxThroughput: ramp.maxSustained, backpressured: last !== undefined && !last.sustained, steps: ramp.steps, run };
}
