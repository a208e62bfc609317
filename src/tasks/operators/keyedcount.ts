// Keyed running count: global (non-windowed) per-key state; splitting or migrating a key adds counts.
import { z } from 'zod';
import type { TaskOperator } from '../types.js';

/** Parameters of `keyedcount`. */
export const keyedcountParams = z.strictObject({
  /** Work amplification: each record also runs multiplier − 1 rounds of integer mixing. Default 1. */
  multiplier: z.number().int().min(1).max(1_000_000).default(1),
});

/** Parsed `keyedcount` parameters. */
export type KeyedcountParams = z.infer<typeof keyedcountParams>;

/** The per-key state: the number of records of the key. */
export interface KeyCount {
  n: number;
}

/** Written by the amplification rounds so that the JIT cannot drop them. Never read for results. */
let sink = 0;

/** `rounds` rounds of murmur-style integer mixing seeded by `key` (the multiplier's extra work). */
function burn(key: number, rounds: number): void {
  let h = sink ^ key;
  for (let r = 0; r < rounds; r++) {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  }
  sink = h;
}

/**
 * The `keyedcount` operator (global). State = { n } per key; merge adds; output = n. Its numeric form
 * (`numeric`) is n itself, so keyed-state stores hold plain counts.
 * `multiplier` − 1 extra rounds of murmur-style mixing per record burn CPU without touching the
 * state. cost = multiplier.
 */
export function createKeyedcount(params: KeyedcountParams): TaskOperator<KeyCount> {
  const m = params.multiplier;
  return {
    name: 'keyedcount',
    kind: 'global',
    cost: () => m,
    create: () => ({ n: 0 }),
    add(state, key) {
      state.n += 1;
      if (m > 1) burn(key, m - 1);
    },
    merge(into, from) {
      into.n += from.n;
    },
    encode: (state) => state.n,
    decode: (data) => ({ n: data as number }),
    output: (state) => state.n,
    numeric: {
      zero: 0,
      add(n, key) {
        if (m > 1) burn(key, m - 1);
        return n + 1;
      },
      merge: (a, b) => a + b,
    },
  };
}
