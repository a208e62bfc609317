// An open-addressing int → int hash map in one packed array (the word-count partial's hot path).

const EMPTY = 0;
const GOLDEN = 0x9e3779b1;

/**
 * Map from non-negative int32 ids to int32 counts with linear probing. Slot i is `slots[2i]` (id + 1,
 * so 0 marks an empty slot) and `slots[2i + 1]` (count), interleaved so that a probe touches one cache
 * line. Capacity is a power of two, load factor ≤ 1/2. Entries whose count drops to 0 stay in the
 * table and are skipped by `forEach`/`entries`; `size` counts them too.
 */
export class CountMap {
  /**
   * Interleaved [id + 1, count] pairs; length = 2 × capacity. A packed small-integer JS array, not a
   * typed array: a window holds one map per (key, pane), and allocating a typed array costs several
   * times more than a small JS array in V8 (measured in docs/adr/0002).
   */
  slots: number[];
  /** Occupied slots. */
  size = 0;
  private shift: number;
  private mask: number;

  constructor(capacity = 16) {
    let cap = 8;
    while (cap < capacity) cap <<= 1;
    this.slots = new Array<number>(2 * cap).fill(0);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  /** Adds `delta` to the count of `id` (inserting it at 0 first). */
  add(id: number, delta: number): void {
    const k = id + 1;
    const s = this.slots;
    let i = Math.imul(k, GOLDEN) >>> this.shift;
    for (;;) {
      const cur = s[2 * i];
      if (cur === k) {
        s[2 * i + 1] += delta;
        return;
      }
      if (cur === EMPTY) break;
      i = (i + 1) & this.mask;
    }
    s[2 * i] = k;
    s[2 * i + 1] = delta;
    if (++this.size * 4 > s.length) this.grow();
  }

  /** The count of `id` (0 when absent). */
  get(id: number): number {
    const k = id + 1;
    const s = this.slots;
    let i = Math.imul(k, GOLDEN) >>> this.shift;
    for (;;) {
      const cur = s[2 * i];
      if (cur === k) return s[2 * i + 1];
      if (cur === EMPTY) return 0;
      i = (i + 1) & this.mask;
    }
  }

  /** Calls `fn(id, count)` for every id with a non-zero count, in table order. */
  forEach(fn: (id: number, count: number) => void): void {
    const s = this.slots;
    for (let j = 0; j < s.length; j += 2) if (s[j] !== EMPTY && s[j + 1] !== 0) fn(s[j] - 1, s[j + 1]);
  }

  /** Adds every count of `other` into this map. */
  addAll(other: CountMap): void {
    const s = other.slots;
    for (let j = 0; j < s.length; j += 2) if (s[j] !== EMPTY && s[j + 1] !== 0) this.add(s[j] - 1, s[j + 1]);
  }

  /** [id, count] pairs with non-zero counts, sorted by id. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    this.forEach((id, c) => out.push([id, c]));
    out.sort((a, b) => a[0] - b[0]);
    return out;
  }

  private grow(): void {
    const old = this.slots;
    const cap = old.length; // new capacity = 2 × old capacity = old.length
    const s = new Array<number>(2 * cap).fill(0);
    this.mask = cap - 1;
    this.shift -= 1;
    for (let j = 0; j < old.length; j += 2) {
      const k = old[j];
      if (k === EMPTY) continue;
      let i = Math.imul(k, GOLDEN) >>> this.shift;
      while (s[2 * i] !== EMPTY) i = (i + 1) & this.mask;
      s[2 * i] = k;
      s[2 * i + 1] = old[j + 1];
    }
    this.slots = s;
  }
}
