// The wire format of one record on a Kafka input topic, and its allocation-free validating decoder.
import type { PayloadStore } from '../tasks/index.js';

/** Bytes in one encoded record value: key int32, payload int32, event time float64, all big-endian. */
export const RECORD_VALUE_BYTES = 16;

/** Largest int32: the default upper bound (exclusive) of keys when `numKeys` is not known. */
export const MAX_KEYS = 0x7fffffff;

/** 2^31: the default upper bound (exclusive) of payload ids, so every non-negative int32 is valid. */
export const MAX_PAYLOADS = 0x80000000;

/** What a valid record's key and payload id must lie below (both exclusive, both >= 1). */
export interface RecordLimits {
  /** Keys are in [0, numKeys) (the workload's key space). */
  readonly numKeys: number;
  /** Payload ids are in [0, numPayloads) (`payloadLimit` of the task's payload store). */
  readonly numPayloads: number;
}

/**
 * The exclusive upper bound of payload ids that `store` can serve: its `size` when the task reads
 * payloads (text sentences, CSV rows), MAX_PAYLOADS when it reads none (keyed count's empty store) or
 * generates them from any id (size Infinity). A record past it would make the task read a row that
 * does not exist.
 */
export function payloadLimit(store: PayloadStore): number {
  if (store.sentence === undefined && store.values === undefined) return MAX_PAYLOADS;
  return Math.min(store.size, MAX_PAYLOADS);
}

/**
 * Why a message was rejected. Stable names: they appear in source stats, dead-letter headers and
 * docs/kafka.md.
 */
export type MalformedReason =
  /** The value is null (a tombstone) or empty. */
  | 'value_missing'
  /** The value is not exactly RECORD_VALUE_BYTES long. */
  | 'value_length'
  /** The key in the value is negative or >= numKeys. */
  | 'key_range'
  /** The payload id in the value is negative or >= numPayloads (past the payload store). */
  | 'payload_range'
  /** The event time is NaN, infinite or negative. */
  | 'event_time'
  /** The message key is present but is not the canonical decimal form of the value's key. */
  | 'key_mismatch';

/** All malformed reasons, in a fixed order (for stats tables). */
export const MALFORMED_REASONS: readonly MalformedReason[] = [
  'value_missing',
  'value_length',
  'key_range',
  'payload_range',
  'event_time',
  'key_mismatch',
];

/** The message key of a record: the decimal string of its dense key id (so Java and kafkajs partitioners can hash it). */
export function encodeRecordKey(key: number): string {
  return String(key);
}

/**
 * The message value of a record (key, payload id, event time ms) as 16 big-endian bytes. Writes into
 * `out` at `offset` when given (for batch encoding into one buffer), else allocates.
 */
export function encodeRecordValue(key: number, payload: number, eventTimeMs: number, out?: Buffer, offset = 0): Buffer {
  const buf = out ?? Buffer.allocUnsafe(RECORD_VALUE_BYTES);
  buf.writeInt32BE(key | 0, offset);
  buf.writeInt32BE(payload | 0, offset + 4);
  buf.writeDoubleBE(eventTimeMs, offset + 8);
  return out ? buf.subarray(offset, offset + RECORD_VALUE_BYTES) : buf;
}

/** Parallel typed arrays that decoded records are written into (the engine's batch layout, ADR 0001). */
export interface RecordColumns {
  readonly keys: Int32Array;
  readonly payloads: Int32Array;
  readonly eventTimes: Float64Array;
}

/**
 * Validates one message and, when valid, writes its record at index `i` of `out`. Returns null on
 * success, else the reason it is malformed (nothing is written). Never throws; allocates nothing.
 * `limits` bounds the key and the payload id (both exclusive).
 */
export function decodeRecordInto(
  messageKey: Buffer | null | undefined,
  value: Buffer | null | undefined,
  limits: RecordLimits,
  out: RecordColumns,
  i: number,
): MalformedReason | null {
  if (value == null || value.length === 0) return 'value_missing';
  if (value.length !== RECORD_VALUE_BYTES) return 'value_length';
  const key = value.readInt32BE(0);
  if (key < 0 || key >= limits.numKeys) return 'key_range';
  const payload = value.readInt32BE(4);
  if (payload < 0 || payload >= limits.numPayloads) return 'payload_range';
  const t = value.readDoubleBE(8);
  if (!Number.isFinite(t) || t < 0) return 'event_time';
  if (messageKey != null && messageKey.length > 0 && !isDecimalOf(messageKey, key)) return 'key_mismatch';
  out.keys[i] = key;
  out.payloads[i] = payload;
  out.eventTimes[i] = t;
  return null;
}

/** True when `bytes` is the canonical ASCII decimal form of the non-negative int `n` (no sign, no leading zeros). */
function isDecimalOf(bytes: Buffer, n: number): boolean {
  const len = bytes.length;
  if (len > 10) return false;
  if (len > 1 && bytes[0] === 0x30) return false;
  let v = 0;
  for (let j = 0; j < len; j++) {
    const d = bytes[j] - 0x30;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return v === n;
}
