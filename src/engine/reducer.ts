// A reducer: merges the partials of split keys per window once every combiner has closed it.
import type { TaskOperator } from '../tasks/types.js';

interface Pending<P> {
  markers: number;
  partials: Map<number, P>;
}

/**
 * Reducer r of R. Receives partials of split keys (already routed by `reducerOf`) and one end-of-
 * window marker per combiner. When all `numCombiners` markers of a window arrived it emits the merged
 * result of each key. Invariant: a (window, key) is emitted exactly once, after every partial of it.
 */
export class Reducer<P> {
  private readonly pending = new Map<number, Pending<P>>();
  /** Partials merged so far (merge load). */
  partialsIn = 0;

  constructor(
    readonly index: number,
    readonly op: TaskOperator<P>,
    readonly numCombiners: number,
  ) {}

  private entry(windowStart: number): Pending<P> {
    let e = this.pending.get(windowStart);
    if (!e) {
      e = { markers: 0, partials: new Map() };
      this.pending.set(windowStart, e);
    }
    return e;
  }

  /** Adds partials of `windowStart` from one combiner. */
  addPartials(windowStart: number, entries: ReadonlyArray<readonly [number, P]>): void {
    const e = this.entry(windowStart);
    for (const [key, part] of entries) {
      this.partialsIn++;
      const acc = e.partials.get(key);
      if (acc === undefined) e.partials.set(key, part);
      else this.op.merge(acc, part);
    }
  }

  /** One combiner closed `windowStart`. Returns the window's results when it was the last one. */
  marker(windowStart: number, needsOutput = true): Array<[number, unknown]> | undefined {
    const e = this.entry(windowStart);
    e.markers++;
    if (e.markers < this.numCombiners) return undefined;
    this.pending.delete(windowStart);
    const out: Array<[number, unknown]> = [];
    for (const [key, part] of e.partials) out.push([key, needsOutput ? this.op.output(part) : null]);
    return out;
  }

  /** Windows still waiting for markers. */
  openWindows(): number {
    return this.pending.size;
  }
}
