// Cooperative Dalton: merge several instances' Q-tables by frequency-weighted average (partitioners.md §6.3).

/** What one Dalton instance sends to the merge at a sync point (its local Q-table and interval counts). */
export interface QSnapshot {
  /** Keys of the local Q-table. */
  readonly keys: Int32Array;
  /** Their Q rows, key-major: q[i · P + w]. */
  readonly q: Float64Array;
  /** The instance's count of each Q-table key in the interval. */
  readonly counts: Float64Array;
  /** Frequent keys not in the Q-table (the instance's top keys) and their counts. */
  readonly extraKeys: Int32Array;
  readonly extraCounts: Float64Array;
  /** Records the instance routed in the interval. */
  readonly total: number;
}

/** The merged table broadcast back to every instance. Keys ascending. */
export interface MergedQTable {
  readonly keys: Int32Array;
  readonly q: Float64Array;
  /** Σ of the instances' interval totals; the next hot threshold is total / P. */
  readonly total: number;
}

/**
 * Merges Q-tables (Dalton `QTableReducer`, partitioners.md §6.3): each key's global row is the
 * frequency-weighted average Σ_i cnt_i(k)·Q_i[k] / Σ_i cnt_i(k) over the instances whose table holds
 * k (a plain average when all those counts are 0); keys that are globally hot (Σ counts > total / P)
 * but in no table get a row of `q0`. Pure and order-independent up to float rounding; unlike the
 * original, the first message is weighted like the others.
 */
export function mergeQTables(snaps: readonly QSnapshot[], numWorkers: number, q0: number): MergedQTable {
  const n = numWorkers;
  const acc = new Map<number, { sum: Float64Array; plain: Float64Array; w: number; tables: number }>();
  const freq = new Map<number, number>();
  let total = 0;
  for (const s of snaps) {
    total += s.total;
    for (let i = 0; i < s.keys.length; i++) {
      const k = s.keys[i];
      const c = s.counts[i];
      let a = acc.get(k);
      if (!a) {
        a = { sum: new Float64Array(n), plain: new Float64Array(n), w: 0, tables: 0 };
        acc.set(k, a);
      }
      for (let w = 0; w < n; w++) {
        a.sum[w] += c * s.q[i * n + w];
        a.plain[w] += s.q[i * n + w];
      }
      a.w += c;
      a.tables++;
      freq.set(k, (freq.get(k) ?? 0) + c);
    }
    for (let i = 0; i < s.extraKeys.length; i++) freq.set(s.extraKeys[i], (freq.get(s.extraKeys[i]) ?? 0) + s.extraCounts[i]);
  }
  const threshold = total / n;
  const keys: number[] = [...acc.keys()];
  for (const [k, c] of freq) if (!acc.has(k) && c > threshold) keys.push(k);
  keys.sort((a, b) => a - b);
  const q = new Float64Array(keys.length * n);
  keys.forEach((k, i) => {
    const a = acc.get(k);
    for (let w = 0; w < n; w++) q[i * n + w] = !a ? q0 : a.w > 0 ? a.sum[w] / a.w : a.plain[w] / a.tables;
  });
  return { keys: Int32Array.from(keys), q, total };
}
