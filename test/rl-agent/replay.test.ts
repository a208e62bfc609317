// Replay buffer: ring semantics, exact sampling, prioritized proportions and importance weights.
import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../src/rl-agent/replay.js';
import { Rng } from '../../src/common/rng.js';
import { DataError } from '../../src/common/errors.js';

const t = (i: number) => ({ obs: [i, i], action: [i / 100], reward: i, nextObs: [i + 1, i + 1], done: i % 2 === 0 });

describe('ReplayBuffer', () => {
  it('returns stored transitions intact and overwrites the oldest when full', () => {
    const rb = new ReplayBuffer(4, 2, 1, new Rng(1));
    for (let i = 0; i < 6; i++) rb.add(t(i));
    expect(rb.size).toBe(4);
    const b = rb.sample(64);
    const seen = new Set<number>();
    for (let j = 0; j < 64; j++) {
      const r = b.rewards[j];
      seen.add(r);
      expect(b.obs[2 * j]).toBe(r);
      expect(b.nextObs[2 * j + 1]).toBe(r + 1);
      expect(b.actions[j]).toBeCloseTo(r / 100, 6);
      expect(b.dones[j]).toBe(r % 2 === 0 ? 1 : 0);
      expect(b.weights[j]).toBe(1);
    }
    expect([...seen].sort()).toEqual([2, 3, 4, 5]); // 0 and 1 were overwritten
  });

  it('rejects wrong lengths and non-finite rewards', () => {
    const rb = new ReplayBuffer(4, 2, 1, new Rng(1));
    expect(() => rb.add({ ...t(0), obs: [1] })).toThrow(DataError);
    expect(() => rb.add({ ...t(0), reward: NaN })).toThrow(DataError);
    expect(() => rb.sample(1)).toThrow(DataError);
  });

  it('samples in proportion to priority^α and weights by (N·P)^−β / max', () => {
    const rb = new ReplayBuffer(8, 2, 1, new Rng(3), { alpha: 1, beta: 1, eps: 0 });
    for (let i = 0; i < 4; i++) rb.add(t(i));
    rb.updatePriorities([0, 1, 2, 3], [1, 1, 1, 7]); // P = 0.1, 0.1, 0.1, 0.7
    let hot = 0;
    const n = 4000;
    for (let k = 0; k < n / 100; k++) {
      const b = rb.sample(100);
      for (let j = 0; j < 100; j++) {
        if (b.indices[j] === 3) {
          hot++;
          expect(b.weights[j]).toBeCloseTo((4 * 0.1) / (4 * 0.7), 6); // normalised by the max weight (of the rarest)
        } else {
          expect(b.weights[j]).toBeCloseTo(1, 6);
        }
      }
    }
    expect(hot / n).toBeGreaterThan(0.65);
    expect(hot / n).toBeLessThan(0.75);
  });
});
