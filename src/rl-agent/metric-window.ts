// Sliding window over slide reports that yields the agent's observation, reward and info (engine side).
import type { SlideReport } from '../common/metrics.js';
import { DataError } from '../common/errors.js';
import { rewardFromBusy, scaleObservation, stepInfo, type StepInfo } from './env-math.js';

/**
 * The last `numSlides` slides of per-worker routed tuple counts and busy ms/s (research/saspartitioner.md
 * §2.2: counts summed over the metric window, busy averaged over it). `ready` is false until the
 * window is full; the reference takes no action during those first slides. Invariant: every pushed
 * slide has exactly P entries.
 */
export class MetricWindow {
  readonly numWorkers: number;
  readonly numSlides: number;
  private readonly routed: Float64Array;
  private readonly busy: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(numWorkers: number, numSlides = 1) {
    if (!Number.isInteger(numWorkers) || numWorkers < 1 || !Number.isInteger(numSlides) || numSlides < 1) {
      throw new DataError(`MetricWindow: numWorkers and numSlides must be integers >= 1, got ${numWorkers}, ${numSlides}`, { field: 'numSlides' });
    }
    this.numWorkers = numWorkers;
    this.numSlides = numSlides;
    this.routed = new Float64Array(numWorkers * numSlides);
    this.busy = new Float64Array(numWorkers * numSlides);
  }

  /** True once `numSlides` slides were pushed. */
  get ready(): boolean {
    return this.filled >= this.numSlides;
  }

  /** Adds one slide from a report: `partitioner.routed` and each worker's `busyMs`. */
  push(report: SlideReport): void {
    const busy = new Float64Array(this.numWorkers);
    if (report.workers.length !== this.numWorkers) {
      throw new DataError(`slide report has ${report.workers.length} workers, expected ${this.numWorkers}`, { field: 'workers' });
    }
    for (const w of report.workers) busy[w.worker] = w.busyMs;
    this.pushRaw(report.partitioner.routed, busy);
  }

  /** Adds one slide from raw arrays (length P each). */
  pushRaw(routed: ArrayLike<number>, busyMs: ArrayLike<number>): void {
    const p = this.numWorkers;
    if (routed.length !== p || busyMs.length !== p) {
      throw new DataError(`slide has ${routed.length} routed and ${busyMs.length} busy entries, expected ${p}`, { field: 'routed' });
    }
    const off = this.next * p;
    for (let i = 0; i < p; i++) {
      this.routed[off + i] = routed[i];
      this.busy[off + i] = busyMs[i];
    }
    this.next = (this.next + 1) % this.numSlides;
    this.filled = Math.min(this.filled + 1, this.numSlides);
  }

  /** Routed tuples per worker summed over the slides held. */
  counts(): Float64Array {
    return this.reduce(this.routed, false);
  }

  /** Busy ms/s per worker averaged over the slides held. */
  busyMs(): Float64Array {
    return this.reduce(this.busy, true);
  }

  /** The 2P observation (env-math.scaleObservation of counts() and busyMs()). */
  observation(out?: Float32Array): Float32Array {
    return scaleObservation(this.counts(), this.busyMs(), out);
  }

  /** Reward of the window's busy times against `base` (> 0). */
  reward(base: number): number {
    return rewardFromBusy(this.busyMs(), base);
  }

  /** imbalance, nmad and perf of the window's busy times (the step's `info`). */
  info(): StepInfo {
    return stepInfo(this.busyMs());
  }

  private reduce(src: Float64Array, mean: boolean): Float64Array {
    const p = this.numWorkers;
    const out = new Float64Array(p);
    const n = this.filled;
    for (let s = 0; s < n; s++) for (let i = 0; i < p; i++) out[i] += src[s * p + i];
    if (mean && n > 0) for (let i = 0; i < p; i++) out[i] /= n;
    return out;
  }
}
