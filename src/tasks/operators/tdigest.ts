// Quantile sketch task (SaS §5.1): each record's doubles go into its key's t-digest; reducers merge digests.
import { z } from 'zod';
import { TDigest, type Centroid } from 'tdigest';
import { ConfigError } from '../../common/errors.js';
import { Rng, shuffleInPlace } from '../../common/rng.js';
import { DEFAULT_VALUES_PER_RECORD } from '../payloads/values.js';
import type { PayloadStore, TaskOperator } from '../types.js';

/** Parameters of `tdigest`. */
export const tdigestParams = z.strictObject({
  /** Work amplification (SaSPartitioner's `combinerWorkloadRatio`). Default 1. */
  multiplier: z.number().int().min(1).max(1_000_000).default(1),
  /** Doubles per generated record (SaSPartitioner: 100). Ignored with a CSV workload (row length). */
  valuesPerRecord: z.number().int().min(1).max(100_000).default(DEFAULT_VALUES_PER_RECORD),
  /** Seed of the generated values. Default 7. */
  valueSeed: z.number().int().default(7),
  /** Distribution of generated values: `uniform` [0,1) (default) or standard `normal`. */
  distribution: z.enum(['uniform', 'normal']).default('uniform'),
  /** t-digest compression (MergingDigest's 100 = delta 0.01 of the tdigest package). Default 100. */
  compression: z.number().min(10).max(10_000).default(100),
});

/** Parsed `tdigest` parameters. */
export type TdigestParams = z.infer<typeof tdigestParams>;

/** Encoded digest: centroid means (ascending) and weights. */
export interface EncodedDigest {
  readonly means: Float64Array;
  readonly weights: Float64Array;
}

/** Output of one (window, key): exact count, approximate median and 99th percentile (null when empty). */
export interface DigestOutput {
  count: number;
  p50: number | null;
  p99: number | null;
}

/** Centroids beyond this multiple of the compression trigger a (deterministic) recompression, as the package's K = 25. */
const RECOMPRESS_FACTOR = 25;

/**
 * Re-inserts the centroids of `d` in a seeded random order, like the package's `compress()` but with
 * our seeded Rng instead of Math.random, so runs are reproducible.
 */
function compressDeterministic(d: TDigest): void {
  const cs = d.toArray();
  const order = new Int32Array(cs.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  shuffleInPlace(order, new Rng((d.n * 2654435761) >>> 0));
  d.reset();
  for (let i = 0; i < order.length; i++) d._digest(cs[order[i]].mean, cs[order[i]].n);
  d._cumulate(true);
}

/**
 * The `tdigest` operator (windowed). Partial = a t-digest (the `tdigest` package, delta =
 * 1/compression, auto-compression replaced by a seeded one). `merge` re-inserts the other digest's
 * centroids in a seeded shuffled order. Counts are exact (sum of weights); p50/p99 are approximate and
 * merged digests differ slightly from a single digest (see docs/tasks.md for the tolerance).
 * `multiplier` > 1 repeats the inserts into a scratch digest owned by the operator, so the partial is
 * unchanged. cost = values × multiplier.
 */
export function createTdigest(params: TdigestParams, payloads: PayloadStore): TaskOperator<TDigest> {
  const valuesOf = payloads.values?.bind(payloads);
  if (!valuesOf) throw new ConfigError('task tdigest needs values payloads (generated or a key,v1,v2,… CSV)', { field: 'task.name', expected: 'values payloads' });
  const delta = 1 / params.compression;
  const maxCentroids = RECOMPRESS_FACTOR * params.compression;
  const m = params.multiplier;
  const fixedLength = (payloads as { valuesPerRecord?: number }).valuesPerRecord;
  const scratch = new TDigest(delta, 0);
  const make = (): TDigest => new TDigest(delta, 0);
  const insert = (d: TDigest, x: number, w: number): void => {
    d._digest(x, w);
    if (d.size() > maxCentroids) compressDeterministic(d);
  };
  return {
    name: 'tdigest',
    kind: 'windowed',
    cost: (payload) => (fixedLength ?? valuesOf(payload).length) * m,
    create: make,
    add(partial, _key, payload) {
      const vs = valuesOf(payload);
      for (let i = 0; i < vs.length; i++) insert(partial, vs[i], 1);
      for (let r = 1; r < m; r++) {
        if (scratch.n > 100_000) scratch.reset();
        for (let i = 0; i < vs.length; i++) insert(scratch, vs[i], 1);
      }
    },
    merge(into, from) {
      const cs: Centroid[] = from.toArray();
      const order = new Int32Array(cs.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
      shuffleInPlace(order, new Rng(((into.n + 1) * 40503 + from.n * 2654435761) >>> 0));
      for (let i = 0; i < order.length; i++) insert(into, cs[order[i]].mean, cs[order[i]].n);
    },
    encode(partial): EncodedDigest {
      const cs = partial.toArray();
      const means = new Float64Array(cs.length);
      const weights = new Float64Array(cs.length);
      for (let i = 0; i < cs.length; i++) {
        means[i] = cs[i].mean;
        weights[i] = cs[i].n;
      }
      return { means, weights };
    },
    decode(data) {
      const e = data as EncodedDigest;
      const d = make();
      // Ascending means re-create each centroid as is (each new point is beyond the current max).
      for (let i = 0; i < e.means.length; i++) d._digest(e.means[i], e.weights[i]);
      d._cumulate(true);
      return d;
    },
    output(partial): DigestOutput {
      if (partial.size() === 0) return { count: 0, p50: null, p99: null };
      return { count: partial.n, p50: partial.percentile(0.5) ?? null, p99: partial.percentile(0.99) ?? null };
    },
    stateBytes: (partial) => 48 * partial.size() + 128, // a centroid object per centroid in the package's tree
  };
}
