// An open-addressing int → int hash map on typed arrays (the word-count partial's hot path).

const EMPTY = 0;
const GOLDEN = 0x9e3779b1;

/**
 * Map from non-negative int32 ids to int32 counts, linear probing, keys stored as id+1 so that 0
 * marks an empty slot. Capacity is a power of two, load factor ≤ 1/2. Entries whose count drops to 0
 * stay in the table (with count 0) and are ignored by `forEach`/`entries`; `size` counts them too.
 */
export class CountMap {
  keys: Int32Array;
  counts: Int32Array;
  /** Occupied slots. */
  size = 0;
  private shift: number;
  private mask: number;

  constructor(capacity = 16) {
    let cap = 8;
    while (cap < capacity) cap <<= 1;
    this.keys = new Int32Array(cap);
    this.counts = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  /** Adds `delta` to the count of `id` (inserting it at 0 first). */
  add(id: number, delta: number): void {
    const k = id + 1;
    const keys = this.keys;
    let i = Math.imul(k, GOLDEN) >>> this.shift;
    for (;;) {
      const cur = keys[i];
      if (cur === k) {
        this.counts[i] += delta;
        return;
      }
      if (cur === EMPTY) break;
      i = (i + 1) & this.mask;
    }
    keys[i] = k;
    this.counts[i] = delta;
    if (++this.size * 2 > keys.length) this.grow();
  }

  /** The count of `id` (0 when absent). */
  get(id: number): number {
    const k = id + 1;
    const keys = this.keys;
    let i = Math.imul(k, GOLDEN) >>> this.shift;
    for (;;) {
      const cur = keys[i];
      if (cur === k) return this.counts[i];
      if (cur === EMPTY) return 0;
      i = (i + 1) & this.mask;
    }
  }

  /** Calls `fn(id, count)` for every id with a non-zero count, in table order. */
  forEach(fn: (id: number, count: number) => void): void {
    const keys = this.keys;
    const counts = this.counts;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY && counts[i] !== 0) fn(keys[i] - 1, counts[i]);
  }

  /** [id, count] pairs with non-zero counts, sorted by id. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    this.forEach((id, c) => out.push([id, c]));
    out.sort((a, b) => a[0] - b[0]);
    return out;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    const cap = oldKeys.length * 2;
    this.keys = new Int32Array(cap);
    this.counts = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift -= 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] !== EMPTY) {
        const k = oldKeys[i];
        let j = Math.imul(k, GOLDEN) >>> this.shift;
        while (this.keys[j] !== EMPTY) j = (j + 1) & this.mask;
        this.keys[j] = k;
        this.counts[j] = oldCounts[i];
        this.size++;
      }
    }
  }
}
