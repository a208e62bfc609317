// Router-side record of which keys went to more than one worker in a window (exact key forwarding).
import { panesPerWindow, type WindowSpec } from './window.js';

const SPLIT = -2;

/**
 * Tracks, per pane, the worker every key was sent to (or "split" when it went to two or more). At a
 * window close it yields the keys that were on more than one worker anywhere in the window: only
 * their partials go to a reducer; every other key's single partial is forwarded to the sink.
 * Keys are dense ints in [0, numKeys); per pane it keeps two typed arrays and the touched-key list.
 * Invariant: a key is reported split for a window iff its records in that window reached ≥ 2 workers.
 */
export class SplitTracker {
  private readonly k: number;
  private readonly worker: Int32Array[];
  private readonly stamp: Float64Array[];
  private readonly touched: Int32Array[];
  private readonly touchedLen: Int32Array;
  private readonly paneOfSlot: Float64Array;
  private cur = 0;
  private curPane = -1;

  constructor(
    private numKeys: number,
    window: WindowSpec,
  ) {
    this.k = panesPerWindow(window);
    this.worker = [];
    this.stamp = [];
    this.touched = [];
    for (let i = 0; i < this.k; i++) {
      this.worker.push(new Int32Array(numKeys));
      this.stamp.push(new Float64Array(numKeys).fill(-1));
      this.touched.push(new Int32Array(1024));
    }
    this.touchedLen = new Int32Array(this.k);
    this.paneOfSlot = new Float64Array(this.k).fill(-1);
  }

  /** Starts pane `pane` (must not decrease). Its slot is reused from pane − k. */
  startPane(pane: number): void {
    if (pane === this.curPane) return;
    this.curPane = pane;
    this.cur = ((pane % this.k) + this.k) % this.k;
    this.paneOfSlot[this.cur] = pane;
    this.touchedLen[this.cur] = 0;
  }

  /** Records that one record of `key` went to `w` in the current pane. */
  note(key: number, w: number): void {
    const s = this.cur;
    const st = this.stamp[s];
    if (st[key] !== this.curPane) {
      if (key >= this.numKeys) this.grow(key + 1);
      st[key] = this.curPane;
      this.worker[s][key] = w;
      let n = this.touchedLen[s];
      let t = this.touched[s];
      if (n === t.length) {
        const bigger = new Int32Array(n * 2);
        bigger.set(t);
        this.touched[s] = t = bigger;
      }
      t[n] = key;
      this.touchedLen[s] = n + 1;
    } else if (this.worker[s][key] !== w) {
      this.worker[s][key] = SPLIT;
    }
  }

  /**
   * The split keys of the window whose last pane is `lastPane` (panes lastPane−k+1 .. lastPane).
   * Panes never started count as empty.
   */
  splitKeys(lastPane: number): Int32Array {
    const out: number[] = [];
    const seen = new Map<number, number>();
    for (let p = lastPane - this.k + 1; p <= lastPane; p++) {
      const s = ((p % this.k) + this.k) % this.k;
      if (this.paneOfSlot[s] !== p) continue;
      const n = this.touchedLen[s];
      const t = this.touched[s];
      const wk = this.worker[s];
      for (let i = 0; i < n; i++) {
        const key = t[i];
        const w = wk[key];
        const prev = seen.get(key);
        if (prev === undefined) seen.set(key, w);
        else if (prev !== w && prev !== SPLIT) seen.set(key, SPLIT);
      }
    }
    for (const [key, w] of seen) if (w === SPLIT) out.push(key);
    out.sort((a, b) => a - b);
    return Int32Array.from(out);
  }

  private grow(n: number): void {
    for (let s = 0; s < this.k; s++) {
      const w = new Int32Array(n);
      w.set(this.worker[s]);
      this.worker[s] = w;
      const st = new Float64Array(n).fill(-1);
      st.set(this.stamp[s]);
      this.stamp[s] = st;
    }
    this.numKeys = n;
  }
}
