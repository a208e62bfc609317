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
