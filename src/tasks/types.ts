// The contracts between the engine and the work it runs: task operators, payload stores, workloads.

/**
 * Payload data shared by a workload (which picks payload ids) and a task (which reads them). Built once
 * per thread from a serialisable `PayloadSpec`, so worker threads rebuild it locally instead of
 * receiving record bodies. Payload ids are non-negative int32.
 */
export interface PayloadStore {
  /** `text`: word ids of sentence `id` (bundled corpus or the text column of a CSV replay). */
  sentence?(id: number): Int32Array;
  /** `values`: the doubles of record `id` (generated from a seed, or a CSV row). */
  values?(id: number): Float64Array;
  /** Number of distinct payload ids (workloads draw ids in [0, size)); Infinity for generated values. */
  readonly size: number;
}

/**
 * A task's operator: how one record updates a per-key partial, how partials merge, and what the
 * output is. The same code runs on both clocks. `P` is the per-key partial (or, for `global` tasks,
 * the per-key state, which must also merge: splitting or migrating a key merges its states).
 */
export interface TaskOperator<P = unknown> {
  readonly name: string;
  /** `windowed`: per-window partials merged by reducers; `global`: keyed non-windowed state. */
  readonly kind: 'windowed' | 'global';
  /** Cost units of one record with this payload, for the virtual clock and slot capacity (>= 0). */
  cost(payload: number): number;
  /** A fresh, empty partial. */
  create(): P;
  /** Apply one record of `key` with `payload` to `partial`. Repeats the work `multiplier` times, idempotently. */
  add(partial: P, key: number, payload: number): void;
  /** Merge `from` into `into` (associative and commutative). `from` must not be used afterwards. */
  merge(into: P, from: P): void;
  /** A structured-cloneable snapshot of `partial`, to cross threads or processes (and for migration). */
  encode(partial: P): unknown;
  /** Inverse of `encode`. */
  decode(data: unknown): P;
  /** A plain JSON value that two equal partials map to identically (sinks and reference checks use it). */
  output(partial: P): unknown;
  /** Estimated bytes one partial (or state) holds, for the `worker.state_bytes` metric. Default 32. */
  stateBytes?(partial: P): number;
  /**
   * Optional numeric form of a `global` task's state: the whole state is one number, updated by
   * returning the new value. Keyed-state stores (`KeyedStateStore`, used with keyed-state migration)
   * then keep keys and numbers in typed arrays (`NumericTable`) instead of one heap object per key, so
   * the garbage collector has nothing to visit per key, however many are held or installed.
   * Contract: for every state s, `encode(s)` is the number, and `decode(n)` is a state that encodes to n.
   */
  readonly numeric?: NumericState;
}

/** The numeric form of a global task's state (see `TaskOperator.numeric`). */
export interface NumericState {
  /** The number of a fresh state (`encode(create())`). */
  readonly zero: number;
  /** The number after one record of `key` with `payload` (as `add` on the object form). */
  add(state: number, key: number, payload: number): number;
  /** The number of two merged states (as `merge`; associative and commutative). */
  merge(a: number, b: number): number;
}

/**
 * A key stream. Keys are dense integers in [0, numKeys). `fill` writes `n` keys and payload ids at
 * event time `timeMs` (workloads that shift over time read it); it is deterministic for a given seed
 * and call sequence. A finite workload returns fewer than `n` records when it is exhausted.
 */
export interface Workload {
  readonly name: string;
  readonly numKeys: number;
  fill(keys: Int32Array, payloads: Int32Array, offset: number, n: number, timeMs: number): number;
}
