// saspartitioner routing: deficit golden sequence, detector-based slots, version bumps, cold keys never split.
import { describe, expect, it } from 'vitest';
import { LearnedRouter } from '../../src/partitioners/learned/learned-router.js';
import { createSasPartitioner, sasPartitionerParams } from '../../src/partitioners/saspartitioner.js';
import { createSasAdaptive, nearestModel, sasAdaptiveParams } from '../../src/partitioners/saspartitioner-adaptive.js';
import { createPartitioner } from '../../src/partitioners/index.js';
import { createHash } from '../../src/partitioners/hash.js';
import { rankToKeyIds, ZipfWorkload } from '../../src/tasks/workloads/zipf.js';
import { Rng } from '../../src/common/rng.js';
import type { SlideReport } from '../../src/common/metrics.js';
import type { LearnedPolicy } from '../../src/partitioners/learned/policy.js';
import { ConfigError } from '../../src/common/errors.js';
import { DEFAULT_HASH_SEED, murmurWorker } from '../../src/partitioners/shared/hashing.js';


/** A minimal slide report with equal busy times (the partitioner only reads routed and busy). */
function report(P: number, routed: number[], busy = 500): SlideReport {
  return {
    slideIndex: 0,
    slideStartMs: 0,
    slideMs: 1000,
    workers: Array.from({ length: P }, (_, w) => ({ worker: w, recordsIn: routed[w], busyMs: busy, backpressuredMs: 0, idleMs: 1000 - busy, queueLength: 0, latencyP50Ms: 0, latencyP99Ms: 0, latencyMaxMs: 0 })),
    partitioner: { records: routed.reduce((a, b) => a + b, 0), routeNs: 0, routed, hotKeys: 0, maxSplit: 0, tableVersion: 0 },
    job: { throughput: 0, targetRate: 0, achievedRate: 0, sourceBackpressuredMs: 0, imbalanceBusy: 0, nmadBusy: 0, imbalanceCount: 0, nmadCount: 0, replication: 0, latencyP50Ms: 0, latencyP99Ms: 0 },
  };
}

/** n keys of a seeded Zipf stream with permuted ids. */
function zipfKeys(numKeys: number, exponent: number, seed: number, n: number): Int32Array {
  const wl = new ZipfWorkload({ numKeys, exponent, seed });
  const keys = new Int32Array(n);
  wl.fill(keys, new Int32Array(n), 0, n, 0);
  return keys;
}

const ctx = (P: number, numKeys = 1000) => ({ numWorkers: P, seed: 1, numKeys, slideMs: 1000, clock: { nowMs: 0 } });

describe('deficit routing (golden)', () => {
  it('follows a hand-computed table exactly', () => {
    // One true hot key (slot 0) on workers [1, 4) of P = 5, action weights 2:1:1 → shares .5 .25 .25.
    const r = new LearnedRouter({ numWorkers: 5, numKeys: 100, numHotKeys: 1, mask: [{ start: 1, end: 4 }], sketchCapacity: 0 });
    r.swap([42], 1, [1], [2, 1, 1]);
    const seq = Array.from({ length: 8 }, () => r.route(42));
    // By hand: deficits (.5,.25,.25) → 1; after (1,0,0)/1: (−.5,.25,.25) → 2; (1,1,0)/2: (0,−.25,.25) → 3;
    // (1,1,1)/3: (.167,−.083,−.083) → 1; (2,1,1)/4: (0,0,0) tie → 1; (3,1,1)/5: (−.1,.05,.05) → 2;
    // (3,2,1)/6: (0,−.083,.083) → 3; (3,2,2)/7: (.071,−.036,−.036) → 1.
    expect(seq).toEqual([1, 2, 3, 1, 1, 2, 3, 1]);
    // A zero weight is never chosen; a new table restarts the realised counts.
    r.swap(undefined, 0, undefined, [0, 1, 3]);
    expect(Array.from({ length: 4 }, () => r.route(42))).toEqual([3, 2, 3, 3]);
  });

  it('a cold key goes where `hash` sends it, and an all-zero key falls back to that route', () => {
    const P = 7;
    const hash = createHash(ctx(P), { seed: 38324 });
    const r = new LearnedRouter({ numWorkers: P, numKeys: 100, numHotKeys: 1, mask: [{ start: 0, end: 3 }], sketchCapacity: 0 });
    r.swap([5], 1, [1], [0, 0, 0]);
    for (const k of [0, 1, 5, 17, 99]) expect(r.route(k)).toBe(hash.route(k));
  });
});

describe('saspartitioner hot keys come from the detector, not from ids', () => {
  it('the hottest key of a permuted Zipf stream gets slot 0', () => {
    const numKeys = 5000;
    const P = 16;
    const p = createSasPartitioner(ctx(P, numKeys), sasPartitionerParams.parse({ checkpoint: 'none', numHotKeys: 5, numTrueHotKeys: 5 }));
    const keys = zipfKeys(numKeys, 1.3, 9, 20000);
    const ids = rankToKeyIds(numKeys, 9);
    expect(ids[0]).not.toBe(0);
    const routed = new Array(P).fill(0);
    for (const k of keys) routed[p.route(k)]++;
    p.onSlide!(report(P, routed));
    expect(p.router.hotKeys[0]).toBe(ids[0]);
    expect(Array.from(p.router.hotKeys.slice(0, 3)).sort()).toEqual(Array.from(ids.slice(0, 3)).sort());
    // Slot 0 now routes inside its mask range only.
    const m0 = p.mask[0];
    for (let i = 0; i < 200; i++) {
      const w = p.route(ids[0]);
      expect(w).toBeGreaterThanOrEqual(m0.start);
      expect(w).toBeLessThan(m0.end);
    }
  });
});

/** A fake policy returning a random action each step (so the table changes every slide). */
function randomPolicy(mask: { start: number; end: number }[], seed: number): LearnedPolicy & { calls: number } {
  const rng = new Rng(seed);
  const dim = mask.reduce((a, r) => a + r.end - r.start, 0);
  return {
    mask,
    actionDim: dim,
    describe: 'random',
    calls: 0,
    step() {
      this.calls++;
      return Float32Array.from({ length: dim }, () => rng.next());
    },
  };
}

describe('table versions and splitting', () => {
  it('tableVersion bumps at most once per slide, and only in onSlide; cold keys are never split', () => {
    const P = 8;
    const numKeys = 2000;
    const mask = [{ start: 0, end: 5 }, { start: 4, end: 8 }];
    const pol = randomPolicy(mask, 3);
    const p = createSasPartitioner(ctx(P, numKeys), sasPartitionerParams.parse({ checkpoint: 'none', numHotKeys: 4, numTrueHotKeys: 2 }), pol);
    const keys = zipfKeys(numKeys, 1.2, 4, 12 * 3000);
    let next = 0;
    const workersOf = new Map<number, Set<number>>();
    const everHot = new Set<number>();
    let v = p.stats().tableVersion;
    for (let slide = 0; slide < 12; slide++) {
      const routed = new Array(P).fill(0);
      for (let i = 0; i < 3000; i++) {
        const k = keys[next++];
        const w = p.route(k);
        expect(p.stats().tableVersion).toBe(v);
        routed[w]++;
        (workersOf.get(k) ?? workersOf.set(k, new Set()).get(k)!).add(w);
      }
      p.onSlide!(report(P, routed, 300 + slide));
      for (const k of p.router.hotKeys) if (k >= 0) everHot.add(k);
      const nv = p.stats().tableVersion;
      expect(nv - v).toBeGreaterThanOrEqual(0);
      expect(nv - v).toBeLessThanOrEqual(1);
      v = nv;
    }
    expect(pol.calls).toBe(12);
    expect(v).toBeGreaterThanOrEqual(10); // random actions: the table really changed
    let cold = 0;
    for (const [k, ws] of workersOf) {
      if (everHot.has(k)) continue;
      cold++;
      expect(ws.size, `cold key ${k}`).toBe(1);
    }
    expect(cold).toBeGreaterThan(100);
    const split = [...workersOf].filter(([k, ws]) => everHot.has(k) && ws.size > 1);
    expect(split.length).toBeGreaterThan(0);
  });

  it('registry validates params and routes with the uniform table without a policy', () => {
    expect(() => createPartitioner('saspartitioner', ctx(4), { numHotKeys: 0 })).toThrow(ConfigError);
    expect(() => createPartitioner('saspartitioner', ctx(4), { mode: 'remote' })).toThrow(ConfigError);
    const p = createPartitioner('saspartitioner', ctx(4), { checkpoint: 'none', numTrueHotKeys: 2, numHotKeys: 2 }) as ReturnType<typeof createSasPartitioner>;
    expect(p.policy).toBeUndefined();
    expect(p.splitsKeys).toBe(true);
    for (const r of p.mask) for (let w = r.start; w < r.end; w++) expect(p.router.share(0, w) + p.router.share(1, w)).toBeGreaterThan(0);
  });
});

describe('saspartitioner-adaptive', () => {
  it('nearestModel picks the Zipf exponent nearest in Euclidean distance', () => {
    const z = (a: number) => Array.from({ length: 10 }, (_, i) => 1000 * Math.pow(i + 1, -a));
    expect(nearestModel(z(1.45), [0, 1, 1.5, 2])).toBe(2);
    expect(nearestModel(new Array(10).fill(7), [0, 1, 1.5])).toBe(0);
    expect(nearestModel(z(1.1), [0, 1, 1.5])).toBe(1);
  });

  it('switches model with the workload and maps the exact top keys onto slots', () => {
    const P = 8;
    const numKeys = 3000;
    const p = createSasAdaptive(ctx(P, numKeys), sasAdaptiveParams.parse({ models: [{ alpha: 0 }, { alpha: 1.5 }], numHotKeys: 4 }));
    const feed = (exponent: number, seed: number): number[] => {
      const routed = new Array(P).fill(0);
      for (const k of zipfKeys(numKeys, exponent, seed, 20000)) routed[p.route(k)]++;
      p.onSlide!(report(P, routed));
      return Array.from(rankToKeyIds(numKeys, seed).slice(0, 4));
    };
    const v0 = p.stats().tableVersion;
    const top = feed(1.5, 5);
    expect(p.active).toBe(1);
    expect(Array.from(p.routers[1].hotKeys)).toEqual(top);
    feed(0, 6);
    expect(p.active).toBe(0);
    expect(p.stats().tableVersion).toBeGreaterThan(v0);
  });

  it('defaults at P = 64: numHotKeys covers the shipped checkpoint\'s mask (more than SaS\'s 10 hot keys)', () => {
    const p = createPartitioner('saspartitioner-adaptive', ctx(64, 100_000), {}) as ReturnType<typeof createSasAdaptive>;
    const shipped = createSasPartitioner(ctx(64, 100_000), sasPartitionerParams.parse({}));
    expect(shipped.mask.length).toBeGreaterThan(10);
    expect(p.routers[1].mask).toEqual(shipped.mask);
    expect(p.routers[1].numHotKeys).toBe(shipped.mask.length);
    expect(() => createPartitioner('saspartitioner-adaptive', ctx(64, 100_000), { numHotKeys: 10 })).toThrow(/numHotKeys/);
  });

  it('a one-model adaptive partitioner routes exactly like saspartitioner with the same residual policy (exact top-k = sketch top-k here)', () => {
    const P = 8;
    const numKeys = 300; // sketch capacity 100·… ≥ numKeys: SpaceSaving counts exactly
    const mask = [{ start: 0, end: 5 }, { start: 3, end: 8 }, { start: 1, end: 7 }];
    for (const hotRule of ['load-deficit', 'key-deficit'] as const) {
      const polA = Object.assign(randomPolicy(mask, 11), { actionMode: 'residual' as const, residualScale: 0.25 });
      const polB = Object.assign(randomPolicy(mask, 11), { actionMode: 'residual' as const, residualScale: 0.25 });
      // Both with interim hot keys (the default): exact counts on both sides give the same decisions.
      const sas = createSasPartitioner(ctx(P, numKeys), sasPartitionerParams.parse({ checkpoint: 'none', numHotKeys: 4, sketchCapacity: 400, hotRule }), polA);
      const ada = createSasAdaptive(ctx(P, numKeys), sasAdaptiveParams.parse({ models: [{ alpha: 1.5 }], numHotKeys: 4, hotRule }), [polB]);
      expect(sas.actionMode).toBe('residual');
      const keys = zipfKeys(numKeys, 1.4, 21, 10 * 2000);
      let diff = 0;
      let next = 0;
      for (let slide = 0; slide < 10; slide++) {
        const routed = new Array(P).fill(0);
        for (let i = 0; i < 2000; i++) {
          const k = keys[next++];
          const a = sas.route(k);
          if (ada.route(k) !== a) diff++;
          routed[a]++;
        }
        sas.onSlide!(report(P, routed, 300 + 20 * slide));
        ada.onSlide!(report(P, routed, 300 + 20 * slide));
        for (let k = 0; k < mask.length; k++) for (let w = 0; w < P; w++) expect(ada.routers[0].share(k, w)).toBeCloseTo(sas.router.share(k, w), 12);
      }
      expect(polA.calls).toBe(10);
      expect(diff, hotRule).toBe(0);
      expect(sas.router.interimRecords, hotRule).toBeGreaterThan(0); // the rule did fire, on both sides
    }
  });

  it('a model switched to takes over the slide its predecessor routed: its load estimates equal those of a router that routed the slide itself', () => {
    const P = 8;
    const numKeys = 2000;
    const H = 6;
    const maskA = [{ start: 0, end: 8 }, { start: 0, end: 4 }, { start: 4, end: 8 }]; // 3 true slots
    const maskB = [{ start: 0, end: 6 }, { start: 2, end: 8 }, { start: 1, end: 5 }, { start: 3, end: 7 }, { start: 0, end: 3 }]; // 5 true slots
    const mk = (mask: typeof maskA) => new LearnedRouter({ numWorkers: P, numKeys, numHotKeys: H, mask, sketchCapacity: 0, hotRule: 'load-deficit' });
    const prev = mk(maskA); // routed the slides
    const idle = mk(maskB); // the model switched to: idle, with stale slots of its own
    const self = mk(maskB); // reference: same mask as `idle`, routed the same slides with prev's slots
    idle.swap([5, 6, 7], 3, [1, 1, 1], null);
    const keys = zipfKeys(numKeys, 1.3, 9, 3 * 4000);
    const ranks = Array.from(rankToKeyIds(numKeys, 9).slice(0, 8));
    let next = 0;
    const base = { a: new Float64Array(P), b: new Float64Array(P) };
    const hot = { a: new Float64Array(maskB.length), b: new Float64Array(maskB.length) };
    for (let slide = 0; slide < 3; slide++) {
      const top = ranks.slice(slide % 2, (slide % 2) + H);
      const counts = top.map((_, i) => 1000 - i);
      for (const r of [prev, self]) {
        r.estimateLoads(top, H, counts, 0.3, base.a, hot.a); // keeps the cold average going, as SlideTable does
        r.swap(top, H, counts, null);
      }
      for (let i = 0; i < 4000; i++) {
        const k = keys[next++];
        prev.route(k);
        self.route(k);
      }
    }
    const newTop = ranks.slice(2, 2 + H);
    const newCounts = newTop.map((_, i) => 900 - i);
    // Without adopting, the idle router has no records of the slide: every estimate is 0.
    idle.estimateLoads(newTop, H, newCounts, 0.3, base.a, hot.a);
    expect(base.a.reduce((x, y) => x + y, 0)).toBe(0);
    idle.adoptSlide(prev);
    idle.estimateLoads(newTop, H, newCounts, 0.3, base.a, hot.a);
    self.estimateLoads(newTop, H, newCounts, 0.3, base.b, hot.b);
    expect(base.a.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    for (let w = 0; w < P; w++) expect(base.a[w]).toBeCloseTo(base.b[w], 9);
    for (let k = 0; k < maskB.length; k++) expect(hot.a[k]).toBeCloseTo(hot.b[k], 9);
    expect(() => idle.adoptSlide(new LearnedRouter({ numWorkers: P, numKeys, numHotKeys: H + 1, mask: maskA, sketchCapacity: 0 }))).toThrow(/adoptSlide/);
  });

  describe('interim hot keys (ours)', () => {
    const P = 4;
    const make = (interimHot: boolean) =>
      new LearnedRouter({ numWorkers: P, numKeys: 100, numHotKeys: 1, mask: [{ start: 0, end: P }], sketchCapacity: 10, interimHot });

    it('hand-computed threshold: a cold key moves off its hash once its slide count × P exceeds the slide records', () => {
      for (const on of [true, false]) {
        const r = make(on);
        const tally = new Array(P).fill(0);
        // 32 distinct cold keys, one record each: 1 · P never exceeds the slide's records, all hashed.
        for (let k = 10; k < 42; k++) {
          const w = r.route(k);
          expect(w).toBe(murmurWorker(k, DEFAULT_HASH_SEED, P));
          tally[w]++;
        }
        // Key 7 enters a full 10-entry SpaceSaving: count − error = i after its i-th record, and the
        // slide has 32 + i records, so it is interim hot once 4i > 32 + i, i.e. from i = 11 on.
        for (let i = 1; i <= 10; i++) {
          const w = r.route(7);
          expect(w).toBe(murmurWorker(7, DEFAULT_HASH_SEED, P));
          tally[w]++;
        }
        expect(r.interimRecords).toBe(0);
        const least = tally.indexOf(Math.min(...tally));
        const w11 = r.route(7);
        if (on) {
          expect(w11).toBe(least);
          expect(r.interimRecords).toBe(1);
        } else {
          expect(w11).toBe(murmurWorker(7, DEFAULT_HASH_SEED, P));
          expect(r.interimRecords).toBe(0);
        }
      }
    });

    it('the load estimate of a key turning hot counts its interim records; the cold average leaves them out', () => {
      const r = make(true);
      for (let k = 10; k < 42; k++) r.route(k); // 32 cold records, one per key
      for (let i = 0; i < 50; i++) r.route(7); // 10 hashed, then 40 interim (threshold above)
      expect(r.interimRecords).toBe(40);
      const top = r.detectTop();
      expect(top.keys[0]).toBe(7);
      const guaranteed = top.counts[0];
      const outBase = new Float64Array(P);
      const outHot = new Float64Array(1);
      r.estimateLoads(top.keys, top.size, top.counts, 1, outBase, outHot);
      // Key 7's records: the 40 interim ones plus what its hash worker holds of the rest (it holds
      // the 10 hashed ones, so the estimate is the detector's count, not capped by one worker's load).
      expect(outHot[0]).toBe(guaranteed);
      expect(guaranteed).toBeGreaterThanOrEqual(50);
      // Cold load: the 82 records minus key 7's 50 (the detector may over-count key 7 by its error).
      const base = outBase.reduce((a, b) => a + b, 0);
      expect(base).toBeCloseTo(82 - guaranteed, 9);
    });

    it('nothing is interim hot before the slide has 2·P records', () => {
      const r = make(true);
      const h = murmurWorker(7, DEFAULT_HASH_SEED, P);
      // Only key 7: count · P > records from the first record on, but the slide needs 2·P = 8 records.
      for (let i = 1; i <= 7; i++) expect(r.route(7)).toBe(h);
      expect(r.interimRecords).toBe(0);
      // Record 8: the least-loaded worker (load: 7 on h, 0 elsewhere → the lowest other index).
      expect(r.route(7)).toBe(h === 0 ? 1 : 0);
      expect(r.interimRecords).toBe(1);
      // After the slide ends (detectTop resets the detector and the slide count) it starts over.
      r.detectTop();
      expect(r.route(7)).toBe(h);
    });

    it('a new hot key mid-slide (a shift) no longer piles onto one worker; the next slide makes it a slot', () => {
      const P8 = 8;
      const keysA = zipfKeys(1000, 1.0, 5, 4000);
      const maxLoad = (interimHot: boolean) => {
        const sas = createSasPartitioner(ctx(P8, 1000), sasPartitionerParams.parse({ checkpoint: 'none', interimHot }));
        const routed = new Array(P8).fill(0);
        // First half of the slide: Zipf 1.0; second half: key 999 takes 60 % of the records.
        for (const k of keysA) routed[sas.route(k)]++;
        const rng = new Rng(3);
        for (let i = 0; i < 4000; i++) routed[sas.route(rng.next() < 0.6 ? 999 : keysA[i])]++;
        sas.onSlide!(report(P8, routed));
        return { max: Math.max(...routed), hot: sas.router.slotOfKey(999) >= 0, interim: sas.router.interimRecords };
      };
      const on = maxLoad(true);
      const off = maxLoad(false);
      // Off: key 999's ~2400 records all land on its hash worker. On: only the first ~1/7 of the
      // second half's records of it do (4000 / 7 ≈ 572), the rest go to the least-loaded workers.
      expect(off.max).toBeGreaterThan(2400);
      expect(on.max).toBeLessThan(off.max / 2);
      expect(on.interim).toBeGreaterThan(1500);
      expect(off.interim).toBe(0);
      // Either way the detector makes it a hot key at the slide's end.
      expect(on.hot && off.hot).toBe(true);
    });
  });
});
