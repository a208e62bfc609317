// The job config: YAML in params/, validated with zod; every field has a documented default (docs/params.md).
import { availableParallelism } from 'node:os';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError, SasError } from '../common/errors.js';
import { readTextFile } from '../common/files.js';
import { parseOrThrow } from '../common/validate.js';

const named = (defName: string, defParams: Record<string, unknown> = {}) =>
  z
    .strictObject({
      /** Registered name. */
      name: z.string().min(1).default(defName),
      /** Parameters of that component; validated by its own schema. */
      params: z.record(z.string(), z.unknown()).default(defParams),
    })
    .prefault({});

const rateStep = z.strictObject({
  rate: z.number().positive(),
  durationMs: z.number().positive(),
});

/** host:port strings. */
const brokers = z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'host:port')).min(1);

/**
 * The job config schema. Defaults (documented field by field in docs/params.md):
 * virtual clock, P = 64, R = 4, capacity 100000 units/s per worker, queues of 1000 records,
 * 30 s of event time, 1 s metric slide, 1 s tumbling windows, source at 100000 records/s,
 * word count over Zipf 1.5 on 100000 keys, hash partitioner.
 */
export const jobSchema = z.strictObject({
  clock: z.enum(['virtual', 'real']).default('virtual'),
  seed: z.number().int().nonnegative().default(1),
  workers: z.number().int().min(1).max(4096).default(64),
  reducers: z.number().int().min(1).max(1024).default(4),
  threads: z.number().int().min(1).max(256).optional(),
  threadYoungGenMb: z.number().int().min(1).max(4096).optional(),
  capacity: z.union([z.number().positive(), z.literal('unlimited'), z.array(z.number().positive()).min(1)]).default(100_000),
  queueCapacity: z.number().int().min(1).max(1_000_000).default(1000),
  durationMs: z.number().positive().default(30_000),
  maxRecords: z.number().int().positive().optional(),
  slideMs: z.number().int().positive().default(1000),
  window: z
    .strictObject({
      sizeMs: z.number().int().positive().optional(),
      slideMs: z.number().int().positive().optional(),
    })
    .default({}),
  source: z
    .strictObject({
      /** generator (default): the workload's built-in generator. kafka: records read from a topic (real clock). */
      kind: z.enum(['generator', 'kafka']).default('generator'),
      rate: z.union([z.number().positive(), z.literal('unthrottled'), z.array(rateStep).min(1)]).default(100_000),
      kafka: z
        .strictObject({
          /** Bootstrap brokers (host:port). Default: the KAFKA_BROKERS environment variable. */
          brokers: brokers.optional(),
          /** Input topic (records in the 16-byte encoding of docs/kafka.md). */
          topic: z.string().min(1),
          /** Consumer group; its committed offsets are where the next run starts. Default "sas-run". */
          groupId: z.string().min(1).default('sas-run'),
          /** Where a group without committed offsets starts: true = earliest (default), false = latest. */
          fromBeginning: z.boolean().default(true),
          /** End the run once the topic's end offsets seen at start are consumed. Default false (run for durationMs). */
          stopAtEnd: z.boolean().default(false),
          /** Malformed messages are copied here (with the reason in headers) before being skipped. Default: count and skip. */
          deadLetterTopic: z.string().min(1).optional(),
          /** Records read ahead of the engine; above this the topic's partitions are paused. Default 100000. */
          maxQueuedRecords: z.number().int().min(1).default(100_000),
          /** Most records per consumer chunk. Default 10000. */
          maxBatchRecords: z.number().int().min(1).default(10_000),
        })
        .optional(),
    })
    .prefault({}),
  sink: z
    .strictObject({
      /** count (default): results are counted, not kept. kafka: every result is written to a topic (real clock). */
      kind: z.enum(['count', 'kafka']).default('count'),
      kafka: z
        .strictObject({
          /** Bootstrap brokers. Default: KAFKA_BROKERS. */
          brokers: brokers.optional(),
          /** Output topic (must exist). */
          topic: z.string().min(1),
          /** Registered partitioner choosing each result's partition from its key. Default hash. */
          partitioner: z.string().min(1).default('hash'),
          /** Results per produce request. Default 1000. */
          chunkRecords: z.number().int().min(1).default(1000),
          /** Unacknowledged results above which the source waits for the sink. Default 50000. */
          maxPendingResults: z.number().int().min(1).default(50_000),
        })
        .optional(),
    })
    .prefault({}),
  task: named('wordcount'),
  workload: z
    .strictObject({
      name: z.string().min(1).default('zipf'),
      params: z.record(z.string(), z.unknown()).default({}),
      /**
       * Hidden per-key cost: each key's true cost is its visible cost × a seeded lognormal factor of
       * mean 1 with log-σ `sigma`. Partitioners see the visible cost only; busy time shows the rest.
       * Default: none.
       */
      hiddenCost: z.strictObject({ sigma: z.number().min(0).max(4), seed: z.number().int().nonnegative().optional() }).optional(),
    })
    .prefault({}),
  /** The simulated cluster's worker speeds (docs/params.md, "cluster"). Default: every worker at speed 1. */
  cluster: z
    .strictObject({
      speeds: z.union([z.array(z.number().positive()).min(1), z.strictObject({ min: z.number().positive(), max: z.number().positive() })]).optional(),
      schedule: z.array(z.strictObject({ worker: z.number().int().min(0), factor: z.number().positive(), fromMs: z.number().min(0), toMs: z.number().positive() })).default([]),
      jitter: z.number().min(0).lt(1).default(0),
      seed: z.number().int().nonnegative().optional(),
    })
    .prefault({}),
  /**
   * The merge stage of windowed tasks: combiners pay `emitCost` units per partial they emit at a
   * window close, reducers pay `mergeCost` per partial merged, at `reducerCapacity` units/s each, with
   * queues of `reducerQueue` partials. Defaults: the task's measured costs (docs/tasks.md), reducer
   * slots as large as the mean worker slot, queues as long as the workers'.
   */
  merge: z
    .strictObject({
      emitCost: z.union([z.number().min(0), z.literal('measured')]).default('measured'),
      mergeCost: z.union([z.number().min(0), z.literal('measured')]).default('measured'),
      reducerCapacity: z.union([z.number().positive(), z.literal('unlimited'), z.literal('worker')]).default('worker'),
      reducerQueue: z.number().int().min(1).max(1_000_000).optional(),
    })
    .prefault({}),
  partitioner: named('hash'),
  migration: z
    .strictObject({
      /**
       * Keyed-state migration for global tasks (keyedcount): records route by bin owner and a bin moves,
       * with its state, when the partitioner sends a majority of its traffic elsewhere. Default true.
       * False: every record goes where the partitioner says and split state is merged at the end.
       */
      enabled: z.boolean().default(true),
      /** log2 of the number of bins (power of two). Default 10 (1024 bins). */
      binBits: z.number().int().min(1).max(16).default(10),
      /** all-at-once | fluid | batched | chunked. Default batched (Megaphone's bipartite rounds). */
      strategy: z.enum(['all-at-once', 'fluid', 'batched', 'chunked']).default('batched'),
      /** Move order: hot-first (default), bin, random. */
      order: z.enum(['hot-first', 'bin', 'random']).default('hot-first'),
      /** A bin moves when this share of its records in a slide was routed by the partitioner to one other worker. Default 0.5. */
      minShare: z.number().gt(0).max(1).default(0.5),
      /** ...and it had at least this many records in the slide. Default 50. */
      minRecords: z.number().int().min(1).default(50),
      /** State transfer bandwidth (virtual clock), bytes/s. Default 100 MB/s. */
      bandwidthBytesPerSec: z.number().positive().default(100e6),
      /** Export + import CPU time per state entry (virtual clock), µs. Default 1. */
      entryCostUs: z.number().min(0).default(1),
      /** Pause between migration steps, ms (Megaphone's drain gap). Default 0. */
      gapMs: z.number().min(0).default(0),
      /**
       * Standby copies (Spacker's replication, per plan): the share of each plan's moves, the last in plan
       * order, whose bins are first copied to their destination in the background; at the move only the
       * keys changed since travel. Default 0 (none).
       */
      replicate: z.number().min(0).max(1).default(0),
      /** A standby copy is made this many steps before its bin moves (YAML `.inf`: all when the plan starts). Default 1. */
      replicaLeadSteps: z.number().int().min(1).or(z.literal(Infinity)).default(1),
    })
    .prefault({}),
  ramp: z
    .strictObject({
      /** Warm-up steps before the ramp, not judged. Default: none. */
      warmup: z.array(rateStep).default([]),
      /** First judged rate, records/s. Default 10000. */
      initialRate: z.number().positive().default(10_000),
      /** Smallest step and rounding unit, records/s. Default 2000. */
      rateStep: z.number().positive().default(2000),
      /** Largest step, records/s. Default 10000 (the original's cap). */
      maxStep: z.number().positive().default(10_000),
      /** Divisor of the step rule (rate·900/maxBusy − rate)/divisor. Default 10 (the original); 2 ramps faster. */
      stepDivisor: z.number().min(1).default(10),
      /** Stop raising at this rate. Default 10,000,000. */
      maxRate: z.number().positive().default(10_000_000),
      /** Time each rate is held before it is judged, ms. Default 5000. */
      intervalMs: z.number().positive().default(5000),
      /** Relative shortfall of achieved vs target that counts as backpressure. Default 0.02. */
      tolerance: z.number().min(0).max(0.5).default(0.02),
      /** Safety cap on the ramp's event time, ms. Default 600000. */
      maxDurationMs: z.number().positive().default(600_000),
    })
    .prefault({}),
  output: z
    .strictObject({
      dir: z.string().min(1).default('results'),
      name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash or underscore').optional(),
      metrics: z.boolean().default(true),
    })
    .prefault({}),
});

/** A validated job config with defaults filled in. */
export type JobConfig = z.infer<typeof jobSchema>;

/** Parses YAML text (errors give line and column; an alias bomb or other refused document is CONFIG_PARSE too). */
export function parseYamlText(text: string, file: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const pos = e.linePos?.[0];
      throw new SasError('CONFIG_PARSE', `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: malformed YAML: ${e.message.split('\n')[0]}`, {
        context: { file, line: pos?.line, col: pos?.col },
      });
    }
    // The yaml package throws a plain ReferenceError for "Excessive alias count" (a billion-laughs document).
    if (e instanceof Error) throw new SasError('CONFIG_PARSE', `${file}: YAML refused: ${e.message.split('\n')[0]}`, { context: { file }, cause: e });
    throw e;
  }
}

/** Reads a YAML file into a plain object (FILE_NOT_FOUND naming the path when it is absent, a folder or unreadable; CONFIG_PARSE when malformed). */
export function readYamlFile(file: string): Record<string, unknown> {
  const v = parseYamlText(readTextFile(file, 'config file'), file);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${file}: expected a YAML mapping at the top level`, { file });
  return v as Record<string, unknown>;
}

/**
 * Applies `--set path=value` overrides. The value is parsed as YAML (so `8`, `true`, `[1,2]` and
 * `unthrottled` all work); the path is dotted (`partitioner.params.epsilon=0.2`).
 */
export function applyOverrides(obj: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  const out = structuredClone(obj);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${s}: expected path=value`, { field: s, expected: 'path=value' });
    const path = s.slice(0, eq).split('.');
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype'))
      throw new ConfigError(`--set ${s}: bad path`, { field: s.slice(0, eq) });
    const value = parseYamlText(s.slice(eq + 1), `--set ${s.slice(0, eq)}`);
    let cur: Record<string, unknown> = out;
    for (let i = 0; i < path.length - 1; i++) {
      const next = cur[path[i]];
      if (next === undefined) cur[path[i]] = {};
      else if (typeof next !== 'object' || next === null || Array.isArray(next))
        throw new ConfigError(`--set ${s}: ${path.slice(0, i + 1).join('.')} is not a mapping`, { field: path.slice(0, i + 1).join('.') });
      cur = cur[path[i]] as Record<string, unknown>;
    }
    cur[path[path.length - 1]] = value;
  }
  return out;
}

/** Validates a raw config object (errors name every bad field). */
export function validateJob(raw: unknown, file?: string): JobConfig {
  const cfg = parseOrThrow(jobSchema, raw, '', file);
  if (Array.isArray(cfg.capacity) && cfg.capacity.length !== cfg.workers)
    throw new ConfigError(`capacity: expected one value per worker (${cfg.workers}), got ${cfg.capacity.length}`, { field: 'capacity', expected: `${cfg.workers} values`, got: cfg.capacity.length, file });
  const slide = cfg.window.slideMs ?? cfg.slideMs;
  const size = cfg.window.sizeMs ?? slide;
  if (size % slide !== 0) throw new ConfigError(`window.sizeMs: expected a multiple of window.slideMs (${slide}), got ${size}`, { field: 'window.sizeMs', expected: `multiple of ${slide}`, got: size, file });
  if (cfg.clock === 'virtual' && cfg.source.rate === 'unthrottled' && cfg.capacity === 'unlimited' && cfg.maxRecords === undefined)
    throw new ConfigError('source.rate: an unthrottled source with unlimited capacity never advances virtual time; set maxRecords, a rate or a capacity', { field: 'source.rate', file });
  for (const side of ['source', 'sink'] as const) {
    const sec = cfg[side];
    if (sec.kind !== 'kafka') continue;
    if (!sec.kafka) throw new ConfigError(`${side}.kafka: required when ${side}.kind is kafka (at least { topic })`, { field: `${side}.kafka`, expected: '{ topic, brokers? }', file });
    if (cfg.clock !== 'real') throw new ConfigError(`clock: a kafka ${side} needs clock: real, got ${cfg.clock}`, { field: 'clock', expected: 'real', got: cfg.clock, file });
  }
  if (cfg.source.kind === 'kafka' && Array.isArray(cfg.source.rate))
    throw new ConfigError('source.rate: a kafka source takes a fixed rate or unthrottled, not a schedule', { field: 'source.rate', expected: 'number | unthrottled', file });
  return cfg;
}

/** Loads, overrides and validates a job config file. */
export function loadJobConfig(file: string | undefined, sets: readonly string[] = []): JobConfig {
  const raw = file ? readYamlFile(file) : {};
  return validateJob(applyOverrides(raw, sets), file);
}

/** Worker threads to use on the real clock: config, else the number of cores. */
export function threadsFor(cfg: JobConfig): number {
  return Math.min(cfg.threads ?? availableParallelism(), cfg.workers);
}
