// kafkajs partitioner adapter: any registered sas partitioner chooses the Kafka partition of a message.
import type { ICustomPartitioner, PartitionerArgs, PartitionMetadata } from 'kafkajs';
import { z } from 'zod';
import { murmur3String } from '../common/hash.js';
import { parseOrThrow } from '../common/validate.js';
import { createPartitioner, parsePartitionerParams } from '../partitioners/index.js';
import type { Partitioner } from '../partitioners/index.js';
import { MAX_KEYS } from './codec.js';

/** Options of the adapter (validated; errors name the field under `kafka.partitioner`). */
export const kafkaPartitionerOptions = z.strictObject({
  /** Size of the dense key space; message keys are mapped into [0, numKeys). Default 2^31 − 1. */
  numKeys: z.number().int().min(1).max(MAX_KEYS).default(MAX_KEYS),
  /** Seed of the partitioner and of the string-key hash. Default 0. */
  seed: z.number().int().default(0),
  /** Metric slide in ms passed to the partitioner context. Default 1000. */
  slideMs: z.number().int().positive().default(1000),
});

/** Input of `kafkaPartitionerOptions`. */
export type KafkaPartitionerOptions = z.input<typeof kafkaPartitionerOptions> & {
  /** Injected clock (ms); its value is copied into the partitioner's `ctx.clock.nowMs` before each route. Default Date.now. */
  readonly now?: () => number;
};

/** The adapter: a kafkajs `createPartitioner` value that also exposes the partitioner built per topic (for `onSlide` feedback). */
export type KafkaCustomPartitioner = ICustomPartitioner & {
  /** The partitioner instance of each topic routed so far (rebuilt when the topic's partition count changes). */
  readonly instances: ReadonlyMap<string, Partitioner>;
};

/**
 * Maps a Kafka message key to a dense key id in [0, numKeys):
 * - the canonical decimal form of an int in [0, numKeys) maps to that int (what the record codec writes);
 * - any other key (text, negative, out of range) maps to `floorMod(int32(murmur3_32(utf8(key), seed)), numKeys)`;
 * - a null or empty key returns -1 (the adapter then spreads such messages round robin over key ids).
 */
export function messageKeyToId(key: Buffer | string | null | undefined, numKeys: number, seed: number): number {
  if (key == null || key.length === 0) return -1;
  const s = typeof key === 'string' ? key : key.toString('utf8');
  if (s.length <= 10 && /^(0|[1-9][0-9]*)$/.test(s)) {
    const n = Number(s);
    if (n < numKeys) return n;
  }
  const h = murmur3String(s, seed) | 0;
  const r = h % numKeys;
  return r < 0 ? r + numKeys : r;
}

/**
 * Creates a kafkajs custom partitioner that routes with sas partitioner `name` (validated `params`):
 * P = the topic's partition count, worker w = the w-th partition in partition-id order. A message
 * with an explicit `partition` keeps it (as kafkajs' default partitioner does). Unknown names throw
 * UnknownNameError and bad params ConfigError, at creation time.
 *
 * Usage: `kafka.producer({ createPartitioner: createKafkaPartitioner('hash', {}, { numKeys }) })`.
 */
export function createKafkaPartitioner(name: string, params: unknown = {}, opts: KafkaPartitionerOptions = {}): KafkaCustomPartitioner {
  const o = parseOrThrow(kafkaPartitionerOptions, { numKeys: opts.numKeys, seed: opts.seed, slideMs: opts.slideMs }, 'kafka.partitioner');
  const parsedParams = parsePartitionerParams(name, params);
  const now = opts.now ?? Date.now;
  const clock = { nowMs: now() };
  const instances = new Map<string, Partitioner>();
  // Sorted partition ids per topic, cached with the metadata array they came from.
  const idsCache = new Map<string, { meta: PartitionMetadata[]; ids: number[] }>();
  let nullKeyCursor = 0;

  const partitionIds = (topic: string, meta: PartitionMetadata[]): number[] => {
    const c = idsCache.get(topic);
    if (c !== undefined && c.meta === meta) return c.ids;
    const ids = meta.map((m) => m.partitionId).sort((a, b) => a - b);
    idsCache.set(topic, { meta, ids });
    return ids;
  };

  const instanceFor = (topic: string, p: number): Partitioner => {
    let inst = instances.get(topic);
    if (inst === undefined || inst.numWorkers !== p) {
      inst = createPartitioner(name, { numWorkers: p, seed: o.seed, numKeys: o.numKeys, slideMs: o.slideMs, clock }, parsedParams);
      instances.set(topic, inst);
    }
    return inst;
  };

  const route = ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    if (typeof message.partition === 'number' && message.partition >= 0) return message.partition;
    const ids = partitionIds(topic, partitionMetadata);
    const inst = instanceFor(topic, ids.length);
    let key = messageKeyToId(message.key, o.numKeys, o.seed);
    if (key < 0) {
      key = nullKeyCursor;
      nullKeyCursor = nullKeyCursor + 1 === o.numKeys ? 0 : nullKeyCursor + 1;
    }
    clock.nowMs = now();
    return ids[inst.route(key)];
  };

  const factory = (() => route) as KafkaCustomPartitioner;
  Object.defineProperty(factory, 'instances', { value: instances, enumerable: true });
  return factory;
}
