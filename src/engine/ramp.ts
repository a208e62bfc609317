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
  readonly maxBusyMs: number;
  readonly sustained: boolean;
}

/**
 * A rate controller for the max-throughput test. After warm-up it holds `initialRate` for one
 * interval, then judges the interval's slides (all but the first, which absorbs the change): if the
 * achieved rate stayed within tolerance of the target the rate was sustained and is raised by
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
    if (start < this.stepStart) return;
    this.window.push(r);
    if (start + r.slideMs < this.stepStart + this.o.intervalMs) return;
    const judged = this.window.length > 1 ? this.window.slice(1) : this.window;
    this.window = [];
    const achieved = judged.reduce((a, x) => a + x.job.achievedRate, 0) / judged.length;
    const maxBusy = Math.max(...judged.map((x) => Math.max(...x.workers.map((w) => w.busyMs))));
    const sustained = achieved >= this.rate * (1 - this.o.tolerance);
    this.steps.push({ rate: this.rate, achieved, maxBusyMs: maxBusy, sustained });
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
