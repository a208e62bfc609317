// One worker's keyed global state, grouped by bin so a whole bin can be exported and imported at once.
import { InvariantError } from '../../common/errors.js';
import type { NumericState, TaskOperator } from '../../tasks/types.js';

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
 *
 * Layout: one `Map<key, state>` per bin that holds keys, so a bin leaves with one delete and arrives in
 * a fresh map, and a record costs two lookups (its bin's map, then its key) in small maps. When the
 * operator has a numeric form (`TaskOperator.numeric`) the maps hold numbers (the encoded state) and
 * no object per key: exports and imports then move plain numbers, and installing a bin leaves only the
 * map's own table for the garbage collector.
 */
export class KeyedStateStore<S> {
  /** bin → (key → state, or its number with a numeric operator); a bin with no key has no entry. */
  private readonly byBin = new Map<number, Map<number, unknown>>();
  private count = 0;
  private readonly num: NumericState | undefined;

  /**
   * @param op the task operator (its `kind` should be `global`; windowed partials are not migrated).
   * @param binOf key → bin; must be the router's function (same bits and seed).
   */
  constructor(
    readonly op: TaskOperator<S>,
    readonly binOf: (key: number) => number,
  ) {
    this.num = op.numeric;
  }

  /** Number of keys held. */
  get size(): number {
    return this.count;
  }

  /**
   * Applies one record of `key` with `payload` (creates the key's state on first use). `bin`, when the
   * caller already computed it, must equal `binOf(key)`; otherwise the key is hashed here.
   */
  add(key: number, payload: number, bin: number = this.binOf(key)): void {
    let m = this.byBin.get(bin);
    if (m === undefined) {
      m = new Map();
      this.byBin.set(bin, m);
    }
    const num = this.num;
    if (num !== undefined) {
      let n = m.get(key) as number | undefined;
      if (n === undefined) {
        n = num.zero;
        this.count++;
      }
      m.set(key, num.add(n, key, payload));
      return;
    }
    let s = m.get(key) as S | undefined;
    if (s === undefined) {
      s = this.op.create();
      m.set(key, s);
      this.count++;
    }
    this.op.add(s, key, payload);
  }

  /** The state of `key` (decoded from its number with a numeric operator), or undefined when this store does not hold it. */
  get(key: number): S | undefined {
    const v = this.byBin.get(this.binOf(key))?.get(key);
    if (v === undefined) return undefined;
    return this.num === undefined ? (v as S) : this.op.decode(v);
  }

  /** The encoded state of `key` (`op.encode`), or undefined when this store does not hold it. */
  encoded(key: number): unknown {
    const v = this.byBin.get(this.binOf(key))?.get(key);
    if (v === undefined) return undefined;
    return this.encodeHeld(v);
  }

  /** True when the store holds any key of `bin`. */
  hasBin(bin: number): boolean {
    return this.byBin.has(bin);
  }

  /** Bins that currently hold at least one key, ascending. */
  bins(): number[] {
    return [...this.byBin.keys()].sort((a, b) => a - b);
  }

  /** Every key held, ascending. */
  keys(): number[] {
    const out: number[] = [];
    for (const m of this.byBin.values()) for (const k of m.keys()) out.push(k);
    return out.sort((a, b) => a - b);
  }

  /** Removes `key` and returns its encoded state, or undefined when absent. */
  exportKey(key: number): unknown {
    const bin = this.binOf(key);
    const m = this.byBin.get(bin);
    const v = m?.get(key);
    if (m === undefined || v === undefined) return undefined;
    m.delete(key);
    this.count--;
    if (m.size === 0) this.byBin.delete(bin);
    return this.encodeHeld(v);
  }

  /** Installs `data` (an `encode` result) for `key`, merging into existing state. */
  importKey(key: number, data: unknown): void {
    const bin = this.binOf(key);
    let m = this.byBin.get(bin);
    if (m === undefined) {
      m = new Map();
      this.byBin.set(bin, m);
    }
    this.mergeInto(m, key, data);
  }

  /**
   * Removes every key of `bin` and returns them encoded, keys ascending. An empty bin exports
   * `{ bin, entries: [], bytes }` (the hand-over still happens: the protocol does not special-case it).
   */
  exportBin(bin: number): ExportedBin {
    const m = this.byBin.get(bin);
    if (m === undefined) return { bin, entries: [], bytes: estimateBytes([]) };
    this.byBin.delete(bin);
    this.count -= m.size;
    const keys = Float64Array.from(m.keys()).sort();
    const entries = new Array<[number, unknown]>(keys.length);
    if (this.num !== undefined) {
      // Numbers travel as they are: estimateBytes(entries) = 8 + 24 per entry.
      for (let i = 0; i < keys.length; i++) entries[i] = [keys[i], m.get(keys[i])];
      return { bin, entries, bytes: 8 + 24 * keys.length };
    }
    let bytes = 8; // estimateBytes(entries), summed on the way: 8 + Σ (8 + 8 + estimateBytes(encoded))
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const enc = this.op.encode(m.get(k) as S);
      entries[i] = [k, enc];
      bytes += 16 + estimateBytes(enc);
    }
    return { bin, entries, bytes };
  }

  /** Every key of `bin` encoded, keys ascending, without removing anything (a standby snapshot). */
  peekBin(bin: number): [number, unknown][] {
    const m = this.byBin.get(bin);
    if (m === undefined) return [];
    const keys = Float64Array.from(m.keys()).sort();
    const entries = new Array<[number, unknown]>(keys.length);
    for (let i = 0; i < keys.length; i++) entries[i] = [keys[i], this.encodeHeld(m.get(keys[i]))];
    return entries;
  }

  /**
   * Imports an exported bin, merging each entry into existing state. Throws InvariantError when an
   * entry's key does not belong to `exported.bin` (different binning on both sides), or, with a numeric
   * operator, when an entry's state is not a number.
   */
  importBin(exported: Pick<ExportedBin, 'bin' | 'entries'>): void {
    const { bin, entries } = exported;
    const held = this.byBin.get(bin);
    const m = held ?? new Map<number, unknown>();
    for (const [k, data] of entries) {
      if (this.binOf(k) !== bin) {
        throw new InvariantError(`key ${k} is not in bin ${bin}: binning differs between workers`, { key: k, bin });
      }
      this.mergeInto(m, k, data);
    }
    if (held === undefined && m.size > 0) this.byBin.set(bin, m);
  }

  /** key → `op.output(state)` for every key held (for final-state comparison), keys ascending. */
  snapshot(): Map<number, unknown> {
    const out = new Map<number, unknown>();
    for (const k of this.keys()) out.set(k, this.op.output(this.get(k) as S));
    return out;
  }

  private encodeHeld(v: unknown): unknown {
    return this.num === undefined ? this.op.encode(v as S) : v;
  }

  /** Merges encoded `data` into `key`'s state in `m` (decoding it first unless numeric). */
  private mergeInto(m: Map<number, unknown>, key: number, data: unknown): void {
    const num = this.num;
    const cur = m.get(key);
    if (num !== undefined) {
      if (typeof data !== 'number') {
        throw new InvariantError(`key ${key}: expected a number as its state (the operator is numeric), got ${typeof data}`, { key });
      }
      if (cur === undefined) this.count++;
      m.set(key, cur === undefined ? data : num.merge(cur as number, data));
      return;
    }
    const incoming = this.op.decode(data);
    if (cur === undefined) {
      m.set(key, incoming);
      this.count++;
    } else this.op.merge(cur as S, incoming);
  }
}
