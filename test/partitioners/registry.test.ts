import { describe, expect, it } from 'vitest';
import { ConfigError, UnknownNameError } from '../../src/common/errors.js';
import { createPartitioner, parsePartitionerParams, partitionerNames, partitionerSpec } from '../../src/partitioners/index.js';
import { ctxWith } from './helpers.js';

const ALL = ['hash', 'shuffle', 'pkg', 'd-choices', 'w-choices', 'cam', 'dagreedy', 'flexd', 'dalton', 'dalton-metrics', 'dalton-offline'];

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('partitioner registry', () => {
  it('registers every baseline', () => {
    expect(partitionerNames()).toEqual(expect.arrayContaining(ALL));
  });

  it('an unknown name lists the valid choices', () => {
    try {
      partitionerSpec('nope');
      throw new Error('unreachable');
    } catch (e) {
      expect(e).toBeInstanceOf(UnknownNameError);
      expect((e as UnknownNameError).code).toBe('UNKNOWN_NAME');
      expect((e as UnknownNameError).context.valid).toEqual(partitionerNames());
    }
  });

  for (const name of ALL) {
    it(`${name}: builds from defaults alone, routes into [0, P), rejects an unknown field`, () => {
      const ctx = ctxWith(8, 500);
      const p = createPartitioner(name, ctx, {});
      expect(p.name).toBe(name);
      expect(p.numWorkers).toBe(8);
      for (let i = 0; i < 3000; i++) {
        if (i % 100 === 0) ctx.clock.nowMs = i * 2;
        const w = p.route(i % 7 === 0 ? 3 : i % 500);
        expect(Number.isInteger(w) && w >= 0 && w < 8).toBe(true);
      }
      expect(p.stats().hotKeys).toBeGreaterThanOrEqual(0);
      const err = configError(() => createPartitioner(name, ctx, { bogus: 1 }));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.context.field).toBe('partitioner.params');
      expect(err.message).toContain('bogus');
    });
  }

  it('a bad value names its field', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['hash', { seed: 1.5 }, 'partitioner.params.seed'],
      ['pkg', { coldHash: 'crc' }, 'partitioner.params.coldHash'],
      ['d-choices', { epsilon: -1 }, 'partitioner.params.epsilon'],
      ['cam', { windowMs: 2500, slideMs: 1000 }, 'partitioner.params.windowMs'],
      ['dalton', { epsilon: 2 }, 'partitioner.params.epsilon'],
      ['dalton', { capMode: 'hard' }, 'partitioner.params.capMode'],
      ['dalton-metrics', { metricWindowSlides: 0 }, 'partitioner.params.metricWindowSlides'],
      ['dalton-offline', { numHotKeys: 20, sketchCapacity: 10 }, 'partitioner.params.sketchCapacity'],
      ['flexd', { hotThreshold: 0 }, 'partitioner.params.hotThreshold'],
    ];
    for (const [name, params, field] of cases) {
      const err = configError(() => parsePartitionerParams(name, params));
      expect(err.context.field).toBe(field);
    }
  });

  it('fills documented defaults', () => {
    expect(parsePartitionerParams('dalton', {})).toMatchObject({ epsilon: 0.1, learningRate: 0.1, q0: -2, honourRates: true, coldHash: 'murmur', capMode: 'strict', instances: 1 });
    expect(parsePartitionerParams('cam', {})).toMatchObject({ expireWindow: true, coldHash: 'murmur', windowMs: 10000, slideMs: 1000 });
    expect(parsePartitionerParams('d-choices', {})).toMatchObject({ threshold: 10, epsilon: 1e-4, capacity: 100, minD: 2 });
  });
});
