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

/**
 * An asynchronous record source for the real clock (e.g. a Kafka topic), used instead of the
 * workload's generator. Records are ingested at the wall-clock time the engine takes them: windows and
 * latency use that time, not a time carried by the record.
 *
 * Delivery contract (at-least-once): the engine calls `processedThrough(pane)` once every record it
 * took while in a pane ≤ `pane` has been processed and every output depending on it has been handed
 * to the sink and flushed; only then may the source commit those records. `Infinity` means everything
 * taken (the end of a run that finished cleanly).
 */
export interface PullSource {
  /**
   * Copies up to `n` available records into `keys`/`payloads` from index 0 and returns how many; 0 =
   * nothing available right now (see `ended`). `pane` tags the taken records for `processedThrough`.
   */
  take(keys: Int32Array, payloads: Int32Array, n: number, pane: number): number;
  /** True once the source will never yield another record (and nothing is left to take). */
  readonly ended: boolean;
  /** Resolves when records may be available, the source ended, or after `maxMs`. */
  wait(maxMs: number): Promise<void>;
  /** Every record taken in panes ≤ `pane` is processed and its outputs are flushed to the sink. */
  processedThrough(pane: number): Promise<void>;
}
