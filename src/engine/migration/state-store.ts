// One worker's keyed global state, grouped by bin so a whole bin can be exported and imported at once.
import { InvariantError } from '../../common/errors.js';
import type { TaskOperator } from '../../tasks/types.js';

/**
 * A bin's state in transit: the encoded entries (`TaskOperator.encode`) and an estimate of their size.
 * Structured-cloneable, so it crosses threads (postMessage) and processes (JSON) unchanged.
 */
export interface ExportedBin {
  readonly bin: number;
  /** [key, encoded state] pairs in ascending key order. */
  readonly entries: [number, unknown][];
  /** Estimated serialised size of `entries` in bytes (see `estimateBytes`). */
  readonly bytes: number;
}

/**
 * Deterministic size estimate of a structured-cloneable value in bytes: 8 per number, 4 per boolean,
 * 2 per string char (+8), byteLength for typed arrays/ArrayBuffers, the sum of the parts (+8 per
 * container) for arrays, Maps, Sets and objects. Used for `bytes moved`; not an exact wire size.
 */
export function estimateBytes(v: unknown): number {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 4;
    case 'string':
      return 8 + 2 * v.length;
    case 'undefined':
      return 0;
    case 'object': {
      if (v === null) return 0;
      if (ArrayBuffer.isView(v)) return v.byteLength;
      if (v instanceof ArrayBuffer) return v.byteLength;
      let n = 8;
      if (Array.isArray(v)) {
        for (const x of v) n += estimateBytes(x);
      } else if (v instanceof Map) {
        for (const [k, x] of v) n += estimateBytes(k) + estimateBytes(x);
      } else if (v instanceof Set) {
        for (const x of v) n += estimateBytes(x);
      } else {
        for (const k of Object.keys(v)) n += 8 + 2 * k.length + estimateBytes((v as Record<string, unknown>)[k]);
      }
      return n;
    }
    default:
      return 0;
  }
}

/**
 * Per-worker keyed global state organised by bin, driven by a TaskOperator (create/add/merge/encode/
 * decode/output). Invariant: a key's state is stored under `binOf(key)` and nowhere else in this store;
 * exporting removes it, importing merges into any state already present (merge is associative and
 * commutative, so importing a key twice would double it: the protocol never does that).
 */
export class KeyedStateStore<S> {
  /** key → state: one Map lookup on the hot path. */
  private readonly states = new Map<number, S>();
  /** bin → keys held in it (for export); a bin with no key has no entry. */
  private readonly binKeys = new Map<number, Set<number>>();

  /**
   * @param op the task operator (its `kind` should be `global`; windowed partials are not migrated).
   * @param binOf key → bin; must be the router's function (same bits and seed).
   */
  constructor(
    readonly op: TaskOperator<S>,
    readonly binOf: (key: number) => number,
  ) {}

  /** Number of keys held. */
  get size(): number {
    return this.states.size;
  }

  /**
   * Applies one record of `key` with `payload` (creates the key's state on first use). `bin`, when the
   * caller already computed it, must equal `binOf(key)`; it is only hashed when the key is new.
   */
  add(key: number, payload: number, bin?: number): void {
    let s = this.states.get(key);
    if (s === undefined) {
      s = this.op.create();
      this.insert(key, s, bin ?? this.binOf(key));
    }
    this.op.add(s, key, payload);
  }

  /** The state of `key`, or undefined when this store does not hold it. */
  get(key: number): S | undefined {
    return this.states.get(key);
  }

  /** True when the store holds any key of `bin`. */
  hasBin(bin: number): boolean {
    return this.binKeys.has(bin);
  }

  /** Bins that currently hold at least one key, ascending. */
  bins(): number[] {
    return [...this.binKeys.keys()].sort((a, b) => a - b);
  }

  /** Every key held, ascending. */
  keys(): number[] {
    return [...this.states.keys()].sort((a, b) => a - b);
  }

  /** Removes `key` and returns its encoded state, or undefined when absent. */
  exportKey(key: number): unknown {
    const s = this.states.get(key);
    if (s === undefined) return undefined;
    this.states.delete(key);
    const bin = this.binOf(key);
    const ks = this.binKeys.get(bin) as Set<number>;
    ks.delete(key);
    if (ks.size === 0) this.binKeys.delete(bin);
    return this.op.encode(s);
  }

  /** Installs `data` (an `encode` result) for `key`, merging into existing state. */
  importKey(key: number, data: unknown): void {
    const incoming = this.op.decode(data);
    const cur = this.states.get(key);
    if (cur === undefined) this.insert(key, incoming, this.binOf(key));
    else this.op.merge(cur, incoming);
  }

  /**
   * Removes every key of `bin` and returns them encoded, keys ascending. An empty bin exports
   * `{ bin, entries: [], bytes }` (the hand-over still happens: the protocol does not special-case it).
   */
  exportBin(bin: number): ExportedBin {
    const ks = this.binKeys.get(bin);
    const entries: [number, unknown][] = [];
    if (ks !== undefined) {
      const keys = [...ks].sort((a, b) => a - b);
      for (const k of keys) {
        entries.push([k, this.op.encode(this.states.get(k) as S)]);
        this.states.delete(k);
      }
      this.binKeys.delete(bin);
    }
    return { bin, entries, bytes: estimateBytes(entries) };
  }

  /**
   * Imports an exported bin, merging each entry into existing state. Throws InvariantError when an
   * entry's key does not belong to `exported.bin` (different binning on both sides).
   */
  importBin(exported: Pick<ExportedBin, 'bin' | 'entries'>): void {
    for (const [k, data] of exported.entries) {
      if (this.binOf(k) !== exported.bin) {
        throw new InvariantError(`key ${k} is not in bin ${exported.bin}: binning differs between workers`, {
          key: k,
          bin: exported.bin,
        });
      }
      this.importKey(k, data);
    }
  }

  /** key → `op.output(state)` for every key held (for final-state comparison), keys ascending. */
  snapshot(): Map<number, unknown> {
    const out = new Map<number, unknown>();
    for (const k of this.keys()) out.set(k, this.op.output(this.states.get(k) as S));
    return out;
  }

  private insert(key: number, s: S, bin: number): void {
    this.states.set(key, s);
    let ks = this.binKeys.get(bin);
    if (ks === undefined) {
      ks = new Set();
      this.binKeys.set(bin, ks);
    }
    ks.add(key);
  }
}
