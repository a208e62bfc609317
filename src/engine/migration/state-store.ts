// One worker's keyed global state, grouped by bin so a whole bin can be exported and imported at once.
import { InvariantError } from '../../common/errors.js';
import type { NumericState, TaskOperator } from '../../tasks/types.js';
import { NumericTable } from './numeric-table.js';

/**
 * A numeric bin's entries packed in two typed arrays: `keys` ascending and `values[i]` the number of
 * `keys[i]`. What a numeric store exports: no per-key object is allocated on either side, and a
 * message carrying it can transfer the two buffers to another thread instead of copying them.
 */
export interface PackedEntries {
  readonly keys: Float64Array;
  readonly values: Float64Array;
}

/** A bin's entries: `[key, TaskOperator.encode(state)]` pairs keys ascending, or packed numbers (numeric form). */
export type BinEntries = [number, unknown][] | PackedEntries;

/**
 * A bin's state in transit: the encoded entries and an estimate of their size. Structured-cloneable
 * (postMessage); entries in pairs (the object form) also survive JSON, packed ones need `entryPairs`.
 */
export interface ExportedBin {
  readonly bin: number;
  /** The bin's keys and encoded states, keys ascending (pairs, or packed numbers from a numeric store). */
  readonly entries: BinEntries;
  /** Estimated serialised size of `entries` in bytes (see `entriesBytes`). */
  readonly bytes: number;
}

/** True when `e` is the packed numeric form. */
export function isPacked(e: BinEntries): e is PackedEntries {
  return !Array.isArray(e);
}

/** Number of keys in `e`. */
export function entryCount(e: BinEntries): number {
  return isPacked(e) ? e.keys.length : e.length;
}

/** `e` as `[key, encoded]` pairs (a copy for packed entries; `e` itself otherwise). */
export function entryPairs(e: BinEntries): [number, unknown][] {
  if (!isPacked(e)) return e;
  const out = new Array<[number, unknown]>(e.keys.length);
  for (let i = 0; i < out.length; i++) out[i] = [e.keys[i], e.values[i]];
  return out;
}

/** The entries of `e` whose key passes `keep`, in the same form and order. */
export function filterEntries(e: BinEntries, keep: (key: number) => boolean): BinEntries {
  if (!isPacked(e)) return e.filter(([k]) => keep(k));
  const keys: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < e.keys.length; i++) {
    if (!keep(e.keys[i])) continue;
    keys.push(e.keys[i]);
    values.push(e.values[i]);
  }
  return { keys: Float64Array.from(keys), values: Float64Array.from(values) };
}

/**
 * `estimateBytes` of `e` as pairs, without building them for packed entries: 8 + 24 per key (a pair of
 * numbers), so both forms of the same state report the same bytes moved.
 */
export function entriesBytes(e: BinEntries): number {
  return isPacked(e) ? 8 + 24 * e.keys.length : estimateBytes(e);
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
 * Layout: one table per bin that holds keys, so a bin leaves with one delete and arrives in a fresh
 * table, and a record costs two lookups (its bin's table, then its key) in small tables.
 * - Object form: a `Map<key, state>` per bin.
 * - Numeric form (the operator has `TaskOperator.numeric`, e.g. keyedcount): a `NumericTable` per bin,
 *   keys and numbers in typed arrays off the JS heap. The garbage collector then has nothing to visit
 *   per key, so neither the steady state (millions of keys) nor installing a bin's keys leaves it work
 *   that grows with the keys (docs/migration.md, "Numeric state and reused batch buffers").
 */
export class KeyedStateStore<S> {
  /** Object form: bin → (key → state); a bin with no key has no entry. */
  private readonly byBin = new Map<number, Map<number, S>>();
  /** Numeric form: bin → (key → number); a bin with no key has no entry. */
  private readonly numBins = new Map<number, NumericTable>();
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
    const num = this.num;
    if (num !== undefined) {
      let t = this.numBins.get(bin);
      if (t === undefined) {
        t = new NumericTable();
        this.numBins.set(bin, t);
      }
      const before = t.size;
      const i = t.slotFor(key, num.zero);
      if (t.size !== before) this.count++;
      t.setAt(i, num.add(t.valueAt(i), key, payload));
      return;
    }
    let m = this.byBin.get(bin);
    if (m === undefined) {
      m = new Map();
      this.byBin.set(bin, m);
    }
    let s = m.get(key);
    if (s === undefined) {
      s = this.op.create();
      m.set(key, s);
      this.count++;
    }
    this.op.add(s, key, payload);
  }

  /** The state of `key` (decoded from its number in the numeric form), or undefined when this store does not hold it. */
  get(key: number): S | undefined {
    if (this.num === undefined) return this.byBin.get(this.binOf(key))?.get(key);
    const v = this.numBins.get(this.binOf(key))?.get(key);
    return v === undefined ? undefined : this.op.decode(v);
  }

  /** The encoded state of `key` (`op.encode`), or undefined when this store does not hold it. */
  encoded(key: number): unknown {
    if (this.num !== undefined) return this.numBins.get(this.binOf(key))?.get(key);
    const s = this.byBin.get(this.binOf(key))?.get(key);
    return s === undefined ? undefined : this.op.encode(s);
  }

  /** True when the store holds any key of `bin`. */
  hasBin(bin: number): boolean {
    return this.num === undefined ? this.byBin.has(bin) : this.numBins.has(bin);
  }

  /** Bins that currently hold at least one key, ascending. */
  bins(): number[] {
    return [...(this.num === undefined ? this.byBin.keys() : this.numBins.keys())].sort((a, b) => a - b);
  }

  /** Every key held, ascending. */
  keys(): number[] {
    const out: number[] = [];
    if (this.num === undefined) {
      for (const m of this.byBin.values()) for (const k of m.keys()) out.push(k);
    } else for (const t of this.numBins.values()) for (const k of t.keyArray()) out.push(k);
    return out.sort((a, b) => a - b);
  }

  /** Removes `key` and returns its encoded state, or undefined when absent. */
  exportKey(key: number): unknown {
    const bin = this.binOf(key);
    if (this.num !== undefined) {
      const t = this.numBins.get(bin);
      const v = t?.delete(key);
      if (t === undefined || v === undefined) return undefined;
      this.count--;
      if (t.size === 0) this.numBins.delete(bin);
      return v;
    }
    const m = this.byBin.get(bin);
    const s = m?.get(key);
    if (m === undefined || s === undefined) return undefined;
    m.delete(key);
    this.count--;
    if (m.size === 0) this.byBin.delete(bin);
    return this.op.encode(s);
  }

  /** Installs `data` (an `encode` result) for `key`, merging into existing state. */
  importKey(key: number, data: unknown): void {
    const bin = this.binOf(key);
    if (this.num !== undefined) {
      let t = this.numBins.get(bin);
      if (t === undefined) {
        t = new NumericTable();
        this.numBins.set(bin, t);
      }
      this.mergeNumber(t, key, data);
      return;
    }
    let m = this.byBin.get(bin);
    if (m === undefined) {
      m = new Map();
      this.byBin.set(bin, m);
    }
    this.mergeInto(m, key, this.op.decode(data));
  }

  /**
   * Removes every key of `bin` and returns them encoded, keys ascending. An empty bin exports
   * `{ bin, entries: [], bytes }` (the hand-over still happens: the protocol does not special-case it).
   */
  exportBin(bin: number): ExportedBin {
    if (this.num !== undefined) {
      const t = this.numBins.get(bin);
      if (t === undefined) return { bin, entries: [], bytes: estimateBytes([]) };
      this.numBins.delete(bin);
      this.count -= t.size;
      const entries = packTable(t);
      t.release();
      return { bin, entries, bytes: entriesBytes(entries) };
    }
    const m = this.byBin.get(bin);
    if (m === undefined) return { bin, entries: [], bytes: estimateBytes([]) };
    this.byBin.delete(bin);
    this.count -= m.size;
    const keys = Float64Array.from(m.keys()).sort();
    const entries = new Array<[number, unknown]>(keys.length);
    let bytes = 8; // estimateBytes(entries), summed on the way: 8 + Σ (8 + 8 + estimateBytes(encoded))
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const enc = this.op.encode(m.get(k) as S);
      entries[i] = [k, enc];
      bytes += 16 + estimateBytes(enc);
    }
    return { bin, entries, bytes };
  }

  /** Every key of `bin` encoded, keys ascending, without removing anything (a standby snapshot; packed in the numeric form). */
  peekBin(bin: number): BinEntries {
    if (this.num !== undefined) {
      const t = this.numBins.get(bin);
      return t === undefined ? [] : packTable(t);
    }
    const m = this.byBin.get(bin);
    if (m === undefined) return [];
    const keys = Float64Array.from(m.keys()).sort();
    const entries = new Array<[number, unknown]>(keys.length);
    for (let i = 0; i < keys.length; i++) entries[i] = [keys[i], this.op.encode(m.get(keys[i]) as S)];
    return entries;
  }

  /**
   * Imports an exported bin, merging each entry into existing state. Throws InvariantError when an
   * entry's key does not belong to `exported.bin` (different binning on both sides), in the numeric
   * form when an entry's state is not a number, and for packed entries whose keys and values differ in
   * length; nothing is merged then. Either form of entries goes into either form of store.
   */
  importBin(exported: Pick<ExportedBin, 'bin' | 'entries'>): void {
    const { bin } = exported;
    if (isPacked(exported.entries)) {
      this.importPacked(bin, exported.entries);
      return;
    }
    const entries = exported.entries;
    const n = entries.length;
    // Indexed loops, no destructuring: `for (const [k] of entries)` allocates an iterator per entry until
    // the function is optimised, and a migration calls this once per bin (docs/migration.md).
    for (let i = 0; i < n; i++) {
      const k = entries[i][0];
      if (this.binOf(k) !== bin) {
        throw new InvariantError(`key ${k} is not in bin ${bin}: binning differs between workers`, { key: k, bin });
      }
      if (this.num !== undefined && typeof entries[i][1] !== 'number') {
        throw new InvariantError(`key ${k}: expected a number as its state (the operator is numeric), got ${typeof entries[i][1]}`, { key: k });
      }
    }
    if (this.num !== undefined) {
      if (n === 0) return;
      const held = this.numBins.get(bin);
      const t = held ?? NumericTable.obtain(Math.ceil((n * 4) / 3) + 1);
      for (let i = 0; i < n; i++) this.mergeNumber(t, entries[i][0], entries[i][1]);
      if (held === undefined) this.numBins.set(bin, t);
      return;
    }
    const held = this.byBin.get(bin);
    const m = held ?? new Map<number, S>();
    for (let i = 0; i < n; i++) this.mergeInto(m, entries[i][0], this.op.decode(entries[i][1]));
    if (held === undefined && m.size > 0) this.byBin.set(bin, m);
  }

  /** importBin for packed numbers: checks every key's bin first, then merges (decoded in the object form). */
  private importPacked(bin: number, e: PackedEntries): void {
    const { keys, values } = e;
    const n = keys.length;
    if (values.length !== n) {
      throw new InvariantError(`bin ${bin}: packed entries have ${n} keys and ${values.length} values`, { bin, keys: n, values: values.length });
    }
    for (let i = 0; i < n; i++) {
      if (this.binOf(keys[i]) !== bin) {
        throw new InvariantError(`key ${keys[i]} is not in bin ${bin}: binning differs between workers`, { key: keys[i], bin });
      }
    }
    if (n === 0) return;
    if (this.num !== undefined) {
      const held = this.numBins.get(bin);
      const t = held ?? NumericTable.obtain(Math.ceil((n * 4) / 3) + 1);
      for (let i = 0; i < n; i++) this.mergeNumber(t, keys[i], values[i]);
      if (held === undefined) this.numBins.set(bin, t);
      return;
    }
    const held = this.byBin.get(bin);
    const m = held ?? new Map<number, S>();
    for (let i = 0; i < n; i++) this.mergeInto(m, keys[i], this.op.decode(values[i]));
    if (held === undefined) this.byBin.set(bin, m);
  }

  /** key → `op.output(state)` for every key held (for final-state comparison), keys ascending. */
  snapshot(): Map<number, unknown> {
    const out = new Map<number, unknown>();
    for (const k of this.keys()) out.set(k, this.op.output(this.get(k) as S));
    return out;
  }

  private mergeInto(m: Map<number, S>, key: number, incoming: S): void {
    const cur = m.get(key);
    if (cur === undefined) {
      m.set(key, incoming);
      this.count++;
    } else this.op.merge(cur, incoming);
  }

  /** Merges an encoded number into `key` in `t` (numeric form). */
  private mergeNumber(t: NumericTable, key: number, data: unknown): void {
    if (typeof data !== 'number') {
      throw new InvariantError(`key ${key}: expected a number as its state (the operator is numeric), got ${typeof data}`, { key });
    }
    const before = t.size;
    const i = t.slotFor(key, data);
    if (t.size === before) t.setAt(i, this.num!.merge(t.valueAt(i), data));
    else this.count++;
  }
}

/** A numeric table's keys (ascending) and numbers, packed. */
function packTable(t: NumericTable): PackedEntries {
  const keys = t.keyArray().sort();
  const values = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) values[i] = t.get(keys[i])!;
  return { keys, values };
}
