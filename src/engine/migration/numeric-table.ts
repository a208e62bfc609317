// An open-addressing key → number table in typed arrays: one bin's numeric keyed state, off the JS heap.

const GOLDEN = 0x9e3779b1;
const TWO_32 = 4294967296;
/** Bytes of emptied tables kept for reuse per thread (`NumericTable.obtain`/`release`). */
const SPARE_LIMIT_BYTES = 64 * 1024 * 1024;
/** This thread's emptied tables by capacity, and their bytes. */
const spare = new Map<number, NumericTable[]>();
let spareBytes = 0;

/**
 * Key → number map with linear probing, stored in three typed arrays (keys, values, occupancy), so the
 * garbage collector sees three array objects however many keys it holds: marking and scavenging cost
 * nothing per key, unlike a `Map` whose table V8 must visit slot by slot. Keys are integers
 * (|key| < 2^53; the engine's keys are int32). Capacity is a power of two, load factor ≤ 3/4; removal
 * shifts the following cluster back, so no tombstones are left.
 */
export class NumericTable {
  private keys: Float64Array;
  private vals: Float64Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;

  /** @param capacity initial slots (rounded up to a power of two, at least 8). */
  constructor(capacity = 8) {
    let cap = 8;
    while (cap < capacity) cap <<= 1;
    this.keys = new Float64Array(cap);
    this.vals = new Float64Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  /**
   * An empty table with at least `capacity` slots: an emptied one of that size when this thread kept
   * one (`release`), else a new one. A migration empties a bin's table at the source and fills one at
   * the destination; reusing them keeps it from allocating ArrayBuffers whose growth makes V8 start
   * major collections while records wait (docs/migration.md).
   */
  static obtain(capacity = 8): NumericTable {
    let cap = 8;
    while (cap < capacity) cap <<= 1;
    const t = spare.get(cap)?.pop();
    if (t === undefined) return new NumericTable(cap);
    spareBytes -= t.bytes;
    return t;
  }

  /** Empties the table and keeps it for `obtain` (up to 64 MB of spare tables per thread; beyond, it is left to the collector). Do not use it afterwards. */
  release(): void {
    if (spareBytes + this.bytes > SPARE_LIMIT_BYTES) return;
    this.used.fill(0);
    this.count = 0;
    let list = spare.get(this.capacity);
    if (list === undefined) spare.set(this.capacity, (list = []));
    list.push(this);
    spareBytes += this.bytes;
  }

  private get bytes(): number {
    return 17 * (this.mask + 1);
  }

  /** Number of keys held. */
  get size(): number {
    return this.count;
  }

  /** Slots allocated (a power of two). */
  get capacity(): number {
    return this.mask + 1;
  }

  private home(key: number): number {
    return Math.imul((key | 0) ^ ((key / TWO_32) | 0), GOLDEN) & this.mask;
  }

  /** The slot holding `key`, or else the empty slot that ends its probe sequence (where it would go). */
  private probe(key: number): number {
    const keys = this.keys;
    const used = this.used;
    let i = this.home(key);
    while (used[i] === 1 && keys[i] !== key) i = (i + 1) & this.mask;
    return i;
  }

  /** The slot of `key`, or -1 when absent. */
  private find(key: number): number {
    const i = this.probe(key);
    return this.used[i] === 1 ? i : -1;
  }

  /** True when `key` is held. */
  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  /** The value of `key`, or undefined when absent. */
  get(key: number): number | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.vals[i];
  }

  /**
   * The slot of `key`, inserting it with value `initial` when absent (the table may grow first). The
   * returned slot stays valid until the next insert or removal; `valueAt`/`setAt` use it.
   */
  slotFor(key: number, initial: number): number {
    if ((this.count + 1) * 4 > this.capacity * 3) this.grow();
    const i = this.probe(key);
    if (this.used[i] === 1) return i;
    this.used[i] = 1;
    this.keys[i] = key;
    this.vals[i] = initial;
    this.count++;
    return i;
  }

  /** The value in slot `i` (from `slotFor`). */
  valueAt(i: number): number {
    return this.vals[i];
  }

  /** Sets the value in slot `i` (from `slotFor`). */
  setAt(i: number, value: number): void {
    this.vals[i] = value;
  }

  /** Sets `key` to `value`. */
  set(key: number, value: number): void {
    const i = this.slotFor(key, value); // may grow: read this.vals only afterwards
    this.vals[i] = value;
  }

  /** Removes `key`; returns its value, or undefined when absent. */
  delete(key: number): number | undefined {
    let i = this.find(key);
    if (i < 0) return undefined;
    const v = this.vals[i];
    const keys = this.keys;
    const vals = this.vals;
    const used = this.used;
    const mask = this.mask;
    // Backward-shift deletion: move later members of the cluster into the hole when their home allows.
    let j = i;
    for (;;) {
      used[i] = 0;
      for (;;) {
        j = (j + 1) & mask;
        if (used[j] === 0) {
          this.count--;
          return v;
        }
        const h = this.home(keys[j]);
        // keep j where it is when its home lies cyclically in (i, j]
        if (i <= j ? i < h && h <= j : i < h || h <= j) continue;
        break;
      }
      keys[i] = keys[j];
      vals[i] = vals[j];
      used[i] = 1;
      i = j;
    }
  }

  /** Every key held, in table order (unsorted). */
  keyArray(): Float64Array {
    const out = new Float64Array(this.count);
    const used = this.used;
    const keys = this.keys;
    let n = 0;
    for (let i = 0; i <= this.mask; i++) if (used[i] === 1) out[n++] = keys[i];
    return out;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldUsed = this.used;
    const cap = 2 * (this.mask + 1);
    this.keys = new Float64Array(cap);
    this.vals = new Float64Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    const keys = this.keys;
    const used = this.used;
    for (let j = 0; j < oldUsed.length; j++) {
      if (oldUsed[j] === 0) continue;
      let i = this.home(oldKeys[j]);
      while (used[i] === 1) i = (i + 1) & this.mask;
      used[i] = 1;
      keys[i] = oldKeys[j];
      this.vals[i] = oldVals[j];
    }
  }
}
