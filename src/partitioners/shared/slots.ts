// A dense key → slot map with a free list, so per-key state of a few tracked keys lives in typed arrays.

/**
 * Maps tracked keys (dense ints in [0, numKeys)) to slots in [0, capacity). `slotOf(key)` is −1 for an
 * untracked key. Freed slots are reused (LIFO). Capacity grows by doubling when full; `onGrow` lets
 * owners resize their per-slot arrays. Invariant: `keyOf(slotOf(k)) === k` for every tracked k.
 */
export class KeySlots {
  private readonly slotByKey: Int32Array;
  private keys: Int32Array;
  private free: Int32Array;
  private freeCount: number;
  private used = 0;
  /** Current capacity (number of slots). */
  capacity: number;

  constructor(numKeys: number, initialCapacity = 64) {
    this.slotByKey = new Int32Array(numKeys).fill(-1);
    this.capacity = Math.max(1, initialCapacity);
    this.keys = new Int32Array(this.capacity).fill(-1);
    this.free = new Int32Array(this.capacity);
    for (let i = 0; i < this.capacity; i++) this.free[i] = this.capacity - 1 - i;
    this.freeCount = this.capacity;
  }

  /** Slot of `key`, or −1. */
  slotOf(key: number): number {
    return this.slotByKey[key];
  }

  /** Key in `slot`, or −1 when the slot is free. */
  keyOf(slot: number): number {
    return this.keys[slot];
  }

  /** Number of tracked keys. */
  get size(): number {
    return this.used;
  }

  /**
   * Slot of `key`, allocating one if needed (≥ 0). The capacity doubles when no slot is free; owners
   * of per-slot arrays compare `capacity` with their array sizes after a call (see `ensureInt32`).
   */
  acquire(key: number): number {
    const s = this.slotByKey[key];
    if (s >= 0) return s;
    if (this.freeCount === 0) this.grow();
    const slot = this.free[--this.freeCount];
    this.slotByKey[key] = slot;
    this.keys[slot] = key;
    this.used++;
    return slot;
  }

  /** Stops tracking `key` (no-op when untracked). Returns the freed slot or −1. */
  release(key: number): number {
    const s = this.slotByKey[key];
    if (s < 0) return -1;
    this.slotByKey[key] = -1;
    this.keys[s] = -1;
    this.free[this.freeCount++] = s;
    this.used--;
    return s;
  }

  /** Releases every tracked key. O(capacity). */
  releaseAll(): void {
    for (let s = 0; s < this.capacity; s++) if (this.keys[s] >= 0) this.release(this.keys[s]);
  }

  /** Calls `fn(slot, key)` for every tracked key (slot order). */
  forEach(fn: (slot: number, key: number) => void): void {
    for (let s = 0; s < this.capacity; s++) if (this.keys[s] >= 0) fn(s, this.keys[s]);
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const keys = new Int32Array(cap).fill(-1);
    keys.set(this.keys);
    this.keys = keys;
    const free = new Int32Array(cap);
    let f = 0;
    for (let i = cap - 1; i >= old; i--) free[f++] = i;
    this.free = free;
    this.freeCount = f;
    this.capacity = cap;
  }
}

/** Returns `arr` if it holds at least `n` elements, else a zero-filled copy grown to `n` (or more). */
export function ensureInt32(arr: Int32Array<ArrayBuffer>, n: number, fill = 0): Int32Array<ArrayBuffer> {
  if (arr.length >= n) return arr;
  const a = new Int32Array(Math.max(n, arr.length * 2)).fill(fill);
  a.set(arr);
  return a;
}

/** Float64 twin of {@link ensureInt32}. */
export function ensureFloat64(arr: Float64Array<ArrayBuffer>, n: number, fill = 0): Float64Array<ArrayBuffer> {
  if (arr.length >= n) return arr;
  const a = new Float64Array(Math.max(n, arr.length * 2)).fill(fill);
  a.set(arr);
  return a;
}
