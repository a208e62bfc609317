// Per-key fragment sets of tracked (hot) keys, exact over the window even for keys that were cold before.
import { KeySlots } from './slots.js';
import { FragmentTracker } from './window.js';

/**
 * The `frag(k)` state of Dalton/DAGreedy (partitioners.md §6.1) without per-key × per-worker arrays
 * for every key. Cold records always go to the key's deterministic cold worker, so an untracked key
 * needs only the slide stamp of its last cold record (`lastCold`). A key gets a slot when it turns
 * hot (its frag seeded with the cold worker if that stamp is live) and keeps it while the key is
 * `active` or its fragment set is non-empty. Invariant: for a tracked key, `frag.size(slot)` is the
 * exact number of workers that received it within the window.
 */
export class TrackedKeys {
  readonly slots: KeySlots;
  readonly frag: FragmentTracker;
  /** slide + 1 of the key's last cold record; 0 = never. */
  readonly lastCold: Int32Array;
  /** Per slot: 1 while the key is active (hot / has a Q entry). */
  active: Uint8Array;
  /** Number of active slots. */
  activeCount = 0;
  private readonly n: number;

  constructor(numKeys: number, n: number, numSlides: number) {
    this.n = n;
    this.slots = new KeySlots(numKeys, 64);
    this.frag = new FragmentTracker(n, numSlides, 64);
    this.lastCold = new Int32Array(numKeys);
    this.active = new Uint8Array(64);
  }

  /** Slot of `key`, allocating it (and seeding its frag with `coldW` if the key was cold in the window). */
  acquire(key: number, coldW: number, slide: number): number {
    let slot = this.slots.slotOf(key);
    if (slot >= 0) return slot;
    slot = this.slots.acquire(key);
    const cap = this.slots.capacity;
    if (this.active.length < cap) {
      const a = new Uint8Array(cap);
      a.set(this.active);
      this.active = a;
    }
    this.frag.ensure(cap);
    this.frag.clear(slot);
    const lc = this.lastCold[key];
    if (lc > 0) this.frag.touch(slot, coldW, lc - 1);
    if (lc > 0) this.frag.expireSlot(slot, slide);
    return slot;
  }

  /** Marks `slot` active or not, keeping `activeCount`. */
  setActive(slot: number, on: boolean): void {
    const was = this.active[slot] === 1;
    if (was === on) return;
    this.active[slot] = on ? 1 : 0;
    this.activeCount += on ? 1 : -1;
  }

  /** Records a cold record of `key` at worker `w` in `slide`. */
  cold(key: number, w: number, slide: number): void {
    this.lastCold[key] = slide + 1;
    const slot = this.slots.slotOf(key);
    if (slot >= 0) this.frag.touch(slot, w, slide);
  }

  /** At a new slide: recounts every slot and releases inactive slots whose frag emptied. */
  expire(slide: number): void {
    const cap = this.slots.capacity;
    for (let s = 0; s < cap; s++) {
      const key = this.slots.keyOf(s);
      if (key < 0) continue;
      this.frag.expireSlot(s, slide);
      if (this.active[s] === 0 && this.frag.size(s) === 0) {
        this.frag.clear(s);
        this.slots.release(key);
      }
    }
  }

  /** Offset of `slot`'s live workers in `frag.list` (there are `frag.size(slot)` of them, in insertion order). */
  membersBase(slot: number): number {
    return slot * this.n;
  }
}
