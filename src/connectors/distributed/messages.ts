// Distributed mode's wire formats: the worker job spec, control records on the input topic, and output messages.
import { deserialize, serialize } from 'node:v8';
import { z } from 'zod';
import { ProtocolError } from '../../common/errors.js';
import { parseOrThrow } from '../../common/validate.js';
import type { MalformedReason } from '../codec.js';
import type { SlideAccumulator } from '../../engine/metrics/collector.js';

/** Header that marks a control record on the input topic (value: the control kind). */
export const CONTROL_HEADER = 'sas-control';

/** Version of the spec and of every message below; a worker refuses a spec of another version. */
export const DISTRIBUTED_VERSION = 1;

/**
 * What a worker process needs to join a run, written by the driver as JSON (`sas worker --job FILE`).
 * Every field is required: the driver fills them from the job config, so driver and workers agree.
 */
export const distributedSpecSchema = z.strictObject({
  /** Format version, DISTRIBUTED_VERSION. */
  version: z.literal(DISTRIBUTED_VERSION),
  /** Run id: names the topics and consumer groups of the run. */
  runId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash or underscore'),
  /** Bootstrap brokers, "host:port". */
  brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected "host:port"')).min(1),
  topics: z.strictObject({
    /** Input topic: P partitions, partition p = logical worker p; records and control records. */
    input: z.string().min(1),
    /** Output topic: P partitions; worker p writes results, partials, markers and metrics to partition p. */
    output: z.string().min(1),
  }),
  /** Logical workers P = partitions of both topics. */
  partitions: z.number().int().min(1).max(4096),
  /** Reducers R (partials are grouped by `reducerOf(key, R)`). */
  reducers: z.number().int().min(1).max(1024),
  /** Event-time windows (sizeMs a multiple of slideMs). */
  window: z.strictObject({ sizeMs: z.number().int().positive(), slideMs: z.number().int().positive() }),
  /** Metric slide, ms. */
  slideMs: z.number().int().positive(),
  /** Task and workload specs: every process rebuilds the operator and its payload store from them. */
  task: z.strictObject({ name: z.string().min(1), params: z.record(z.string(), z.unknown()).optional() }),
  workload: z.strictObject({ name: z.string().min(1), params: z.record(z.string(), z.unknown()).optional() }),
  /** Keys are dense ints in [0, numKeys); others on the input topic are malformed. */
  numKeys: z.number().int().min(1),
  /** Prefix of the workers' consumer group ids (`<prefix>.w<i>of<W>`). */
  groupPrefix: z.string().min(1),
  /** Consumer session timeout, ms: how long a dead worker holds its partitions. Kafka's minimum is 6000. */
  sessionTimeoutMs: z.number().int().min(1000),
});

/** The worker job spec. */
export type DistributedSpec = z.infer<typeof distributedSpecSchema>;

/** Validates a parsed spec (ConfigError names the field, e.g. `job.topics.input`). */
export function parseSpec(raw: unknown, file?: string): DistributedSpec {
  return parseOrThrow(distributedSpecSchema, raw, 'job', file);
}

/**
 * A control record on the input topic, produced by the driver to EVERY partition, after the records
 * it follows (Kafka keeps per-partition order). `window`: the window whose last pane is `lastPane`
 * is complete; `split` lists the keys that reached two or more workers in it (sorted), or 'all'.
 * `end`: no record follows.
 */
export type ControlRecord = { readonly kind: 'window'; readonly lastPane: number; readonly split: Int32Array | 'all' } | { readonly kind: 'end' };

const controlSchema = z.discriminatedUnion('kind', [
  z.strictObject({ v: z.literal(DISTRIBUTED_VERSION), kind: z.literal('window'), lastPane: z.number().int(), split: z.union([z.instanceof(Int32Array), z.literal('all')]) }),
  z.strictObject({ v: z.literal(DISTRIBUTED_VERSION), kind: z.literal('end') }),
]);

/** Encodes a control record's value (structured clone via node:v8; the kind also goes in the header). */
export function encodeControl(c: ControlRecord): Buffer {
  return serialize({ v: DISTRIBUTED_VERSION, ...c });
}

/** Decodes a control record value; null when it is not a valid control record (counted as malformed). */
export function decodeControl(value: Buffer | null | undefined): ControlRecord | null {
  if (!value || value.length === 0) return null;
  let raw: unknown;
  try {
    raw = deserialize(value);
  } catch {
    return null;
  }
  const r = controlSchema.safeParse(raw);
  if (!r.success) return null;
  return r.data.kind === 'window' ? { kind: 'window', lastPane: r.data.lastPane, split: r.data.split } : { kind: 'end' };
}

/** Why an input message was skipped: the record codec's reasons, or a control record that does not decode. */
export type SkipReason = MalformedReason | 'control_invalid';

/** A skipped input message, identified by its offset (the driver de-duplicates on (partition, offset)). */
export type SkippedMessage = readonly [offset: number, reason: SkipReason];

/**
 * Messages on the output topic; worker p writes only to partition p, in this order per window:
 * `results` chunks, then one `closed` marker. Every message names its (window, partition) so the
 * driver can de-duplicate what a restarted worker emits again.
 */
export type OutputMessage =
  /** Final results of unsplit keys ([key, output]) and partials of split keys ([key, reducer, op.encode(partial)]). */
  | { readonly kind: 'results'; readonly partition: number; readonly lastPane: number; readonly forwarded: Array<[number, unknown]>; readonly partials: Array<[number, number, unknown]> }
  /** Window `lastPane` is closed at `partition`: how many records it held there, entries sent, messages skipped since the last close. */
  | { readonly kind: 'closed'; readonly partition: number; readonly lastPane: number; readonly records: number; readonly forwarded: number; readonly partials: number; readonly skipped: SkippedMessage[] }
  /** Global tasks at the end: the partition's keyed state ([key, op.encode(state)]). */
  | { readonly kind: 'state'; readonly partition: number; readonly entries: Array<[number, unknown]> }
  /** The partition reached the end control record: records applied since offset `fromOffset`, state entries sent, skipped messages. */
  | { readonly kind: 'end'; readonly partition: number; readonly records: number; readonly fromOffset: number; readonly stateEntries: number; readonly skipped: SkippedMessage[] }
  /** One metric slide of one logical worker (absolute slide index = floor(event time / slideMs)). */
  | {
      readonly kind: 'metrics';
      readonly partition: number;
      readonly slide: number;
      readonly recordsIn: number;
      readonly busyMs: number;
      readonly queueLength: number;
      /** LogHistogram.toSparse() of per-record latency in µs, and its max. */
      readonly latency: number[];
      readonly latencyMax: number;
    };

const pair = z.tuple([z.number().int(), z.unknown()]);
const skipped = z.array(z.tuple([z.number().int().min(0), z.string()]));
const outputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ v: z.literal(DISTRIBUTED_VERSION), kind: z.literal('results'), partition: z.number().int().min(0), lastPane: z.number().int(), forwarded: z.array(pair), partials: z.array(z.tuple([z.number().int(), z.number().int().min(0), z.unknown()])) }),
  z.strictObject({ v: z.literal(DISTRIBUTED_VERSION), kind: z.literal('closed'), partition: z.number().int().min(0), lastPane: z.number().int(), records: z.number().int().min(0), forwarded: z.number().int().min(0), partials: z.number().int().min(0), skipped }),
  z.strictObject({ v: z.literal(DISTRIBUTED_VERSION), kind: z.literal('state'), partition: z.number().int().min(0), entries: z.array(pair) }),
  z.strictObject({ v: z.literal(DISTRIBUTED_VERSION), kind: z.literal('end'), partition: z.number().int().min(0), records: z.number().int().min(0), fromOffset: z.number().int().min(0), stateEntries: z.number().int().min(0), skipped }),
  z.strictObject({ v: z.literal(DISTRIBUTED_VERSION), kind: z.literal('metrics'), partition: z.number().int().min(0), slide: z.number().int(), recordsIn: z.number().min(0), busyMs: z.number().min(0), queueLength: z.number().min(0), latency: z.array(z.number()), latencyMax: z.number() }),
]);

/** Encodes an output message (node:v8 structured clone: typed arrays from op.encode survive as is). */
export function encodeOutput(m: OutputMessage): Buffer {
  return serialize({ v: DISTRIBUTED_VERSION, ...m });
}

/** Decodes and validates an output message; throws ProtocolError (PROTOCOL_INVALID) on anything else. */
export function decodeOutput(value: Buffer | null | undefined): OutputMessage {
  if (!value || value.length === 0) throw new ProtocolError('empty output message');
  let raw: unknown;
  try {
    raw = deserialize(value);
  } catch (e) {
    throw new ProtocolError(`output message does not deserialize: ${(e as Error).message}`);
  }
  const r = outputSchema.safeParse(raw);
  if (!r.success) throw new ProtocolError(`invalid output message: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
  const { v: _v, ...m } = r.data;
  return m as OutputMessage;
}

/** Topic names and group prefix of run `runId` (`<prefix>.<runId>.in|out`). */
export function runNames(runId: string, prefix = 'sas'): { input: string; output: string; groupPrefix: string } {
  return { input: `${prefix}.${runId}.in`, output: `${prefix}.${runId}.out`, groupPrefix: `${prefix}.${runId}` };
}

/** Consumer group id of worker process `index` of `of`. */
export function workerGroupId(spec: DistributedSpec, index: number, of: number): string {
  return `${spec.groupPrefix}.w${index}of${of}`;
}

/** Partitions worker process `index` of `of` owns: p with p mod of = index. */
export function partitionsOf(P: number, index: number, of: number): number[] {
  const out: number[] = [];
  for (let p = index; p < P; p += of) out.push(p);
  return out;
}

/** What a worker commits with an offset (Kafka offset metadata): the last window closed, and whether the partition ended. */
export interface CommitMetadata {
  readonly closed: number | null;
  readonly ended: boolean;
}

/** Parses commit metadata (absent or foreign metadata = nothing closed). */
export function parseCommitMetadata(s: string | null | undefined): CommitMetadata {
  if (!s) return { closed: null, ended: false };
  try {
    const o = JSON.parse(s) as { closed?: unknown; ended?: unknown };
    return { closed: typeof o.closed === 'number' && Number.isInteger(o.closed) ? o.closed : null, ended: o.ended === true };
  } catch {
    return { closed: null, ended: false };
  }
}

/** Adds worker `w`'s `metrics` message to a slide accumulator (records in = processed, busy, queue, latency). */
export function accumulateWorkerMetrics(acc: SlideAccumulator, w: number, e: Extract<OutputMessage, { kind: 'metrics' }>): void {
  acc.recordsIn[w] = e.recordsIn;
  acc.processed[w] = e.recordsIn;
  acc.busyMs[w] = e.busyMs;
  acc.queueLength[w] = e.queueLength;
  acc.latency[w].addSparse(e.latency, e.latencyMax);
}
