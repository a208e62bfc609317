// Coordinator step release and completion, MigrationMetrics totals, and the latency timeline/CCDF files.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvariantError } from '../../src/common/errors.js';
import {
  type Installed,
  LatencyTimeline,
  MigrationCoordinator,
  type MigrationPlan,
  formatCcdf,
  formatTimeline,
  writeLatencyFiles,
} from '../../src/engine/migration/index.js';

const plan: MigrationPlan = {
  steps: [{ moves: [{ bin: 0, from: 0, to: 1 }, { bin: 1, from: 1, to: 0 }] }, { moves: [] }, { moves: [{ bin: 2, from: 0, to: 1 }] }],
  replicas: [],
};
const ack = (epoch: number, bin: number, bytes: number, replayed: number): Installed => ({
  type: 'migration.installed',
  epoch,
  bin,
  from: 0,
  to: 1,
  bytes,
  replayed,
});

describe('MigrationCoordinator', () => {
  it('releases the next step only after the previous completed and the gap elapsed; empty steps complete at once', () => {
    const c = new MigrationCoordinator(plan, { gapMs: 5 });
    expect(c.release(1, 0)).toEqual(plan.steps[0].moves);
    expect(c.ready(1)).toBe(false);
    expect(c.release(2, 1)).toBeUndefined();
    expect(c.onInstalled(ack(1, 0, 100, 2), 10)).toBe(false);
    expect(c.onInstalled(ack(1, 1, 50, 0), 20)).toBe(true);
    expect(c.ready(24)).toBe(false);
    expect(c.release(2, 25)).toEqual([]); // empty step, completes immediately
    expect(c.release(3, 29)).toBeUndefined(); // gap after the empty step's completion at 25
    expect(c.release(3, 30)).toEqual(plan.steps[2].moves);
    expect(c.done).toBe(false);
    c.onInstalled(ack(3, 2, 10, 1), 42);
    expect(c.done).toBe(true);
    expect(c.ready(1000)).toBe(false);
    const s = c.metrics.summary();
    expect(s.steps.map((x) => [x.step, x.epoch, x.moves, x.bytes, x.replayed, x.startMs, x.endMs, x.durationMs])).toEqual([
      [0, 1, 2, 150, 2, 0, 20, 20],
      [1, 2, 0, 0, 0, 25, 25, 0],
      [2, 3, 1, 10, 1, 30, 42, 12],
    ]);
    expect(s).toMatchObject({ completedSteps: 3, moves: 3, bytes: 160, replayed: 3, durationMs: 32, spanMs: 42 });
    expect(c.metrics.doneLines()).toBe('migration_done 20 20\nmigration_done 25 0\nmigration_done 42 12\n');
  });

  it('maxInFlight > 1 releases overlapping steps', () => {
    const c = new MigrationCoordinator(plan, { maxInFlight: Infinity });
    expect(c.release(1, 0)).toHaveLength(2);
    expect(c.release(2, 0)).toHaveLength(0);
    expect(c.release(3, 0)).toHaveLength(1);
    expect(c.inFlight).toBe(2);
    c.onInstalled(ack(3, 2, 1, 0), 1);
    expect(c.done).toBe(false);
    c.onInstalled(ack(1, 0, 1, 0), 2);
    c.onInstalled(ack(1, 1, 1, 0), 3);
    expect(c.done).toBe(true);
  });

  it('rejects unknown or repeated acks and bad options', () => {
    const c = new MigrationCoordinator(plan);
    c.release(1, 0);
    expect(() => c.onInstalled(ack(2, 0, 1, 0), 1)).toThrow(InvariantError);
    c.onInstalled(ack(1, 0, 1, 0), 1);
    expect(() => c.onInstalled(ack(1, 0, 1, 0), 1)).toThrow(InvariantError);
    try {
      new MigrationCoordinator(plan, { gapMs: -1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).context.field).toBe('migration.gapMs');
    }
  });
});

describe('LatencyTimeline', () => {
  it('golden per-slide p50/p99/max rows (values below 2.048 ms are exact in µs HDR buckets)', () => {
    const t = new LatencyTimeline({ slideMs: 250 });
    for (const [at, l] of [
      [10, 1],
      [20, 2],
      [30, 2],
      [260, 0.25],
      [270, 0.75],
      [1010, 1.5],
    ])
      t.record(at, l);
    expect(t.rows()).toEqual([
      { slideStartMs: 0, count: 3, p50Ms: 2, p99Ms: 2, maxMs: 2 },
      { slideStartMs: 250, count: 2, p50Ms: 0.25, p99Ms: 0.75, maxMs: 0.75 },
      { slideStartMs: 1000, count: 1, p50Ms: 1.5, p99Ms: 1.5, maxMs: 1.5 },
    ]);
    expect(formatTimeline(t.rows())).toBe('# t_ms count p50_ms p99_ms max_ms\n0 3 2 2 2\n250 2 0.25 0.75 0.75\n1000 1 1.5 1.5 1.5\n');
  });

  it('golden CCDF: 1, 2, 2, 5 ms', () => {
    const t = new LatencyTimeline();
    for (const l of [1, 2, 2, 5]) t.record(0, l);
    expect(t.ccdf()).toEqual([
      { latencyMs: 1, fractionGreater: 0.75, count: 1 },
      { latencyMs: 2, fractionGreater: 0.25, count: 2 },
      { latencyMs: 5, fractionGreater: 0, count: 1 },
    ]);
    expect(formatCcdf(t.ccdf())).toBe('# latency_ms fraction_greater count\n1 0.75 1\n2 0.25 2\n5 0 1\n');
    expect(new LatencyTimeline().ccdf()).toEqual([]);
  });

  it('CCDF invariants: ascending latencies, non-increasing fractions ending at 0, counts sum to the samples, max is exact', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 }), (ls) => {
        const t = new LatencyTimeline();
        ls.forEach((l, i) => t.record(i, l));
        const rows = t.ccdf();
        for (let i = 1; i < rows.length; i++) {
          expect(rows[i].latencyMs).toBeGreaterThan(rows[i - 1].latencyMs);
          expect(rows[i].fractionGreater).toBeLessThanOrEqual(rows[i - 1].fractionGreater);
        }
        expect(rows[rows.length - 1].fractionGreater).toBe(0);
        expect(rows.reduce((n, r) => n + r.count, 0)).toBe(ls.length);
        expect(rows[rows.length - 1].latencyMs).toBe(Math.max(...ls.map((l) => Math.round(l * 1000))) / 1000);
        const timelineCount = t.rows().reduce((n, r) => n + r.count, 0);
        expect(timelineCount).toBe(ls.length);
      }),
      { numRuns: 100 },
    );
  });

  it('writes the timeline and CCDF files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sas-migration-'));
    try {
      const t = new LatencyTimeline({ slideMs: 100 });
      t.record(5, 1);
      t.record(150, 2);
      const p = writeLatencyFiles(join(dir, 'out'), 'run1', t);
      expect(readFileSync(p.timeline, 'utf8')).toBe(formatTimeline(t.rows()));
      expect(readFileSync(p.ccdf, 'utf8')).toBe('# latency_ms fraction_greater count\n1 0.5 1\n2 0 1\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options naming the field', () => {
    try {
      new LatencyTimeline({ slideMs: 0 });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).context.field).toBe('latency.slideMs');
    }
  });
});
