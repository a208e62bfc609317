// Small task operators for engine unit tests (the real tasks live in src/tasks).
import type { TaskOperator, Workload } from '../../src/tasks/types.js';
import { Rng } from '../../src/common/rng.js';

/** Windowed: counts "words" per key, where payload p stands for the words p % 5 and (p+1) % 5. */
export function miniWordCount(): TaskOperator<Map<number, number>> {
  return {
    name: 'mini-wordcount',
    kind: 'windowed',
    cost: () => 2,
    create: () => new Map(),
    add(m, _key, payload) {
      for (const w of [payload % 5, (payload + 1) % 5]) m.set(w, (m.get(w) ?? 0) + 1);
    },
    merge(into, from) {
      for (const [w, c] of from) into.set(w, (into.get(w) ?? 0) + c);
    },
    encode: (m) => [...m],
    decode: (d) => new Map(d as Array<[number, number]>),
    output: (m) => [...m].sort((a, b) => a[0] - b[0]),
  };
}

/** Global keyed count. */
export function miniKeyedCount(): TaskOperator<{ n: number }> {
  return {
    name: 'mini-keyedcount',
    kind: 'global',
    cost: () => 1,
    create: () => ({ n: 0 }),
    add(s) {
      s.n++;
    },
    merge(into, from) {
      into.n += from.n;
    },
    encode: (s) => s.n,
    decode: (d) => ({ n: d as number }),
    output: (s) => s.n,
  };
}

/** A seeded skewed key stream over numKeys keys (key i with weight 1/(i+1)). */
export function skewedWorkload(numKeys: number, seed: number): Workload {
  const rng = new Rng(seed);
  const cdf = new Float64Array(numKeys);
  let s = 0;
  for (let i = 0; i < numKeys; i++) cdf[i] = s += 1 / (i + 1);
  return {
    name: 'skewed',
    numKeys,
    fill(keys, payloads, offset, n) {
      for (let i = offset; i < offset + n; i++) {
        const u = rng.next() * s;
        let lo = 0;
        let hi = numKeys - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid] < u) lo = mid + 1;
          else hi = mid;
        }
        keys[i] = lo;
        payloads[i] = rng.int(1000);
      }
      return n;
    },
  };
}

/** Reference: per (windowStart:key) result of `op` over recorded records, for windows of size/slide. */
export function referenceWindows<P>(
  op: TaskOperator<P>,
  input: { keys: number[]; payloads: number[]; times: number[] },
  sizeMs: number,
  slideMs: number,
): Map<string, unknown> {
  const acc = new Map<string, P>();
  for (let i = 0; i < input.keys.length; i++) {
    const t = input.times[i];
    const last = Math.floor(t / slideMs) * slideMs;
    for (let s = last; s > t - sizeMs; s -= slideMs) {
      const id = `${s}:${input.keys[i]}`;
      let p = acc.get(id);
      if (!p) acc.set(id, (p = op.create()));
      op.add(p, input.keys[i], input.payloads[i]);
    }
  }
  const out = new Map<string, unknown>();
  for (const [id, p] of acc) out.set(id, op.output(p));
  return out;
}
