import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { ChoiceCache, LevelLoads, choiceH1, dChoicesD, hashChoice } from '../../src/partitioners/shared/head.js';
import { CountMinSketch, IntervalCounts, IntervalHotDetector, SpaceSaving } from '../../src/partitioners/shared/hot-keys.js';
import { autoTrueHotKeys, maskRanges, maskSize, zipfHotFrequencies } from '../../src/partitioners/shared/mask.js';
import { mergeQTables } from '../../src/partitioners/shared/q-merge.js';
import { RoutingTable } from '../../src/partitioners/shared/routing-table.js';
import { KeySlots } from '../../src/partitioners/shared/slots.js';
import { FragmentTracker, WindowedLoads } from '../../src/partitioners/shared/window.js';
import { zipfProbabilities } from '../../src/tasks/workloads/zipf.js';

describe('SpaceSaving', () => {
  it('keeps count − error ≤ true count ≤ count, and finds every key with share > 1/capacity', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 400, size: 'max' }), fc.integer({ min: 1, max: 12 }), (keys, cap) => {
        const ss = new SpaceSaving(31, cap);
        const truth = new Map<number, number>();
        for (const k of keys) {
          ss.offer(k);
          truth.set(k, (truth.get(k) ?? 0) + 1);
        }
        for (let s = 0; s < ss.size; s++) {
          const t = truth.get(ss.keyAt(s)) ?? 0;
          expect(ss.countAt(s) - ss.errorAt(s)).toBeLessThanOrEqual(t);
          expect(ss.countAt(s)).toBeGreaterThanOrEqual(t);
        }
        for (const [k, c] of truth) if (c > keys.length / cap) expect(ss.slotOf(k)).toBeGreaterThanOrEqual(0);
      }),
    );
  });
  it('golden: capacity 2, stream a a b c → c evicts b (the min) and inherits its count', () => {
    const ss = new SpaceSaving(10, 2);
    for (const k of [1, 1, 2, 3]) ss.offer(k);
    expect(ss.slotOf(2)).toBe(-1);
    expect(ss.estimate(3)).toBe(2);
    expect(ss.errorAt(ss.slotOf(3))).toBe(1);
    const keys: number[] = [];
    const counts: number[] = [];
    expect(ss.top(2, keys, counts)).toBe(2);
    expect(keys).toEqual([1, 3]);
    expect(counts).toEqual([2, 2]);
  });
});

describe('CountMinSketch and interval counters', () => {
  it('count-min never under-estimates', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 500, size: 'max' }), (keys) => {
        const cms = new CountMinSketch(16, 3, 7);
        const truth = new Map<number, number>();
        for (const k of keys) {
          truth.set(k, (truth.get(k) ?? 0) + 1);
          expect(cms.add(k)).toBeGreaterThanOrEqual(truth.get(k)!);
        }
        for (const [k, c] of truth) expect(cms.estimate(k)).toBeGreaterThanOrEqual(c);
      }),
    );
  });
  it('interval counts reset at boundaries and remember the previous total (0 after a gap)', () => {
    const c = new IntervalCounts({ numKeys: 10, intervalMs: 100, counter: 'exact' });
    c.advance(5);
    c.add(1);
    c.add(1);
    expect(c.estimate(1)).toBe(2);
    c.advance(150);
    expect([c.prevTotal, c.total, c.estimate(1)]).toEqual([2, 0, 0]);
    c.add(2);
    c.advance(450); // skipped intervals 2 and 3 → the previous interval was empty
    expect(c.prevTotal).toBe(0);
  });
  it('Dalton hot rule: hot once the count exceeds previous total / n, until the end of the next interval', () => {
    const d = new IntervalHotDetector({ numKeys: 10, intervalMs: 100, counter: 'exact', numWorkers: 2 });
    d.advance(0);
    for (let i = 0; i < 8; i++) expect(d.offer(i % 4, 0)).toBe(false); // threshold ∞ in the first interval
    d.advance(100); // threshold = 8 / 2 = 4
    for (let i = 0; i < 4; i++) expect(d.offer(5, 100)).toBe(false);
    expect(d.offer(5, 100)).toBe(true); // count 5 > 4
    d.advance(200);
    // threshold 5 / 2 = 2.5: count 1 is below it, but key 5 stays hot until 300 (end of the next interval)
    expect(d.offer(5, 250)).toBe(true);
    expect(d.offer(6, 250)).toBe(false);
    d.advance(300); // threshold 2 / 2 = 1; count 1 is not above it and the hot period ended
    expect(d.offer(5, 300)).toBe(false);
    expect(d.offer(5, 300)).toBe(true); // count 2 > 1
  });
});

describe('WindowedLoads and FragmentTracker', () => {
  it('window loads equal a naive sum over the live slides; argmin is the lowest-index minimum', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 2 })), { maxLength: 300, size: 'max' }),
        fc.integer({ min: 1, max: 4 }),
        (ops, slides) => {
          const n = 5;
          const wl = new WindowedLoads(n, { windowMs: slides * 10, slideMs: 10 });
          const log: [number, number][] = [];
          let t = 0;
          for (const [w, dt] of ops) {
            t += dt * 4;
            wl.advance(t);
            wl.add(w);
            log.push([Math.floor(t / 10), w]);
            const cur = Math.floor(t / 10);
            const naive = new Array(n).fill(0);
            for (const [s, x] of log) if (cur - s < slides) naive[x]++;
            expect(Array.from(wl.load)).toEqual(naive);
            expect(wl.total).toBe(naive.reduce((a, b) => a + b, 0));
            const m = Math.min(...naive);
            expect(wl.argmin()).toBe(naive.indexOf(m));
          }
        },
      ),
    );
  });
  it('fragment sets count the workers seen within the window', () => {
    const f = new FragmentTracker(4, 2, 2);
    f.touch(0, 1, 0);
    f.touch(0, 1, 0);
    f.touch(0, 3, 1);
    expect(f.size(0)).toBe(2);
    f.expireSlot(0, 2); // slide 0 left the 2-slide window
    expect(f.size(0)).toBe(1);
    expect([f.has(0, 1, 2), f.has(0, 3, 2)]).toEqual([false, true]);
    f.ensure(8);
    f.touch(7, 2, 2);
    expect(f.size(7)).toBe(1);
  });
  it('key slots: acquire, release, reuse and grow', () => {
    const s = new KeySlots(100, 2);
    const a = s.acquire(5);
    const b = s.acquire(9);
    const c = s.acquire(11); // grows
    expect(new Set([a, b, c]).size).toBe(3);
    expect(s.capacity).toBe(4);
    expect(s.release(9)).toBe(b);
    expect(s.slotOf(9)).toBe(-1);
    expect(s.acquire(42)).toBe(b);
    expect(s.keyOf(c)).toBe(11);
    expect(s.size).toBe(3);
  });
});

describe('D-Choices helpers', () => {
  it('d formula: one key carrying all traffic needs every worker', () => {
    expect(dChoicesD(1, 1, 1, 4, 1e-4)).toBe(4);
  });
  it('hash choices: in [0, n), golden finaliser value, close to uniform and independent of i', () => {
    // fmix32(0) = 0 → choice 0 of h1 = 0 is worker 0 for any n.
    expect(hashChoice(0, 0, 64)).toBe(0);
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 200 }), (key, n, i) => {
        const w = hashChoice(choiceH1(key, 0), i, n);
        expect(Number.isInteger(w) && w >= 0 && w < n).toBe(true);
      }),
    );
    // 31 choices of each of 2000 keys over 64 workers: distinct choices per key ≈ 64·(1 − (63/64)^31) = 24.4.
    let distinct = 0;
    for (let k = 0; k < 2000; k++) {
      const h1 = choiceH1(k, 0);
      distinct += new Set(Array.from({ length: 31 }, (_, i) => hashChoice(h1, i, 64))).size;
    }
    expect(distinct / 2000).toBeGreaterThan(23.9);
    expect(distinct / 2000).toBeLessThan(24.9);
  });
});

describe('mask builder', () => {
  it('P = 64, Zipf 1.5, 10 hot keys: the ranges of saspartitioner.md §3.2 and A = 73', () => {
    const r = maskRanges(zipfHotFrequencies(10, 1.5), 64);
    expect(r.map((x) => `${x.lo}-${x.hi}`).join(' ')).toBe('0-33 32-44 43-50 49-54 53-57 56-59 58-61 60-62 61-63 62-64');
    expect(maskSize(r)).toBe(73);
    expect(maskSize(maskRanges(zipfHotFrequencies(10, 1.5), 128))).toBe(137);
  });
  it('ranges cover every worker, stay in [0, P), and adjacent ranges overlap by at most one worker', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 80 }), (raw, P) => {
        const freqs = [...raw].sort((a, b) => b - a);
        const r = maskRanges(freqs, P);
        expect(r.length).toBe(freqs.length);
        const covered = new Set<number>();
        for (const x of r) {
          expect(x.lo).toBeGreaterThanOrEqual(0);
          expect(x.hi).toBeLessThanOrEqual(P);
          expect(x.hi).toBeGreaterThan(x.lo);
          for (let w = x.lo; w < x.hi; w++) covered.add(w);
        }
        for (let i = 1; i < r.length; i++) expect(r[i].lo).toBeGreaterThanOrEqual(r[i - 1].hi - 1);
        if (r.length <= P) expect(covered.size).toBe(P);
      }),
    );
  });
  it('automatic true hot keys: a key needs at least one worker of its share', () => {
    // P = 4, freqs [8, 4, 1]: k=1: 4·4 = 16 > 12 → yes; k=2: 4·1 = 4 > 13? no → 2.
    expect(autoTrueHotKeys([8, 4, 1], 4)).toBe(2);
    expect(maskRanges([8, 4, 1], 4, { numTrueHotKeys: 0 })).toHaveLength(2);
    expect(maskRanges([8, 4, 1], 4, { numTrueHotKeys: 3, spreadKeys: 1 })[0]).toEqual({ lo: 0, hi: 4 });
  });
});

describe('RoutingTable (deficit choice)', () => {
  it('golden: weights [3, 1] over [0, 2): 0, 1, 0, 0, 0, 1, …', () => {
    // p = [0.75, 0.25]. Step 1: deficits 0.75, 0.25 → 0. Step 2: shares [1, 0]: −0.25, 0.25 → 1.
    // Step 3: [.5, .5]: .25, −.25 → 0. Step 4: [2/3, 1/3]: .083, −.083 → 0. Step 5: [.75, .25]: 0, 0 → tie → 0.
    const t = new RoutingTable(4, [{ lo: 0, hi: 2 }], { windowMs: 1000, slideMs: 1000 });
    t.setWeights([3, 1]);
    t.advance(0);
    expect([0, 1, 2, 3, 4].map(() => t.pick(0))).toEqual([0, 1, 0, 0, 0]);
    expect(t.version).toBe(1);
    expect(t.pairs).toBe(2);
  });
  it('realised shares follow the targets within 1/count', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), (wts) => {
        fc.pre(wts.some((x) => x > 0));
        const t = new RoutingTable(5, [{ lo: 1, hi: 4 }], { windowMs: 1000, slideMs: 1000 });
        t.setWeights(wts);
        t.advance(0);
        const N = 300;
        for (let i = 0; i < N; i++) {
          const w = t.pick(0);
          expect(w).toBeGreaterThanOrEqual(1);
          expect(w).toBeLessThan(4);
        }
        const sum = wts.reduce((a, b) => a + b, 0);
        for (let j = 0; j < 3; j++) expect(Math.abs(t.realisedCount(0, j + 1) / N - wts[j] / sum)).toBeLessThanOrEqual(3 / N);
      }),
    );
  });
  it('all-zero weights → −1 (the caller falls back to its cold route)', () => {
    const t = new RoutingTable(4, [{ lo: 0, hi: 2 }], { windowMs: 1000, slideMs: 1000 });
    t.setWeights([0, 0]);
    expect(t.pick(0)).toBe(-1);
  });
});

describe('cooperative Q-table merge', () => {
  it('frequency-weighted average, plain average at zero counts, q0 for globally hot newcomers', () => {
    const n = 2;
    const a = {
      keys: Int32Array.from([1, 2]),
      q: Float64Array.from([-1, -0.5, -2, -2]),
      counts: Float64Array.from([30, 0]),
      extraKeys: Int32Array.from([9]),
      extraCounts: Float64Array.from([40]),
      total: 100,
    };
    const b = {
      keys: Int32Array.from([1, 2]),
      q: Float64Array.from([0, -1, -1, 0]),
      counts: Float64Array.from([10, 0]),
      extraKeys: Int32Array.from([9, 8]),
      extraCounts: Float64Array.from([30, 5]),
      total: 100,
    };
    const m = mergeQTables([a, b], n, -2);
    // key1: (30·[−1, −0.5] + 10·[0, −1]) / 40 = [−0.75, −0.625]; key2: counts 0 → mean [−1.5, −1];
    // key9: 70 > 200/2 = 100? no → left out; key8 neither.
    expect(Array.from(m.keys)).toEqual([1, 2]);
    expect(Array.from(m.q)).toEqual([-0.75, -0.625, -1.5, -1]);
    expect(m.total).toBe(200);
    const m2 = mergeQTables([{ ...a, extraCounts: Float64Array.from([90]) }, b], n, -2);
    expect(Array.from(m2.keys)).toEqual([1, 2, 9]); // 120 > 100 → added with q0
    expect(Array.from(m2.q.slice(4))).toEqual([-2, -2]);
  });
  it('merge is order-independent', () => {
    const rng = new Rng(5);
    const snap = (keys: number[]) => ({
      keys: Int32Array.from(keys),
      q: Float64Array.from(keys.flatMap(() => [rng.next() - 2, rng.next() - 2, rng.next() - 2])),
      counts: Float64Array.from(keys.map(() => rng.int(50))),
      extraKeys: new Int32Array(0),
      extraCounts: new Float64Array(0),
      total: 500,
    });
    const s = [snap([1, 2, 3]), snap([2, 4]), snap([3, 4, 5])];
    const x = mergeQTables(s, 3, -2);
    const y = mergeQTables([s[2], s[0], s[1]], 3, -2);
    expect(Array.from(y.keys)).toEqual(Array.from(x.keys));
    y.q.forEach((v, i) => expect(v).toBeCloseTo(x.q[i], 12));
  });
});

describe('Zipf head probabilities', () => {
  it('p1 of Zipf(1e5, 1.5) is about 0.38 (saspartitioner.md §5.2)', () => {
    expect(zipfProbabilities(100000, 1.5)[0]).toBeCloseTo(0.38, 2);
  });
});

describe('LevelLoads and ChoiceCache.pickLevel', () => {
  it('level bit sets track the two lowest loads; pickLevel = least-loaded choice, lowest index on ties', () => {
    // ~15k operations per run, each checked against a naive scan of all 40 loads: the comparisons are
    // plain code and `expect` runs only on a mismatch (an expect per check made this test 20 s alone).
    const bit = (words: Int32Array, x: number) => ((words[x >>> 5] >>> (x & 31)) & 1) === 1;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 39 }), fc.integer({ min: 1, max: 40 })), { maxLength: 300, size: 'max' }),
        (ops) => {
          const n = 40; // two words
          const lv = new LevelLoads(n);
          const cache = new ChoiceCache(4, n, 0);
          ops.forEach(([slot, bump, d], op) => {
            const key = 1000 + slot;
            const w = cache.pickLevel(slot, key, d, lv);
            const base = cache.ensure(slot, key, d);
            let best = -1;
            for (let i = base; i < base + d; i++) {
              const c = cache.choices[i];
              if (best < 0 || lv.load[c] < lv.load[best] || (lv.load[c] === lv.load[best] && c < best)) best = c;
            }
            if (w !== best) expect({ op, picked: w }).toEqual({ op, picked: best });
            lv.add(w);
            lv.add(bump);
            let min = Infinity;
            let argmin = -1;
            for (let x = 0; x < n; x++) if (lv.load[x] < min) [min, argmin] = [lv.load[x], x];
            if (lv.level !== min || lv.argmin() !== argmin) expect({ op, level: lv.level, argmin: lv.argmin() }).toEqual({ op, level: min, argmin });
            for (let x = 0; x < n; x++) {
              const got = [bit(lv.level0, x), bit(lv.level1, x)];
              const want = [lv.load[x] === min, lv.load[x] === min + 1];
              if (got[0] !== want[0] || got[1] !== want[1]) expect({ op, worker: x, level0: got[0], level1: got[1] }).toEqual({ op, worker: x, level0: want[0], level1: want[1] });
            }
          });
        },
      ),
    );
  });
});
