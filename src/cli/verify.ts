// `sas run --verify`: keeps a run's input and results in memory and compares them with the single-threaded reference.
import { ConfigError } from '../common/errors.js';
import type { JobConfig } from '../engine/config.js';
import type { OperatorArgs } from '../engine/job-operator.js';
import type { BuiltJob } from '../engine/job.js';
import { TeeSink, type Sink } from '../engine/sink.js';
import { buildPayloads, GeneratedValuesStore, outputsMatch, referenceGlobal, referenceWindowed, type QuantileTolerance } from '../tasks/index.js';

/**
 * Most records a `--verify` run may imply. Verification keeps every record (three numbers, about 24
 * bytes) and every result in memory, and the reference recomputes the whole job on one thread: it is
 * for test-sized runs. 20M records is about 0.5 GB of input arrays before the results.
 */
export const VERIFY_RECORD_LIMIT = 20_000_000;

/** Differences listed in the text and in `verified.first` (all are counted). */
export const VERIFY_SHOWN = 5;

/**
 * One result that is not the reference's. `window` is the window start (null for a global task's final
 * state). `missing`: the job produced no result (`got` null); `extra`: the reference has none
 * (`expected` null); `differs`: both exist and do not match; `duplicate`: the job produced the result
 * more than once (`got` is the repeat). When a `differs` output is a list (word count's [word, count]
 * pairs), `expected` and `got` are the first entry that differs (null past a list's end), `entry` its
 * index and `entries` both lengths, so a difference stays one line long.
 */
export interface VerifyDifference {
  readonly kind: 'missing' | 'extra' | 'differs' | 'duplicate';
  readonly window: number | null;
  readonly key: number;
  readonly expected: unknown;
  readonly got: unknown;
  readonly entry?: number;
  readonly entries?: { readonly expected: number; readonly got: number };
}

/** A `differs` difference; list outputs narrowed to their first differing entry. */
function differs(window: number | null, key: number, expected: unknown, got: unknown): VerifyDifference {
  if (!Array.isArray(expected) || !Array.isArray(got)) return { kind: 'differs', window, key, expected, got };
  let i = 0;
  while (i < expected.length && i < got.length && JSON.stringify(expected[i]) === JSON.stringify(got[i])) i++;
  return { kind: 'differs', window, key, expected: expected[i] ?? null, got: got[i] ?? null, entry: i, entries: { expected: expected.length, got: got.length } };
}

/**
 * The outcome of `--verify`: `"exact"` when every result equals the reference (t-digest: counts equal,
 * quantiles within the tolerance), else the number of differing results, the number of results the
 * reference expects, and the first VERIFY_SHOWN differences in (window, key) order.
 */
export type Verified = 'exact' | { readonly differences: number; readonly results: number; readonly records: number; readonly first: readonly VerifyDifference[] };

/** The run fails verification (`sas run --verify` exits 3 after printing the differences). */
export class VerifyMismatch extends Error {
  constructor(readonly verified: Exclude<Verified, 'exact'>) {
    super(`${verified.differences.toLocaleString('en-US')} of ${verified.results.toLocaleString('en-US')} results differ from the single-threaded reference`);
    this.name = 'VerifyMismatch';
  }
}

/** Records/s × durationMs of a rate spec over `durationMs` (Infinity for unthrottled). */
function recordsByRate(rate: JobConfig['source']['rate'], durationMs: number): number {
  if (rate === 'unthrottled') return Infinity;
  if (typeof rate === 'number') return Math.ceil((rate * durationMs) / 1000);
  let t = 0;
  let n = 0;
  for (let i = 0; i < rate.length && t < durationMs; i++) {
    const d = i === rate.length - 1 ? durationMs - t : Math.min(rate[i].durationMs, durationMs - t); // the last step lasts to the end
    n += (rate[i].rate * d) / 1000;
    t += d;
  }
  return Math.ceil(n);
}

/** The most records `cfg` can emit: min(maxRecords, rate × durationMs); Infinity when nothing bounds it. */
export function verifyRecordBound(cfg: JobConfig): number {
  return Math.min(cfg.maxRecords ?? Infinity, recordsByRate(cfg.source.rate, cfg.durationMs));
}

/**
 * Refuses `--verify` on a run that may emit more than VERIFY_RECORD_LIMIT records, or has no bound
 * (an unthrottled source, generated or Kafka, without maxRecords): ConfigError naming `--verify`.
 */
export function checkVerifiable(cfg: JobConfig): void {
  const bound = verifyRecordBound(cfg);
  if (bound <= VERIFY_RECORD_LIMIT) return;
  const limit = VERIFY_RECORD_LIMIT.toLocaleString('en-US');
  const why = Number.isFinite(bound)
    ? `this config may emit up to ${bound.toLocaleString('en-US')} records (min of maxRecords and rate × durationMs)`
    : 'this config has no record bound (an unthrottled source and no maxRecords)';
  throw new ConfigError(`--verify keeps every record and result in memory and is for test-sized runs: ${why}, more than ${limit}; set maxRecords (e.g. --set maxRecords=1000000), a lower source.rate or a shorter durationMs`, {
    field: '--verify',
    expected: `at most ${limit} records`,
    got: Number.isFinite(bound) ? bound : 'unbounded',
  });
}

/**
 * Test seam (never for users): `SAS_TEST_CORRUPT_RESULT=1` (or `alter`) changes the first result of a
 * `--verify` run before it reaches the sinks, `drop` leaves it out. Without `--verify` it does nothing.
 */
export type CorruptMode = 'alter' | 'drop';

/** Parses SAS_TEST_CORRUPT_RESULT: unset/empty/0 = none; 1 or alter; drop; anything else is a ConfigError. */
export function corruptModeFromEnv(value: string | undefined): CorruptMode | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  if (value === '1' || value === 'alter') return 'alter';
  if (value === 'drop') return 'drop';
  throw new ConfigError(`SAS_TEST_CORRUPT_RESULT: expected 1, alter or drop, got ${JSON.stringify(value)}`, { field: 'SAS_TEST_CORRUPT_RESULT', expected: '1 | alter | drop', got: value });
}

/** A copy of `o` that differs from it (a count + 1, or a wrapper): what the corruption seam delivers. */
function altered(o: unknown): unknown {
  if (typeof o === 'number') return o + 1;
  if (Array.isArray(o)) return o.length === 0 ? [[0, 1]] : [...o.slice(0, -1), altered(o[o.length - 1])]; // a [word, count] list: the last count
  if (o !== null && typeof o === 'object' && typeof (o as { count?: unknown }).count === 'number') return { ...o, count: (o as { count: number }).count + 1 };
  return { corrupted: o };
}

/** Passes results through to `inner`, except the first, which it alters or drops (the test seam). */
class CorruptingSink implements Sink {
  readonly needsOutput = true;
  readonly flush?: () => Promise<void>;
  private done = false;

  constructor(
    private readonly inner: Sink,
    private readonly mode: CorruptMode,
  ) {
    if (inner.flush) this.flush = () => inner.flush!();
  }

  get backlogged(): boolean {
    return this.inner.backlogged ?? false;
  }

  /** True (once) when this result is the one to corrupt. */
  private hit(): boolean {
    if (this.done) return false;
    this.done = true;
    return true;
  }

  window(windowStart: number, key: number, output: unknown, viaReducer: boolean): void {
    if (!this.hit()) this.inner.window(windowStart, key, output, viaReducer);
    else if (this.mode === 'alter') this.inner.window(windowStart, key, altered(output), viaReducer);
  }

  finalState(key: number, output: unknown): void {
    if (!this.hit()) this.inner.finalState(key, output);
    else if (this.mode === 'alter') this.inner.finalState(key, altered(output));
  }
}

/** Keeps every result like CollectingSink, but notes a repeated one as a difference instead of throwing mid-run. */
class ResultCollector implements Sink {
  readonly windows = new Map<string, unknown>();
  readonly state = new Map<number, unknown>();
  readonly duplicates: VerifyDifference[] = [];

  window(windowStart: number, key: number, output: unknown): void {
    const id = `${windowStart}:${key}`;
    if (this.windows.has(id)) this.duplicates.push({ kind: 'duplicate', window: windowStart, key, expected: null, got: output });
    else this.windows.set(id, output);
  }

  finalState(key: number, output: unknown): void {
    if (this.state.has(key)) this.duplicates.push({ kind: 'duplicate', window: null, key, expected: null, got: output });
    else this.state.set(key, output);
  }
}

/**
 * t-digest tolerances scaled to the data's range (reference.ts's defaults are for values in [0, 1)):
 * a CSV's value range, 8 for generated normal values (±4σ), 1 for generated uniform ones.
 */
function tdigestTolerance(job: BuiltJob): QuantileTolerance {
  const args = job.operator.args as OperatorArgs;
  const store = buildPayloads(args.task, args.workload);
  let range = 1;
  if (store instanceof GeneratedValuesStore) range = store.distribution === 'normal' ? 8 : 1;
  else if (store.values && Number.isFinite(store.size)) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let id = 0; id < store.size; id++) for (const v of store.values(id)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    if (hi > lo) range = hi - lo;
  }
  return { p50: 0.01 * range, p99: 0.005 * range };
}

/**
 * The state of one `--verify` run: the input the engine emitted (`input`, the run's `recordInput`
 * hook: generated records, or Kafka records as the engine takes them) and a collector of every result.
 * `sink(primary)` is the sink to give the engine: the collector alone, or the primary (a Kafka sink)
 * teed into it, behind the corruption seam when one is set.
 */
export class Verifier {
  readonly input = { keys: [] as number[], payloads: [] as number[], times: [] as number[] };
  private readonly collector = new ResultCollector();

  constructor(
    private readonly job: BuiltJob,
    private readonly corrupt?: CorruptMode,
  ) {}

  /** The engine's sink: `primary` (if any) teed into the collector, behind the corruption seam. */
  sink(primary?: Sink): Sink {
    const s: Sink = primary ? new TeeSink(primary, this.collector) : this.collector;
    return this.corrupt ? new CorruptingSink(s, this.corrupt) : s;
  }

  /** Compares the collected results with the reference over the captured input. */
  result(): Verified {
    const { op } = this.job.parts;
    const stream = { keys: this.input.keys, payloads: this.input.payloads, timesMs: this.input.times };
    const match = op.name === 'tdigest' ? ((e: unknown, g: unknown) => outputsMatch(op.name, e, g, tdigestTolerance(this.job))) : (e: unknown, g: unknown) => outputsMatch(op.name, e, g);
    const diffs: VerifyDifference[] = [...this.collector.duplicates];
    let results: number;
    if (op.kind === 'global') {
      const ref = referenceGlobal(op, stream);
      results = ref.length;
      const got = this.collector.state;
      for (const r of ref) {
        if (!got.has(r.key)) diffs.push({ kind: 'missing', window: null, key: r.key, expected: r.output, got: null });
        else if (!match(r.output, got.get(r.key))) diffs.push(differs(null, r.key, r.output, got.get(r.key)));
      }
      const keys = new Set(ref.map((r) => r.key));
      for (const [key, output] of got) if (!keys.has(key)) diffs.push({ kind: 'extra', window: null, key, expected: null, got: output });
    } else {
      const ref = referenceWindowed(op, stream, this.job.params.window);
      results = ref.length;
      const got = this.collector.windows;
      const ids = new Set<string>();
      for (const r of ref) {
        const id = `${r.windowStart}:${r.key}`;
        ids.add(id);
        if (!got.has(id)) diffs.push({ kind: 'missing', window: r.windowStart, key: r.key, expected: r.output, got: null });
        else if (!match(r.output, got.get(id))) diffs.push(differs(r.windowStart, r.key, r.output, got.get(id)));
      }
      for (const [id, output] of got) {
        if (ids.has(id)) continue;
        const [w, k] = id.split(':').map(Number);
        diffs.push({ kind: 'extra', window: w, key: k, expected: null, got: output });
      }
    }
    if (diffs.length === 0) return 'exact';
    diffs.sort((a, b) => (a.window ?? -Infinity) - (b.window ?? -Infinity) || a.key - b.key);
    return { differences: diffs.length, results, records: stream.keys.length, first: diffs.slice(0, VERIFY_SHOWN) };
  }
}
