// warmMigrationPath: the scratch run goes through every part of a hand-over, exactly as often as it says.
import { describe, expect, it } from 'vitest';
import { createBinning, warmMigrationPath } from '../../src/engine/migration/index.js';
import type { TaskOperator } from '../../src/tasks/types.js';
import { keyedCount, type CountState } from './keyed-count.js';

/** keyedCount with call counters on the functions a hand-over uses. */
function counted() {
  const calls = { create: 0, add: 0, encode: 0, decode: 0, merge: 0 };
  let finalSum = 0;
  const op: TaskOperator<CountState> = {
    ...keyedCount,
    create: () => (calls.create++, keyedCount.create()),
    add: (s, k, p) => (calls.add++, keyedCount.add(s, k, p)),
    encode: (s) => (calls.encode++, keyedCount.encode(s)),
    decode: (d) => {
      calls.decode++;
      const s = keyedCount.decode(d);
      finalSum = Math.max(finalSum, s.n);
      return s;
    },
    merge: (a, b) => (calls.merge++, keyedCount.merge(a, b)),
  };
  return { op, calls, maxDecodedCount: () => finalSum };
}

describe('warmMigrationPath', () => {
  it.each([
    [4, 10, 3],
    [10, 64, 5],
  ])('binBits %i, %i keys, %i rounds: every record applied once, the receiver buffers and replays, state moves each round', (binBits, keysPerBin, rounds) => {
    const binning = createBinning({ binBits });
    const { op, calls, maxDecodedCount } = counted();
    const s = warmMigrationPath(op, binning, rounds, keysPerBin);
    // Per round: the bin's keys once before the marker, once while buffered at the receiver, once after.
    expect(s).toEqual({ moves: rounds, records: 3 * keysPerBin * rounds, replayed: keysPerBin * rounds });
    expect(calls.add).toBe(3 * keysPerBin * rounds);
    // Each round exports every key of the bin once and installs it into an empty bin (decode, no merge).
    expect(calls.encode).toBe(keysPerBin * rounds);
    expect(calls.decode).toBe(keysPerBin * rounds);
    expect(calls.merge).toBe(0);
    expect(calls.create).toBe(keysPerBin);
    // The last state that arrived carries every record but the last round's replayed and later ones.
    expect(maxDecodedCount()).toBe(3 * rounds - 2);
  });
});
