// CountMap against a Map model under random adds.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CountMap } from '../../src/tasks/index.js';

describe('CountMap', () => {
  it('agrees with a Map model under random adds (growth included)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: -5, max: 5 })), { maxLength: 600 }), (ops) => {
        const m = new CountMap(8);
        const model = new Map<number, number>();
        for (const [id, d] of ops) {
          m.add(id, d);
          model.set(id, (model.get(id) ?? 0) + d);
        }
        for (const [id, c] of model) expect(m.get(id)).toBe(c);
        const expected = [...model].filter(([, c]) => c !== 0).sort((a, b) => a[0] - b[0]);
        expect(m.entries()).toEqual(expected);
      }),
    );
  });
});
