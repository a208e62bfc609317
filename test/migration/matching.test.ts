// Hopcroft–Karp against brute force on small random bipartite multigraphs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxBipartiteMatching } from '../../src/engine/migration/index.js';

/** Size of a maximum matching by exhaustive search over edges (exponential; small graphs only). */
function bruteForceMax(edges: [number, number][]): number {
  const usedL = new Set<number>();
  const usedR = new Set<number>();
  const go = (i: number): number => {
    if (i === edges.length) return 0;
    let best = go(i + 1);
    const [l, r] = edges[i];
    if (!usedL.has(l) && !usedR.has(r)) {
      usedL.add(l);
      usedR.add(r);
      best = Math.max(best, 1 + go(i + 1));
      usedL.delete(l);
      usedR.delete(r);
    }
    return best;
  };
  return go(0);
}

const graph = fc
  .record({ nLeft: fc.integer({ min: 1, max: 7 }), nRight: fc.integer({ min: 1, max: 7 }) })
  .chain(({ nLeft, nRight }) =>
    fc.record({
      nLeft: fc.constant(nLeft),
      nRight: fc.constant(nRight),
      edges: fc.array(fc.tuple(fc.nat({ max: nLeft - 1 }), fc.nat({ max: nRight - 1 })), { maxLength: 16 }),
    }),
  );

describe('maxBipartiteMatching (Hopcroft–Karp)', () => {
  it('returns a valid matching of maximum size (brute force), edges ascending', () => {
    fc.assert(
      fc.property(graph, ({ nLeft, nRight, edges }) => {
        const picked = maxBipartiteMatching({ nLeft, nRight, left: edges.map((e) => e[0]), right: edges.map((e) => e[1]) });
        const ls = new Set(picked.map((e) => edges[e][0]));
        const rs = new Set(picked.map((e) => edges[e][1]));
        expect(ls.size).toBe(picked.length);
        expect(rs.size).toBe(picked.length);
        expect(new Set(picked).size).toBe(picked.length);
        expect(picked).toEqual([...picked].sort((a, b) => a - b));
        expect(picked.length).toBe(bruteForceMax(edges));
      }),
      { numRuns: 400 },
    );
  });

  it('augments where first-fit gets stuck: edges l0-r0, l0-r1, l1-r0 → {l0-r1, l1-r0}', () => {
    // first-fit takes l0-r0 and then l1 has no free neighbour (1 edge); the maximum is 2.
    const left = [0, 0, 1];
    const right = [0, 1, 0];
    expect(maxBipartiteMatching({ nLeft: 2, nRight: 2, left, right })).toEqual([1, 2]);
  });

  it('handles empty graphs and isolated vertices', () => {
    expect(maxBipartiteMatching({ nLeft: 3, nRight: 3, left: [], right: [] })).toEqual([]);
  });

  it('scales: a 200x200 random graph with 3000 edges matches a perfect matching when one is planted', () => {
    const n = 200;
    const left: number[] = [];
    const right: number[] = [];
    let x = 12345;
    for (let i = 0; i < 2800; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      left.push(x % n);
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      right.push(x % n);
    }
    for (let i = 0; i < n; i++) {
      left.push(i);
      right.push((i * 7 + 3) % n);
    }
    expect(maxBipartiteMatching({ nLeft: n, nRight: n, left, right }).length).toBe(n);
  });
});
