// A combiner worker's state: per-pane partials per key (windowed tasks) or keyed global state.
import { murmur3Int } from '../common/hash.js';
import type { TaskOperator } from '../tasks/types.js';
import { panesPerWindow, paneOf, type WindowSpec } from './window.js';

/** Seed of the key → reducer hash. */
const REDUCER_SEED = 0x7ed;

/** Reducer index of `key` among R reducers. */
export function reducerOf(key: number, numReducers: number): number {
  return murmur3Int(key, REDUCER_SEED) % numReducers;
}

/** Which keys of a closing window were split: a sorted key list, or every key. */
export type SplitSet = Int32Array | 'all';

/** What a combiner emits when a window closes. */
export interface WindowEmission<P> {
  /** Window start (ms). */
  readonly windowStart: number;
  /** Final results of keys that were on this worker only (key forwarding): [key, output] pairs. */
  readonly forwarded: Array<[number, unknown]>;
  /** Partials of split keys, grouped by reducer index. */
  readonly toReducer: Array<Array<[number, P]>>;
}

/**
 * The state of one combiner worker. Windowed tasks: one Map<key, partial> per open pane; a window
 * close merges its panes per key and drops the oldest pane. Global tasks: one Map<key, state>.
 * Invariant: `add` applies records in call order (per-worker FIFO), so results do not depend on the clock.
 */
export class Combiner<P> {
  private readonly panes = new Map<number, Map<number, P>>();
  private curPaneIdx = Number.NaN;
  private curPane: Map<number, P> | undefined;
  /** Keyed global state (global tasks). */
  readonly state = new Map<number, P>();
  /** Records applied so far. */
  records = 0;
  private readonly k: number;
  private readonly global: boolean;

  constructor(
    readonly worker: number,
    readonly op: TaskOperator<P>,
    readonly window: WindowSpec,
    readonly numReducers: number,
  ) {
    this.k = panesPerWindow(window);
    this.global = op.kind === 'global';
  }

  /** Applies one record. */
  add(key: number, payload: number, eventTimeMs: number): void {
    this.records++;
    let m: Map<number, P> | undefined;
    if (this.global) {
      m = this.state;
    } else {
      const pane = paneOf(eventTimeMs, this.window.slideMs);
      if (pane !== this.curPaneIdx) {
        this.curPaneIdx = pane;
        m = this.panes.get(pane);
        if (m === undefined) {
          m = new Map();
          this.panes.set(pane, m);
        }
        this.curPane = m;
      } else m = this.curPane!;
    }
    let p = m.get(key);
    if (p === undefined) {
      p = this.op.create();
      m.set(key, p);
    }
    this.op.add(p, key, payload);
  }

  /**
   * Closes the window whose last pane is `lastPane`: merges its panes per key, forwards unsplit keys'
   * results (or null when `needsOutput` is false) and groups split keys' partials by reducer. Then drops pane lastPane − k + 1, which no
   * later window uses. A no-op emission for global tasks.
   */
  closeWindow(lastPane: number, split: SplitSet, needsOutput = true): WindowEmission<P> {
    const first = lastPane - this.k + 1;
    const windowStart = first * this.window.slideMs;
    const forwarded: Array<[number, unknown]> = [];
    const toReducer: Array<Array<[number, P]>> = Array.from({ length: this.numReducers }, () => []);
    if (this.global) return { windowStart, forwarded, toReducer };
    let merged: Map<number, P>;
    if (this.k === 1) {
      merged = this.panes.get(first) ?? new Map();
    } else {
      merged = new Map();
      for (let p = first; p <= lastPane; p++) {
        const pane = this.panes.get(p);
        if (!pane) continue;
        const last = p === first; // the oldest pane is dropped after this window: it can be merged destructively
        for (const [key, part] of pane) {
          const acc = merged.get(key);
          const src = last ? part : this.op.decode(this.op.encode(part));
          if (acc === undefined) merged.set(key, src);
          else this.op.merge(acc, src);
        }
      }
    }
    this.panes.delete(first);
    if (this.curPaneIdx === first) {
      this.curPaneIdx = Number.NaN;
      this.curPane = undefined;
    }
    const all = split === 'all';
    const splitSet = all || split.length === 0 ? undefined : new Set(split);
    for (const [key, part] of merged) {
      if (all || (splitSet !== undefined && splitSet.has(key))) toReducer[reducerOf(key, this.numReducers)].push([key, part]);
      else forwarded.push([key, needsOutput ? this.op.output(part) : null]);
    }
    return { windowStart, forwarded, toReducer };
  }

  /**
   * The state this worker holds now (`worker.state_keys`, `worker.state_bytes`): distinct keys over its
   * open panes (or its keyed state), and an estimate of the bytes: per (pane, key) entry 48 bytes of map
   * entry plus the operator's `stateBytes` of the partial (32 when it has none).
   */
  stateSize(): { keys: number; bytes: number } {
    const sizeOf = this.op.stateBytes?.bind(this.op);
    let bytes = 0;
    if (this.global) {
      for (const p of this.state.values()) bytes += 48 + (sizeOf ? sizeOf(p) : 32);
      return { keys: this.state.size, bytes };
    }
    let keys = 0;
    if (this.panes.size === 1) {
      for (const m of this.panes.values()) {
        keys = m.size;
        for (const p of m.values()) bytes += 48 + (sizeOf ? sizeOf(p) : 32);
      }
      return { keys, bytes };
    }
    const seen = new Set<number>();
    for (const m of this.panes.values())
      for (const [k, p] of m) {
        seen.add(k);
        bytes += 48 + (sizeOf ? sizeOf(p) : 32);
      }
    return { keys: seen.size, bytes };
  }

  /** Panes currently held (for tests and memory metrics). */
  openPanes(): number[] {
    return [...this.panes.keys()].sort((a, b) => a - b);
  }
}
