// A tiny keyed-count task operator for the migration tests: per key, the number of records and the sum of payloads.
import type { TaskOperator } from '../../src/tasks/types.js';

/** Per-key state: record count and payload sum. */
export interface CountState {
  n: number;
  sum: number;
}

/** Keyed count (global kind): add counts one record, merge adds, encode is [n, sum]. */
export const keyedCount: TaskOperator<CountState> = {
  name: 'test-keyed-count',
  kind: 'global',
  cost: () => 1,
  create: () => ({ n: 0, sum: 0 }),
  add: (s, _key, payload) => {
    s.n++;
    s.sum += payload;
  },
  merge: (into, from) => {
    into.n += from.n;
    into.sum += from.sum;
  },
  encode: (s) => [s.n, s.sum],
  decode: (d) => {
    const [n, sum] = d as [number, number];
    return { n, sum };
  },
  output: (s) => ({ n: s.n, sum: s.sum }),
};

/** Per-key state of `keyedSum`: Σ (payload + 1) over the key's records. */
export interface SumState {
  v: number;
}

/**
 * A keyed sum with a numeric form (`TaskOperator.numeric`): every record adds payload + 1, so a lost
 * or duplicated record changes the result. Stores hold plain numbers for it.
 */
export const keyedSum: TaskOperator<SumState> = {
  name: 'test-keyed-sum',
  kind: 'global',
  cost: () => 1,
  create: () => ({ v: 0 }),
  add: (s, _key, payload) => {
    s.v += payload + 1;
  },
  merge: (into, from) => {
    into.v += from.v;
  },
  encode: (s) => s.v,
  decode: (d) => ({ v: d as number }),
  output: (s) => s.v,
  numeric: { zero: 0, add: (v, _key, payload) => v + payload + 1, merge: (a, b) => a + b },
};

/** `keyedSum` without its numeric form: the same results through one state object per key. */
export const keyedSumObjects: TaskOperator<SumState> = { ...keyedSum, name: 'test-keyed-sum-objects', numeric: undefined };
