// Reference results: window alignment and golden tumbling/sliding outputs computed by hand.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../../src/common/errors.js';
import { createTask, EmptyStore, outputsMatch, referenceGlobal, referenceWindowed, TextStore, windowStarts } from '../../src/tasks/index.js';

// sentences: 0 = [a b], 1 = [b c], 2 = [c]; ids a=0 b=1 c=2
const TEXT = new TextStore('a b\n\nb c\n\nc', 10);
const wc = createTask({ name: 'wordcount' }, TEXT);
const RECORDS = {
  keys: [1, 2, 1, 1, 2],
  payloads: [0, 1, 1, 2, 0],
  timesMs: [0, 4, 7, 12, 15],
};

describe('windowStarts', () => {
  it('aligns windows to multiples of the slide; s ≤ t < s + size', () => {
    expect(windowStarts(7, { sizeMs: 10, slideMs: 5 })).toEqual([0, 5]);
    expect(windowStarts(10, { sizeMs: 10 })).toEqual([10]);
    expect(windowStarts(9.99, { sizeMs: 10 })).toEqual([0]);
    expect(windowStarts(3, { sizeMs: 10, slideMs: 5 })).toEqual([-5, 0]);
    expect(windowStarts(29, { sizeMs: 30, slideMs: 10 })).toEqual([0, 10, 20]);
  });
  it('rejects a slide larger than the size or non-positive sizes', () => {
    expect(() => windowStarts(0, { sizeMs: 10, slideMs: 20 })).toThrow(ConfigError);
    expect(() => windowStarts(0, { sizeMs: 0 })).toThrow(ConfigError);
  });
});

describe('reference', () => {
  it('tumbling windows: golden values by hand', () => {
    expect(referenceWindowed(wc, RECORDS, { sizeMs: 10 })).toEqual([
      { windowStart: 0, key: 1, output: [[0, 1], [1, 2], [2, 1]] },
      { windowStart: 0, key: 2, output: [[1, 1], [2, 1]] },
      { windowStart: 10, key: 1, output: [[2, 1]] },
      { windowStart: 10, key: 2, output: [[0, 1], [1, 1]] },
    ]);
  });
  it('sliding windows (size 10, slide 5): golden values by hand', () => {
    expect(referenceWindowed(wc, RECORDS, { sizeMs: 10, slideMs: 5 })).toEqual([
      { windowStart: -5, key: 1, output: [[0, 1], [1, 1]] },
      { windowStart: -5, key: 2, output: [[1, 1], [2, 1]] },
      { windowStart: 0, key: 1, output: [[0, 1], [1, 2], [2, 1]] },
      { windowStart: 0, key: 2, output: [[1, 1], [2, 1]] },
      { windowStart: 5, key: 1, output: [[1, 1], [2, 2]] },
      { windowStart: 10, key: 1, output: [[2, 1]] },
      { windowStart: 10, key: 2, output: [[0, 1], [1, 1]] },
      { windowStart: 15, key: 2, output: [[0, 1], [1, 1]] },
    ]);
  });
  it('global task: final per-key state', () => {
    const kc = createTask({ name: 'keyedcount' }, new EmptyStore());
    expect(referenceGlobal(kc, { keys: [3, 1, 3, 3], payloads: [0, 0, 0, 0], timesMs: [0, 1, 2, 3] })).toEqual([
      { key: 1, output: 1 },
      { key: 3, output: 3 },
    ]);
  });
  it('equals any split of the records over workers merged per (window, key) (what the engine does)', () => {
    const rec = fc.record({ key: fc.integer({ min: 0, max: 3 }), payload: fc.integer({ min: 0, max: 2 }), t: fc.integer({ min: 0, max: 60 }), worker: fc.integer({ min: 0, max: 2 }) });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 40 }), fc.constantFrom(10, 20), fc.constantFrom(5, 10), (rs, size, slide) => {
        rs.sort((a, b) => a.t - b.t);
        const win = { sizeMs: size, slideMs: slide };
        // per worker, per (window, key) partials, then merged
        const parts = new Map<string, unknown[]>();
        for (const r of rs) {
          for (const s of windowStarts(r.t, win)) {
            const k = `${s}|${r.key}`;
            const perWorker = parts.get(k) ?? [];
            parts.set(k, perWorker);
            perWorker[r.worker] ??= wc.create();
            wc.add(perWorker[r.worker], r.key, r.payload);
          }
        }
        const merged = [...parts].map(([k, ps]) => {
          const [s, key] = k.split('|').map(Number);
          const live = ps.filter((p) => p !== undefined);
          const acc = wc.decode(wc.encode(live[0]));
          for (const p of live.slice(1)) wc.merge(acc, p);
          return { windowStart: s, key, output: wc.output(acc) };
        });
        merged.sort((a, b) => a.windowStart - b.windowStart || a.key - b.key);
        const ref = referenceWindowed(wc, { keys: rs.map((r) => r.key), payloads: rs.map((r) => r.payload), timesMs: rs.map((r) => r.t) }, win);
        expect(merged).toEqual(ref);
      }),
    );
  });
});

describe('outputsMatch', () => {
  it('is exact for exact tasks and tolerant on t-digest quantiles only', () => {
    expect(outputsMatch('wordcount', [[1, 2]], [[1, 2]])).toBe(true);
    expect(outputsMatch('wordcount', [[1, 2]], [[1, 3]])).toBe(false);
    const e = { count: 100, p50: 0.5, p99: 0.99 };
    expect(outputsMatch('tdigest', e, { count: 100, p50: 0.505, p99: 0.988 })).toBe(true);
    expect(outputsMatch('tdigest', e, { count: 101, p50: 0.5, p99: 0.99 })).toBe(false);
    expect(outputsMatch('tdigest', e, { count: 100, p50: 0.52, p99: 0.99 })).toBe(false);
    expect(outputsMatch('tdigest', e, { count: 100, p50: 0.5, p99: 0.98 })).toBe(false);
  });
});
