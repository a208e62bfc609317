// Golden route fingerprints of the bandit and head-choice partitioners on long seeded Zipf streams (pins behaviour across optimisations).
import { describe, expect, it } from 'vitest';
import { createPartitioner } from '../../src/partitioners/index.js';
import type { Partitioner } from '../../src/partitioners/types.js';
import { ZipfWorkload } from '../../src/tasks/workloads/zipf.js';

interface Case {
  readonly name: string;
  readonly P: number;
  readonly params: Record<string, unknown>;
  /** FNV-1a over the routed workers, and the number of hot-path records (0 for d-choices, which has no `lastRouteHot`). */
  readonly fingerprint: number;
  readonly hot: number;
}

const RECORDS = 200_000;
const K = 20_000;
const PER_MS = 100; // records per ms of event time: 10k per 100 ms slide

/**
 * Routes RECORDS Zipf(1.5) keys (K keys, seed 42) with the clock advancing 1 ms per 100 records and
 * a synthetic slide report (busy time ∝ the slide's share) every `slideMs`; returns FNV-1a of the
 * routes and the hot-path count.
 */
function fingerprint(p: Partitioner & { lastRouteHot?: boolean }, clock: { nowMs: number }, P: number, slideMs: number): { fingerprint: number; hot: number } {
  const keys = new Int32Array(RECORDS);
  new ZipfWorkload({ numKeys: K, exponent: 1.5, seed: 42 }).fill(keys, new Int32Array(RECORDS), 0, RECORDS, 0);
  const slide = new Float64Array(P);
  let h = 0x811c9dc5;
  let hot = 0;
  let nextReport = slideMs;
  for (let i = 0; i < RECORDS; i++) {
    clock.nowMs = Math.floor(i / PER_MS);
    if (clock.nowMs >= nextReport) {
      const total = slide.reduce((a, b) => a + b, 0);
      const workers = Array.from(slide, (c, w) => ({ worker: w, busyMs: total > 0 ? Math.min(1000, (500 * c * P) / total) : 0 }));
      p.onSlide?.({ workers } as never);
      slide.fill(0);
      nextReport += slideMs;
    }
    const w = p.route(keys[i]);
    slide[w]++;
    if (p.lastRouteHot) hot++;
    h = Math.imul(h ^ w, 0x01000193);
  }
  return { fingerprint: h >>> 0, hot };
}

const win = { windowMs: 1000, slideMs: 100 };
const CASES: Case[] = [
  { name: 'dalton', P: 64, params: { ...win }, fingerprint: 1232872239, hot: 140053 },
  { name: 'dalton', P: 10, params: { ...win, capMode: 'explore', coldHash: 'mod', counter: 'exact', epsilon: 0.2 }, fingerprint: 3816423133, hot: 96982 },
  { name: 'dalton', P: 12, params: { ...win, capMode: 'off', learningRate: 0.3, q0: 0 }, fingerprint: 2418690809, hot: 97323 },
  { name: 'dalton', P: 16, params: { ...win, instances: 3 }, fingerprint: 1379298772, hot: 111344 },
  { name: 'dalton-metrics', P: 64, params: { ...win }, fingerprint: 1089687658, hot: 140053 },
  { name: 'dalton-offline', P: 64, params: { ...win }, fingerprint: 3258058803, hot: 145749 },
  { name: 'dalton-offline', P: 20, params: { ...win, temperature: 0.5, numHotKeys: 5, numTrueHotKeys: 4 }, fingerprint: 1306943361, hot: 128662 },
  { name: 'd-choices', P: 64, params: {}, fingerprint: 3022375944, hot: 0 },
  { name: 'd-choices', P: 10, params: { sources: 2, dRefreshEvery: 1 }, fingerprint: 3745128665, hot: 0 },
];

describe('route fingerprints (values recorded before the issue #3 route() optimisations)', () => {
  for (const c of CASES) {
    it(`${c.name} P=${c.P} ${JSON.stringify(c.params)}`, () => {
      const clock = { nowMs: 0 };
      const p = createPartitioner(c.name, { numWorkers: c.P, seed: 7, numKeys: K, slideMs: 100, clock }, c.params);
      expect(fingerprint(p, clock, c.P, 100)).toEqual({ fingerprint: c.fingerprint, hot: c.hot });
    });
  }
});
