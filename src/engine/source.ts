// Source rate control: a fixed rate, a step schedule, or unthrottled.

/** One step of a rate schedule: `rate` records/s for `durationMs` ms of event time. */
export interface RateStep {
  readonly rate: number;
  readonly durationMs: number;
}

/** Anything that gives the source's target rate (records/s) at event time `t` ms; Infinity = unthrottled. */
export interface RateSource {
  rateAt(t: number): number;
}

/**
 * Target rate as a function of event time. The last step of a schedule holds forever. `Infinity`
 * means unthrottled: the source emits as fast as backpressure allows.
 */
export class RateSchedule implements RateSource {
  private readonly ends: number[] = [];
  private readonly rates: number[] = [];

  constructor(spec: number | 'unthrottled' | readonly RateStep[]) {
    if (spec === 'unthrottled') {
      this.rates.push(Infinity);
      this.ends.push(Infinity);
    } else if (typeof spec === 'number') {
      this.rates.push(spec);
      this.ends.push(Infinity);
    } else {
      let t = 0;
      for (const s of spec) {
        t += s.durationMs;
        this.rates.push(s.rate);
        this.ends.push(t);
      }
      this.ends[this.ends.length - 1] = Infinity;
    }
  }

  /** Target records/s at event time `t` ms. */
  rateAt(t: number): number {
    for (let i = 0; i < this.ends.length; i++) if (t < this.ends[i]) return this.rates[i];
    return this.rates[this.rates.length - 1];
  }

  /** True when the rate never changes. */
  get isFixed(): boolean {
    return this.rates.length === 1;
  }
}
