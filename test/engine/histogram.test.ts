import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LogHistogram } from '../../src/engine/metrics/histogram.js';

describe('LogHistogram', () => {
  it('is exact below 128', () => {
    const h = new LogHistogram();
    for (let v = 0; v < 100; v++) h.record(v);
    expect(h.percentile(50)).toBe(49);
    expect(h.percentile(99)).toBe(98);
    expect(h.percentile(100)).toBe(99);
  });
  it('percentiles are within 1.6% above the exact order statistic', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 30 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (vals, p) => {
        const h = new LogHistogram();
        vals.forEach((v) => h.record(v));
        const sorted = [...vals].sort((a, b) => a - b);
        const exact = sorted[Math.max(1, Math.ceil((p / 100) * vals.length)) - 1];
        const got = h.percentile(p);
        expect(got).toBeGreaterThanOrEqual(exact);
        expect(got).toBeLessThanOrEqual(Math.max(exact, exact * 1.016 + 1));
      }),
    );
  });
  it('sparse round trip and add keep totals', () => {
    const a = new LogHistogram();
    const b = new LogHistogram();
    [5, 500, 50000].forEach((v) => a.record(v));
    b.addSparse(a.toSparse(), a.max);
    b.add(a);
    expect(b.total).toBe(6);
    expect(b.percentile(100)).toBe(50000);
  });
});
