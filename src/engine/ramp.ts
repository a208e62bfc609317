// The max-throughput ramp: raise the source rate step by step until backpressure (SaSPartitioner §5.3).
import type { SlideReport } from '../common/metrics.js';
import type { RateSource } from './source.js';

/** Ramp parameters (validated by the command's schema; defaults documented there). */
export interface RampOptions {
  /** Warm-up steps run first, not judged. */
  readonly warmup: ReadonlyArray<{ rate: number; durationMs: number }>;
  readonly initialRate: number;
  /** Smallest step, records/s; steps are multiples of it. */
  readonly rateStep: number;
  /** Largest step, records/s (the original caps it at 10000). */
  readonly maxStep: number;
  readonly maxRate: number;
  /** Divisor in the step rule; 10 in the original. */
  readonly stepDivisor: number;
  /** How long each rate is held before it is judged, ms (a multiple of the slide). */
  readonly intervalMs: number;
  /** Achieved/target below 1 − tolerance counts as backpressure (the original uses 0; we allow slack for batching). */
  readonly tolerance: number;
}

/** One judged interval. */
export interface RampStep {
  readonly rate: number;
  readonly achieved: number;
  /** Largest busy ms/s of any worker or reducer in the judged slides. */
  readonly maxBusyMs: number;
  /**
   * Largest queue growth over the judged slides, as a share of what that worker (or reducer) took in:
   * (queue at the end − queue before) / records routed to it (partials merged + growth, for a reducer). Above the tolerance the rate only looked
   * sustained because a queue was absorbing it.
   */
  readonly maxQueueGrowth: number;
  readonly sustained: boolean;
}

/** Queue growth (records or partials) at or below which a queue is not counted as growing: a window close's burst can leave a few waiting at a slide's end. */
export const MIN_GROWTH = 4;

/** The largest relative queue growth over `judged`, starting from the queues at the end of `before`. */
export function maxQueueGrowth(before: SlideReport, judged: readonly SlideReport[]): number {
  const last = judged[judged.length - 1];
  let worst = 0;
  for (let w = 0; w < last.workers.length; w++) {
    const growth = last.workers[w].queueLength - before.workers[w].queueLength;
    if (growth <= MIN_GROWTH) continue; // a few records: the timing of a window close, not a trend
    let taken = 0; // records routed to the worker (worker.records_in)
    for (const r of judged) taken += r.workers[w].recordsIn;
    worst = Math.max(worst, growth / Math.max(growth, taken));
  }
  const rb = before.reducers ?? [];
  const rl = last.reducers ?? [];
  for (let r = 0; r < Math.min(rb.length, rl.length); r++) {
    const growth = rl[r].queueLength - rb[r].queueLength;
    if (growth <= MIN_GROWTH) continue;
    let done = 0;
    for (const x of judged) done += x.reducers?.[r]?.merged ?? 0;
    worst = Math.max(worst, growth / (done + growth));
  }
  return worst;
}

/**
 * A rate controller for the max-throughput test. After warm-up it holds `initialRate` for one
 * interval, then judges the interval's slides (all but the first, which absorbs the change): if the
 * achieved rate stayed within tolerance of the target, and no worker's or reducer's queue grew by more
 * than the tolerance's share of what it took in (a filling queue hides an overload until it is full;
 * ours, not the original's, whose Flink buffers fill within an interval), the rate was sustained and is raised by
 * max(rateStep, min(maxStep, roundDown_rateStep((rate·900/maxBusy − rate)/stepDivisor))), as the original's
 * VariableRateLimiter does with stepDivisor = 10, capped at maxRate; otherwise the run is backpressured and the result is the
 * last sustained rate. `done` turns true then (or at maxRate).
 */
export class RampController implements RateSource {
  readonly steps: RampStep[] = [];
  done = false;
  /** Last sustained rate (records/s); 0 when even the initial rate was not sustained. */
  maxSustained = 0;
  private rate: number;
  private stepStart: number;
  private readonly warmEnd: number;
  private window: SlideReport[] = [];
  private prev: SlideReport | undefined;

  constructor(private readonly o: RampOptions) {
    this.warmEnd = o.warmup.reduce((a, s) => a + s.durationMs, 0);
    this.rate = o.initialRate;
    this.stepStart = this.warmEnd;
  }

  rateAt(t: number): number {
    if (t < this.warmEnd) {
      let end = 0;
      for (const s of this.o.warmup) {
        end += s.durationMs;
        if (t < end) return s.rate;
      }
    }
    return this.rate;
  }

  /** Feeds one slide report; call for every slide in order. */
  onSlide(r: SlideReport): void {
    if (this.done) return;
    const start = r.slideStartMs;
    if (start < this.stepStart) {
      this.prev = r;
      return;
    }
    this.window.push(r);
    if (start + r.slideMs < this.stepStart + this.o.intervalMs) return;
    const judged = this.window.length > 1 ? this.window.slice(1) : this.window;
    const before = this.window.length > 1 ? this.window[0] : this.prev;
    this.window = [];
    this.prev = r;
    const achieved = judged.reduce((a, x) => a + x.job.achievedRate, 0) / judged.length;
    // The original's maxBusy is over every subtask, aggregate and reduce alike (research/saspartitioner.md §5.3).
    const maxBusy = Math.max(...judged.map((x) => Math.max(...x.workers.map((w) => w.busyMs), ...(x.reducers ?? []).map((r) => r.busyMs))));
    const growth = before ? maxQueueGrowth(before, judged) : 0;
    const sustained = achieved >= this.rate * (1 - this.o.tolerance) && growth <= this.o.tolerance;
    this.steps.push({ rate: this.rate, achieved, maxBusyMs: maxBusy, maxQueueGrowth: growth, sustained });
    if (!sustained) {
      this.done = true;
      return;
    }
    this.maxSustained = this.rate;
    if (this.rate >= this.o.maxRate) {
      this.done = true;
      return;
    }
    const s = this.o.rateStep;
    const proposed = maxBusy > 0 ? ((this.rate * 900) / maxBusy - this.rate) / this.o.stepDivisor : this.o.maxStep;
    const step = Math.max(s, Math.min(this.o.maxStep, Math.floor(proposed / s) * s));
    this.rate = Math.min(this.o.maxRate, this.rate + step);
    this.stepStart = start + r.slideMs;
  }
}
