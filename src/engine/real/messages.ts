// Typed messages between the router (main thread) and the worker threads hosting combiners.
import type { MessagePort } from 'node:worker_threads';
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
}

/** Router → thread. */
export type ToThread =
  /** Starts the job clock: `t0Epoch` = performance.timeOrigin + performance.now() at the job start (ms). */
  | { readonly type: 'start'; readonly t0Epoch: number }
  | { readonly type: 'batch'; readonly w: number; readonly n: number; readonly epoch: number; readonly keys: Int32Array; readonly payloads: Int32Array; readonly times: Float64Array }
  /** Migration epoch marker: in-band, after every record of earlier epochs on this channel. */
  | { readonly type: 'marker'; readonly epoch: number; readonly moves: readonly BinMove[]; readonly replicas: readonly Replica[] }
  /**
   * Keyed-state migration: one end of a MessageChannel to every other thread (`ports[th]`, null for this
   * thread), sent once before `start`. State moves thread → thread on these ports, never through the router.
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
  readonly queueLength: number;
  readonly latency: number[];
  readonly latencyMax: number;
}

/** Thread → thread, on a peer port: a bin's state for a worker hosted there (out of band: the endpoint orders it against markers). */
export interface PeerMessage {
  readonly type: 'state';
  readonly msg: StateMsg;
}

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
      readonly type: 'emission';
      readonly w: number;
      readonly windowStart: number;
      readonly forwarded: Array<[number, unknown]>;
      readonly toReducer: Array<Array<[number, unknown]>>;
    }
  | { readonly type: 'metrics'; readonly thread: number; readonly slide: number; readonly workers: WorkerSlideRaw[] }
  | { readonly type: 'state'; readonly w: number; readonly entries: Array<[number, unknown]> }
  | { readonly type: 'migration.installed'; readonly ack: Installed }
  | { readonly type: 'done'; readonly thread: number; readonly records: number[] }
  | { readonly type: 'error'; readonly message: string; readonly stack?: string };
