// Dalton with the reward taken from measured per-worker busy times (SaS `dalton-metrics`, saspartitioner.md §4.6).
import { z } from 'zod';
import type { SlideReport } from '../common/metrics.js';
import { DaltonCore, daltonBaseFields, daltonCoreOptions, daltonGroup, type DaltonPartitioner } from './dalton.js';
import { windowMultipleMessage, windowMultipleOfSlide } from './shared/params.js';
import type { PartitionerContext } from './types.js';

/** Parameters of `dalton-metrics`: Dalton's, plus the busy-time window. */
export const daltonMetricsParams = z
  .strictObject({
    ...daltonBaseFields,
    /** Metric slides averaged into b (SaS `metricWindowNumSlides`). Default 5. */
    metricWindowSlides: z.number().int().min(1).default(5),
  })
  .refine(windowMultipleOfSlide, windowMultipleMessage);

/**
 * Per-worker rewards from busy times: with b the mean busy ms/s over the metric window,
 * r_w = (avg(b) − b_w) / max(avg(b), b_w), and 0 when both are 0 (saspartitioner.md §4.6).
 * Writes into `out` (length P) and returns it.
 */
export function busyRewards(busy: ArrayLike<number>, out: Float64Array): Float64Array {
  const n = out.length;
  let sum = 0;
  for (let w = 0; w < n; w++) sum += busy[w];
  const avg = sum / n;
  for (let w = 0; w < n; w++) {
    const mx = avg > busy[w] ? avg : busy[w];
    out[w] = mx > 0 ? (avg - busy[w]) / mx : 0;
  }
  return out;
}

/**
 * `dalton-metrics`: the same hot detection, ε-greedy choice and Q-table as `dalton`, but every hot
 * record's reward is r_w of {@link busyRewards} over the last `metricWindowSlides` reports'
 * `workers[].busyMs`. Before the first report b = 1000 for every worker (so r = 0). Single instance.
 */
export function createDaltonMetrics(ctx: PartitionerContext, params: z.infer<typeof daltonMetricsParams>): DaltonPartitioner {
  const n = ctx.numWorkers;
  const core = new DaltonCore(daltonCoreOptions(ctx, params, 'metrics'), ctx.clock);
  const win = params.metricWindowSlides;
  const ring = new Float64Array(win * n).fill(1000);
  const sum = new Float64Array(n).fill(1000 * win);
  const mean = new Float64Array(n);
  let head = 0;
  const group = daltonGroup('dalton-metrics', [core], params.slideMs, ctx.clock);
  return Object.assign(group, {
    onSlide(report: SlideReport): void {
      const base = head * n;
      for (let w = 0; w < n; w++) {
        sum[w] -= ring[base + w];
        ring[base + w] = 0;
      }
      for (const m of report.workers) {
        if (m.worker < 0 || m.worker >= n) continue;
        ring[base + m.worker] = m.busyMs;
        sum[m.worker] += m.busyMs;
      }
      head = head + 1 === win ? 0 : head + 1;
      for (let w = 0; w < n; w++) mean[w] = sum[w] / win;
      busyRewards(mean, core.workerReward);
    },
  });
}
