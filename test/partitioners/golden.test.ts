import { describe, expect, it } from 'vitest';
import { createPartitioner } from '../../src/partitioners/index.js';
import type { DaltonPartitioner } from '../../src/partitioners/dalton.js';
import type { DaltonOfflinePartitioner } from '../../src/partitioners/dalton-offline.js';
import { knuthWorker, murmurWorker } from '../../src/partitioners/shared/hashing.js';
import { choiceH1, hashChoice } from '../../src/partitioners/shared/head.js';
import { ctxWith } from './helpers.js';

// Knuth multiplicative hash with n = 4, by hand: floor(4 · frac((k+1) · 0.6180339887)).
//   k=0: 0.618 → 2.47 → 2;  k=1: 1.236 → 0.94 → 0;  k=2: 1.854 → 3.42 → 3;  k=3: 2.472 → 1.89 → 1
//   k=4: 3.090 → 0.36 → 0;  k=5: 3.708 → 2.83 → 2;  k=6: 4.326 → 1.30 → 1;  k=7: 4.944 → 3.78 → 3
const KNUTH4 = [2, 0, 3, 1, 0, 2, 1, 3];

function routeAll(p: { route(k: number): number }, keys: number[]): number[] {
  return keys.map((k) => p.route(k));
}

describe('golden sequences', () => {
  it('knuth hash matches the hand-computed table', () => {
    expect(KNUTH4.map((_, k) => knuthWorker(k, 4))).toEqual(KNUTH4);
  });

  it('hash: murmur3(seed 0) of key 0 is 0x2362f9de = 593689054 → P=4: 2, P=10: 4', () => {
    expect(createPartitioner('hash', ctxWith(4), { seed: 0 }).route(0)).toBe(2);
    expect(createPartitioner('hash', ctxWith(10), { seed: 0 }).route(0)).toBe(4);
  });

  it('murmurWorker never returns -0 (negative hashes that are multiples of a non-power-of-two n)', () => {
    let zeros = 0;
    for (const n of [3, 10, 64]) {
      for (let key = 0; key < 2000; key++) {
        const w = murmurWorker(key, 7, n);
        expect(Object.is(w, -0)).toBe(false);
        if (w === 0) zeros++;
      }
    }
    expect(zeros).toBeGreaterThan(100); // the zero case was exercised
  });

  it('shuffle: round robin regardless of key', () => {
    expect(routeAll(createPartitioner('shuffle', ctxWith(3)), [9, 9, 9, 1, 2])).toEqual([0, 1, 2, 0, 1]);
  });

  it('pkg (mod): h1 = k mod 4, h2 = Knuth, ties to h2', () => {
    // key0 (0|2): loads 0,0 tie → 2 · key0: L0=0 < L2=1 → 0 · key0: 1 vs 1 tie → 2
    // key1 (1|0): L1=0 < L0=1 → 1 · key1: 1 vs 1 tie → 0 · key5 (1|2): L1=1 < L2=2 → 1
    const p = createPartitioner('pkg', ctxWith(4), { coldHash: 'mod' });
    expect(routeAll(p, [0, 0, 0, 1, 1, 5])).toEqual([2, 0, 2, 1, 0, 1]);
  });

  it('pkg (murmur): the first choice wins ties', () => {
    const n = 8;
    const p = createPartitioner('pkg', ctxWith(n), {});
    const key = 12345;
    const c1 = murmurWorker(key, 13, n);
    const c2 = murmurWorker(key, 17, n);
    // fresh loads: tie → c1; then c1 has 1 → c2; then 1 vs 1 → c1 (all c1 if both hashes agree)
    expect(routeAll(p, [key, key, key])).toEqual(c1 === c2 ? [c1, c1, c1] : [c1, c2, c1]);
  });

  it('w-choices and d-choices: a head key takes the least-loaded of all workers when d ≥ n', () => {
    // n = 4, T = 1 → θ = 0.5. Key 7 alone: share 1 > θ → head. D-C: p1 = pH = 1, h = 1, d starts at
    // round(4) = 4: bH = 1 − 0.75^4 = 0.684, c1 = 1 > bH + ε → no d ≤ n fits → d = n → all workers.
    // Least loaded, lowest index first: 0, 1, 2, 3, 0.
    for (const name of ['w-choices', 'd-choices']) {
      const p = createPartitioner(name, ctxWith(4), name === 'd-choices' ? { threshold: 1, dRefreshEvery: 1 } : { threshold: 1 });
      expect(routeAll(p, [7, 7, 7, 7, 7])).toEqual([0, 1, 2, 3, 0]);
      // Key 3 now has share 1/6 < θ → tail → PKG on its choices 0 and 1 with loads [2, 1, 1, 1].
      const load = [2, 1, 1, 1];
      const c1 = hashChoice(choiceH1(3, 0), 0, 4);
      const c2 = hashChoice(choiceH1(3, 0), 1, 4);
      expect(p.route(3)).toBe(load[c2] < load[c1] ? c2 : c1);
    }
  });

  it('cam (mod): stick to a choice that saw the key in the window, else the less loaded (ties to h2)', () => {
    // slide 0 (t=0): key0 (0|2): nothing seen, L0 = L2 = 0 → 2 · key0: h2 saw it → 2
    //   key4 (0|0): unseen, tie → 0 · key2 (2|3): L2=2 vs L3=0 → 3 · key6 (2|1): L2=2 vs L1=0 → 1
    //   key1 (1|0): L1=1 vs L0=1 tie → 0.   Loads [2, 1, 2, 1].
    // t=2000: window 2 slides → slide 0 expired (loads 0, nothing seen):
    //   key5 (1|2): tie → 2 · key0 (0|2): unseen; L0=0 < L2=1 → 0  (the key moved: split across windows)
    // Without expiry (the original): key5: L1=1 < L2=2 → 1 · key0: h2 still "seen" → 2 (pinned).
    const first = [0, 0, 4, 2, 6, 1];
    const firstOut = [2, 2, 0, 3, 1, 0];
    for (const [expireWindow, tail] of [
      [true, [2, 0]],
      [false, [1, 2]],
    ] as const) {
      const ctx = ctxWith(4);
      const p = createPartitioner('cam', ctx, { coldHash: 'mod', windowMs: 2000, slideMs: 1000, expireWindow });
      expect(routeAll(p, first)).toEqual(firstOut);
      ctx.clock.nowMs = 2000;
      expect(routeAll(p, [5, 0])).toEqual(tail);
      expect(p.splitsKeys).toBe(expireWindow);
    }
  });

  it('dagreedy (mod): argmax 0.5·[j ∈ frag] − 0.5·(L_j − avg)/avg for hot keys', () => {
    // Interval 0: threshold ∞ → all cold (k mod 4): [1,1,1,1,2,3,0,1] → loads [1,5,1,1]; next threshold 8/4 = 2.
    // Interval 1 (window still holds slide 0): key1 counts 1, 2 ≤ 2 → cold → 1, 1 (loads [1,7,1,1]).
    //  3rd: count 3 > 2 → hot; frag = {1}; avg = 10/4 = 2.5: j0 = 0.2·1.5 = 0.3, j1 = 0.5 − 0.2·4.5 = −0.4,
    //       j2 = j3 = 0.3 → 0.   4th: avg 2.75: j0 = 0.5 + 0.75/5.5 = 0.636 > j2 = 1.75/5.5 = 0.318 → 0.
    //  5th: avg 3: j0 = 0.5 − 1/6·0 = 0.5 > j2 = 2/6 → 0.   6th: avg 3.25: j0 = 0.5 − 0.75/6.5 = 0.385 > j2 = 2.25/6.5 = 0.346 → 0.
    //  7th: avg 3.5: j0 = 0.5 − 1.5/7 = 0.286 < j2 = 2.5/7 = 0.357 → 2.   Then cold key3 (count 1) → 3.
    const ctx = ctxWith(4);
    const p = createPartitioner('dagreedy', ctx, { coldHash: 'mod', windowMs: 2000, slideMs: 1000 }) as DaltonPartitioner;
    expect(routeAll(p, [1, 1, 1, 1, 2, 3, 0, 1])).toEqual([1, 1, 1, 1, 2, 3, 0, 1]);
    ctx.clock.nowMs = 1000;
    expect(routeAll(p, [1, 1, 1, 1, 1, 1, 1, 3])).toEqual([1, 1, 0, 0, 0, 0, 2, 3]);
    expect(p.stats().hotKeys).toBe(1);
  });

  it('flexd (mod): first hot sight → least loaded; growing frequency widens by one worker', () => {
    // hotThreshold 0.3. f is read before counting. key2: f=0 → cold 2 · key3 → cold 3 · key5: f=0 → cold 1
    // key5: f = 1/3 ≥ 0.3, new → least loaded of [0,1,1,1] = 0; stored 1/3
    // key5: f = 2/4 > 1/3 → widen to least loaded outside {0} of [1,1,1,1] = 1; stored 0.3667
    // key5: f = 3/5 > 0.3667 → widen → 2 (loads [1,2,1,1]); stored 0.4033
    // key5: f = 4/6 > 0.4033 → widen → 3; stored 0.4437 · key5: f = 5/7, all 4 mapped → least loaded in set: [1,2,2,2] → 0
    // New epoch (t = 1000): counts reset, f = 0 → cold → 1.
    const ctx = ctxWith(4);
    const p = createPartitioner('flexd', ctx, { coldHash: 'mod', refreshMs: 1000, hotThreshold: 0.3, counter: 'exact' });
    expect(routeAll(p, [2, 3, 5, 5, 5, 5, 5, 5])).toEqual([2, 3, 1, 0, 1, 2, 3, 0]);
    ctx.clock.nowMs = 1000;
    expect(p.route(5)).toBe(1);
  });

  it('dalton (mod, ε = 0): hot key exploits the incumbent; Q update by hand', () => {
    // Interval 0 all cold → loads [1,5,1,1], threshold 2. Interval 1: key1 cold, cold (→ 1, 1), then hot:
    // Q row = −2 everywhere, argmax keeps the incumbent (cold worker 1) → 1. Loads after it [1,8,1,1],
    // total 11, avg 2.75: costMap = (8 − 2.75)/8 = 0.65625, costReduce = |{1}|/4 = 0.25,
    // r = −(0.328125 + 0.125) = −0.453125; Q[1] = 0.5·(−2) + 0.5·(−0.453125) = −1.2265625.
    const ctx = ctxWith(4);
    const p = createPartitioner('dalton', ctx, {
      coldHash: 'mod',
      windowMs: 2000,
      slideMs: 1000,
      epsilon: 0,
      learningRate: 0.5,
      counter: 'exact',
    }) as DaltonPartitioner;
    routeAll(p, [1, 1, 1, 1, 2, 3, 0, 1]);
    ctx.clock.nowMs = 1000;
    expect(routeAll(p, [1, 1, 1])).toEqual([1, 1, 1]);
    expect(Array.from(p.cores[0].qRow(1)!)).toEqual([-2, -1.2265625, -2, -2]);
    expect(p.lastRouteHot).toBe(true);
    expect(p.route(3)).toBe(3);
    expect(p.lastRouteHot).toBe(false);
  });

  it('dalton-metrics: reward from busy times, r_w = (avg − b_w)/max(avg, b_w)', () => {
    const ctx = ctxWith(4);
    const p = createPartitioner('dalton-metrics', ctx, {
      coldHash: 'mod',
      windowMs: 2000,
      slideMs: 1000,
      epsilon: 0,
      learningRate: 0.5,
      counter: 'exact',
      metricWindowSlides: 1,
    }) as DaltonPartitioner;
    routeAll(p, [1, 1, 1, 1, 2, 3, 0, 1]);
    // Busy [1000, 0, 0, 0] → avg 250: r0 = −750/1000 = −0.75, r1..3 = 250/250 = 1.
    const workers = [1000, 0, 0, 0].map((b, w) => ({ worker: w, busyMs: b }));
    p.onSlide!({ workers } as never);
    expect(Array.from(p.cores[0].workerReward)).toEqual([-0.75, 1, 1, 1]);
    ctx.clock.nowMs = 1000;
    routeAll(p, [1, 1, 1]); // third is hot → incumbent 1, r = 1 → Q[1] = 0.5·(−2) + 0.5·1 = −0.5
    expect(Array.from(p.cores[0].qRow(1)!)).toEqual([-2, -0.5, -2, -2]);
  });

  it('dalton-offline: injected rank map, mask ranges, argmax within the range', () => {
    // maskFrequencies [3, 1] on P = 4: cs = 0, 3, 4 → rank 0 → [0, 3), rank 1 → [3, 4).
    // key10 (rank 0): Q = 0 → lowest index 0; reward (1 − score)/2 > 0 keeps Q[0] the max → 0, 0.
    // key20 (rank 1): single allowed worker → 3. key 5 is cold → murmur3 hash.
    const ctx = ctxWith(4);
    const p = createPartitioner('dalton-offline', ctx, {
      numHotKeys: 2,
      numTrueHotKeys: 2,
      maskFrequencies: [3, 1],
      hotKeyIds: [10, 20],
      epsilon: 0,
      learningRate: 0.5,
    }) as DaltonOfflinePartitioner;
    expect(p.mask).toEqual([
      { lo: 0, hi: 3 },
      { lo: 3, hi: 4 },
    ]);
    expect(routeAll(p, [10, 10, 20, 5])).toEqual([0, 0, 3, murmurWorker(5, 38324, 4)]);
    p.onSlide!({} as never);
    // Action: rank 0 counts on workers 0..2 = [2, 0, 0], rank 1 on worker 3 = [1]; divided by max 2.
    expect(Array.from(p.lastAction)).toEqual([1, 0, 0, 0.5]);
  });

  it('dalton-offline: without a rank map, hot keys are the previous interval top-k', () => {
    const ctx = ctxWith(4);
    const p = createPartitioner('dalton-offline', ctx, { numHotKeys: 2, numTrueHotKeys: 2, slideMs: 1000 }) as DaltonOfflinePartitioner;
    routeAll(p, [7, 7, 7, 9, 9, 1]);
    expect(p.stats()).toEqual({ hotKeys: 0, tableVersion: 0 });
    ctx.clock.nowMs = 1000;
    p.route(1);
    expect(Array.from(p.hotKeys)).toEqual([7, 9]);
    expect(p.stats()).toEqual({ hotKeys: 2, tableVersion: 1 });
  });
});
