// Unit tests (no broker) of the kafkajs partitioner adapter: it routes exactly as the sas partitioner does.
import type { PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur3String } from '../../src/common/hash.js';
import { ConfigError, UnknownNameError } from '../../src/common/errors.js';
import { createKafkaPartitioner, messageKeyToId } from '../../src/connectors/index.js';
import { createPartitioner } from '../../src/partitioners/index.js';

function meta(ids: number[]): PartitionMetadata[] {
  return ids.map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
}

const ctx = (p: number, numKeys: number) => ({ numWorkers: p, seed: 0, numKeys, slideMs: 1000, clock: { nowMs: 0 } });

describe('createKafkaPartitioner', () => {
  it('hash: decimal keys go to the partition hash.route(key) picks', () => {
    const route = createKafkaPartitioner('hash', {}, { numKeys: 5000 })();
    const ref = createPartitioner('hash', ctx(8, 5000));
    const m = meta([0, 1, 2, 3, 4, 5, 6, 7]);
    const counts = new Array<number>(8).fill(0);
    for (let k = 0; k < 5000; k++) {
      const p = route({ topic: 't', partitionMetadata: m, message: { key: String(k), value: null } });
      expect(p).toBe(ref.route(k));
      counts[p]++;
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('hash: Buffer keys and string keys agree; partition ids come from the metadata in id order', () => {
    const route = createKafkaPartitioner('hash', { seed: 7 }, { numKeys: 100 })();
    const ref = createPartitioner('hash', ctx(3, 100), { seed: 7 });
    const m = meta([12, 10, 11]); // unordered, non-zero-based
    for (let k = 0; k < 100; k++) {
      const a = route({ topic: 't', partitionMetadata: m, message: { key: String(k), value: null } });
      const b = route({ topic: 't', partitionMetadata: m, message: { key: Buffer.from(String(k)), value: null } });
      expect(a).toBe(b);
      expect(a).toBe(10 + ref.route(k));
    }
  });

  it('shuffle: 800 messages over 8 partitions land exactly 100 per partition, whatever the keys', () => {
    const route = createKafkaPartitioner('shuffle', {}, { numKeys: 10 })();
    const m = meta([0, 1, 2, 3, 4, 5, 6, 7]);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 800; i++) counts[route({ topic: 't', partitionMetadata: m, message: { key: '3', value: null } })]++;
    expect(counts).toEqual(new Array<number>(8).fill(100));
  });

  it('keeps an explicit message partition', () => {
    const route = createKafkaPartitioner('hash', {}, { numKeys: 10 })();
    expect(route({ topic: 't', partitionMetadata: meta([0, 1, 2]), message: { key: '1', value: null, partition: 2 } })).toBe(2);
    expect(route({ topic: 't', partitionMetadata: meta([0, 1, 2]), message: { key: '1', value: null, partition: 0 } })).toBe(0);
  });

  it('spreads null keys over key ids 0, 1, 2, … in turn', () => {
    const route = createKafkaPartitioner('hash', {}, { numKeys: 4 })();
    const ref = createPartitioner('hash', ctx(5, 4));
    const m = meta([0, 1, 2, 3, 4]);
    const got = [0, 1, 2, 3, 4, 5].map(() => route({ topic: 't', partitionMetadata: m, message: { key: null, value: null } }));
    expect(got).toEqual([0, 1, 2, 3, 0, 1].map((k) => ref.route(k)));
  });

  it('rebuilds the partitioner when the partition count changes and exposes it per topic', () => {
    const f = createKafkaPartitioner('hash', {}, { numKeys: 100 });
    const route = f();
    route({ topic: 'a', partitionMetadata: meta([0, 1]), message: { key: '1', value: null } });
    expect(f.instances.get('a')?.numWorkers).toBe(2);
    route({ topic: 'a', partitionMetadata: meta([0, 1, 2, 3]), message: { key: '1', value: null } });
    expect(f.instances.get('a')?.numWorkers).toBe(4);
    expect(f.instances.has('b')).toBe(false);
  });

  it('rejects unknown names and bad params at creation, naming the field', () => {
    expect(() => createKafkaPartitioner('nope')).toThrow(UnknownNameError);
    try {
      createKafkaPartitioner('hash', { seed: 'x' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).context.field).toBe('partitioner.params.seed');
    }
    try {
      createKafkaPartitioner('hash', {}, { numKeys: 0 });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).code).toBe('CONFIG_INVALID');
      expect((e as ConfigError).context.field).toBe('kafka.partitioner.numKeys');
    }
  });
});

describe('messageKeyToId', () => {
  it('keeps canonical decimal keys below numKeys and hashes everything else', () => {
    const h = (s: string, n: number) => {
      const r = (murmur3String(s, 9) | 0) % n;
      return r < 0 ? r + n : r;
    };
    expect(messageKeyToId('0', 10, 9)).toBe(0);
    expect(messageKeyToId('9', 10, 9)).toBe(9);
    expect(messageKeyToId(Buffer.from('7'), 10, 9)).toBe(7);
    for (const s of ['10', '007', '-1', 'user-42', 'é', '99999999999']) expect(messageKeyToId(s, 10, 9)).toBe(h(s, 10));
    expect(messageKeyToId(null, 10, 9)).toBe(-1);
    expect(messageKeyToId('', 10, 9)).toBe(-1);
  });
});
