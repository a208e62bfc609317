// Typed messages between the router (main thread) and the worker threads hosting combiners and reducers.
import type { MessagePort } from 'node:worker_threads';
import type { ClusterSpec, HiddenCostSpec } from '../cluster.js';
import type { WindowSpec } from '../window.js';
import type { BinMove, Installed, Replica, StateMsg } from '../migration/index.js';

/** How a thread builds its task operator: `module` exports `factory(args) → TaskOperator`. */
export interface OperatorSpec {
  readonly module: string;
  readonly factory: string;
  readonly args: unknown;
}

/** workerData of a thread. */
export interface ThreadInit {
  readonly thread: number;
  /** Number of threads T; logical worker w lives on thread w mod T. */
  readonly threads: number;
  /** Logical workers hosted here. */
  readonly workers: readonly number[];
  readonly P: number;
  readonly R: number;
  readonly window: WindowSpec;
  readonly slideMs: number;
  /** Cost units per second for each hosted worker (Infinity = unlimited). */
  readonly capacity: readonly number[];
  readonly operator: OperatorSpec;
  /** Keyed-state migration (global tasks): log2 of the number of bins; undefined = off. */
  readonly migrationBinBits?: number;
  /** Reducers hosted here (reducer r lives on thread r mod T). */
  readonly reducers: readonly number[];
  /** The merge stage (engine/types.ts `MergeStage`), with the capacity of every reducer (length R). */
  readonly merge: {
    readonly emitCost: number;
    readonly mergeCost: number;
    readonly reducerCapacity: readonly number[];
    /** Partials a combiner may have queued at one reducer before it blocks (credits per channel, >= 1). */
    readonly channelCredits: number;
  };
  /** Worker speeds: the spec the thread rebuilds its `ClusterModel` from (deterministic). Absent = speed 1. */
  readonly cluster?: { readonly spec: ClusterSpec; readonly jobSeed: number };
  /** Hidden per-key cost: the spec the thread rebuilds the factors from, or the factors themselves. */
  readonly hiddenCost?: { readonly numKeys: number; readonly spec: HiddenCostSpec; readonly jobSeed: number } | { readonly factors: Float64Array };
}

/** Router → thread. */
export type ToThread =
  /** Starts the job clock: `t0Epoch` = performance.timeOrigin + performance.now() at the job start (ms). */
  | { readonly type: 'start'; readonly t0Epoch: number }
  | { readonly type: 'batch'; readonly w: number; readonly n: number; readonly epoch: number; readonly keys: Int32Array; readonly payloads: Int32Array; readonly times: Float64Array }
  /** Migration epoch marker: in-band, after every record of earlier epochs on this channel. */
  | { readonly type: 'marker'; readonly epoch: number; readonly moves: readonly BinMove[]; readonly replicas: readonly Replica[] }
  /**
   * One end of a MessageChannel to every other thread (`ports[th]`, null for this thread), sent once
   * before `start`. Migrating state and partials for reducers move thread → thread on these ports, and
   * reducers' credits come back on them, never through the router.
   */
  | { readonly type: 'peers'; readonly ports: ReadonlyArray<MessagePort | null> }
  | { readonly type: 'close'; readonly lastPane: number; readonly split: Int32Array | 'all'; readonly needsOutput: boolean }
  | { readonly type: 'epoch'; readonly version: number }
  | { readonly type: 'finish' };

/** One hosted worker's metrics for one slide. */
export interface WorkerSlideRaw {
  readonly w: number;
  readonly processed: number;
  readonly busyMs: number;
  /** ms the worker waited for reducer credits (its emission blocked on a full reducer queue). */
  readonly backpressuredMs: number;
  readonly queueLength: number;
  readonly latency: number[];
  readonly latencyMax: number;
}

/** One hosted reducer's metrics for one slide. */
export interface ReducerSlideRaw {
  readonly r: number;
  readonly busyMs: number;
  /** Partials whose merge finished in the slide. */
  readonly merged: number;
  /** Partials received and not yet merged, at the report. */
  readonly queueLength: number;
}

/**
 * Partials of one window from combiner `w` for reducer `r`, in emission order. `last`: the combiner's
 * end-of-window marker follows them (the reducer emits the window once it had P markers).
 */
export interface PartialsChunk {
  readonly type: 'partials';
  readonly w: number;
  readonly r: number;
  readonly windowStart: number;
  /** [key, encoded partial] pairs; each takes one of the channel's credits until merged. */
  readonly entries: Array<[number, unknown]>;
  readonly last: boolean;
  readonly needsOutput: boolean;
}

/** Thread → thread, on a peer port. */
export type PeerMessage =
  /** A bin's state for a worker hosted there (out of band: the endpoint orders it against markers). */
  | { readonly type: 'state'; readonly msg: StateMsg }
  | PartialsChunk
  /** Reducer `r` merged `n` partials of combiner `w`: `n` credits back to the (w, r) channel. */
  | { readonly type: 'credit'; readonly w: number; readonly r: number; readonly n: number };

/** Thread → router. */
export type FromThread =
  | { readonly type: 'ready'; readonly thread: number }
  | {
      readonly type: 'credit';
      readonly w: number;
      readonly records: number;
      /** The batch's arrays, transferred back for reuse once its records are applied (no new buffers per batch). */
      readonly buffers?: { readonly keys: Int32Array; readonly payloads: Int32Array; readonly times: Float64Array };
    }
  | {
      /** Combiner `w` emitted its window: results of keys it held alone, and how many partials went to each reducer. */
      readonly type: 'emission';
      readonly w: number;
      readonly windowStart: number;
      readonly forwarded: Array<[number, unknown]>;
      readonly sent: number[];
    }
  /** Reducer `r` merged every partial of the window (P markers): the merged results of its split keys. */
  | { readonly type: 'reduced'; readonly r: number; readonly windowStart: number; readonly results: Array<[number, unknown]> }
  | { readonly type: 'metrics'; readonly thread: number; readonly slide: number; readonly workers: WorkerSlideRaw[]; readonly reducers: ReducerSlideRaw[] }
  | { readonly type: 'state'; readonly w: number; readonly entries: Array<[number, unknown]> }
  | { readonly type: 'migration.installed'; readonly ack: Installed }
  | { readonly type: 'done'; readonly thread: number; readonly records: number[] }
  | { readonly type: 'error'; readonly message: string; readonly stack?: string };
