// The generated `values` payload store: N doubles per payload id, a pure function of (seed, id).
import { murmur3Int } from '../../common/hash.js';
import { Rng } from '../../common/rng.js';
import type { PayloadStore } from '../types.js';

/** Default number of doubles per record (SaSPartitioner's TDigest task sends 100). */
export const DEFAULT_VALUES_PER_RECORD = 100;

/** Options of a generated values store. */
export interface GeneratedValuesOptions {
  /** Doubles per record (default 100). */
  valuesPerRecord?: number;
  /** Seed of the values (default 7). */
  seed?: number;
  /** `uniform` in [0, 1) (default) or standard `normal`. */
  distribution?: 'uniform' | 'normal';
}

/**
 * Generated values: `values(id)` is a fresh Float64Array of `valuesPerRecord` doubles drawn from an
 * Rng seeded with murmur3(id, seed), so every thread derives the same values for the same id without
 * shipping them. `size` is Infinity (any non-negative int32 id is valid).
 */
export class GeneratedValuesStore implements PayloadStore {
  readonly kind = 'values' as const;
  readonly size = Infinity;
  readonly valuesPerRecord: number;
  readonly seed: number;
  readonly distribution: 'uniform' | 'normal';

  constructor(opts: GeneratedValuesOptions = {}) {
    this.valuesPerRecord = opts.valuesPerRecord ?? DEFAULT_VALUES_PER_RECORD;
    this.seed = opts.seed ?? 7;
    this.distribution = opts.distribution ?? 'uniform';
  }

  /** The doubles of record `id` (a new array each call; callers may keep it). */
  values(id: number): Float64Array {
    const out = new Float64Array(this.valuesPerRecord);
    const rng = new Rng(murmur3Int(id, this.seed));
    if (this.distribution === 'normal') for (let i = 0; i < out.length; i++) out[i] = rng.normal();
    else for (let i = 0; i < out.length; i++) out[i] = rng.next();
    return out;
  }
}

/** A store for tasks that read no payload (keyed count): one payload id, 0. */
export class EmptyStore implements PayloadStore {
  readonly kind = 'none' as const;
  readonly size = 1;
}
