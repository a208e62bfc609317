// A log-linear latency histogram (≈1.6% relative precision) with O(1) allocation-free recording.

const SUB_BITS = 6;
const SUB = 1 << SUB_BITS; // 64 sub-buckets per power of two
const BUCKETS = (26 << SUB_BITS) + 2 * SUB;

/**
 * Records non-negative values (we use microseconds) into buckets of width 2^shift, where
 * shift = max(0, floor(log2 v) − 6): exact below 128, then ≈1.6% relative error. Values above 2^31 are
 * clamped. It is a hand-written HDR-style histogram because `hdr-histogram-js` costs ~200 ns per record
 * here, too slow for the virtual clock's per-record path (docs/adr/0002).
 */
export class LogHistogram {
  readonly counts = new Float64Array(BUCKETS);
  total = 0;
  max = 0;

  /** Adds one value (rounded down to an integer; negative → 0). */
  record(value: number): void {
    let v = value > 0 ? (value < 2147483647 ? value | 0 : 2147483647) : 0;
    if (value > this.max) this.max = value;
    const msb = 31 - Math.clz32(v | 1);
    const shift = msb > SUB_BITS ? msb - SUB_BITS : 0;
    v = (shift << SUB_BITS) + (v >>> shift);
    this.counts[v]++;
    this.total++;
  }

  /** Adds every count of `other` into this histogram. */
  add(other: LogHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
    if (other.max > this.max) this.max = other.max;
  }

  /** Empties the histogram. */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }

  /** The value at percentile `p` (0..100): the upper edge of the bucket holding it; NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketUpper(i), this.max);
    }
    return this.max;
  }

  /** Counts as sparse [bucketIndex, count] pairs (compact to send between threads). */
  toSparse(): number[] {
    const out: number[] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) out.push(i, this.counts[i]);
    return out;
  }

  /** Adds sparse pairs produced by `toSparse`. */
  addSparse(pairs: readonly number[], max: number): void {
    for (let i = 0; i < pairs.length; i += 2) {
      this.counts[pairs[i]] += pairs[i + 1];
      this.total += pairs[i + 1];
    }
    if (max > this.max) this.max = max;
  }
}

/** Largest value that maps to bucket `i` (inverse of the index computed in `record`). */
export function bucketUpper(i: number): number {
  if (i < 2 * SUB) return i;
  const shift = (i >>> SUB_BITS) - 1;
  const m = i - (shift << SUB_BITS); // in [64, 127]
  return (m + 1) * 2 ** shift - 1;
}
