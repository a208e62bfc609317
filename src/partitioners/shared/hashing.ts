// Worker-choice hash functions shared by the baselines: murmur3, `k mod n` and Knuth multiplicative hashing.
import { murmur3Int } from '../../common/hash.js';

/** How a baseline hashes a cold key: `mod` = the originals' `key mod P`, `murmur` = murmur3 (default, the fix). */
export type ColdHashMode = 'mod' | 'murmur';

/** Seed of the cold murmur hash; 38324 as SaSPartitioner's HashPartitioner, so cold keys land where `hash` puts them. */
export const DEFAULT_HASH_SEED = 38324;

/**
 * `floorMod(int32(murmur3_32(seed, key)), n)`: the `hash` partitioner's worker for `key`. Always in [0, n).
 * For a power of two n > 1 the floor modulo is the low bits (`& (n − 1)`), which skips an integer division.
 */
export function murmurWorker(key: number, seed: number, n: number): number {
  const h = murmur3Int(key, seed) | 0;
  if (n > 1 && (n & (n - 1)) === 0) return h & (n - 1);
  const r = h % n;
  // `| 0` turns the -0 of a negative multiple of n into 0 (same index, but Object.is and toEqual differ).
  return r < 0 ? r + n : r | 0;
}

/** The golden ratio conjugate φ = (√5 − 1)/2 used by Knuth multiplicative hashing. */
export const PHI = (Math.sqrt(5) - 1) / 2;

/**
 * Knuth multiplicative hashing, the second choice of Dalton/SaS cAM, CM and TwoChoices
 * (partitioners.md §1 pitfall 2): `floor(n · frac((key + 1) · φ))`. Always in [0, n).
 */
export function knuthWorker(key: number, n: number): number {
  const x = (key + 1) * PHI;
  const w = Math.floor(n * (x - Math.floor(x)));
  return w >= n ? n - 1 : w;
}

/** The cold route of a baseline: `mod` → `key mod n`, `murmur` → {@link murmurWorker} with `seed`. */
export function coldWorker(key: number, mode: ColdHashMode, seed: number, n: number): number {
  return mode === 'mod' ? key % n : murmurWorker(key, seed, n);
}
