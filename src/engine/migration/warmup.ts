// Runs the migration path once on scratch state, so its first real use does not run cold code.
import type { TaskOperator } from '../../tasks/types.js';
import { BinMap, type Binning } from './bins.js';
import { planMigration } from './planner.js';
import { MigrationEndpoint, type StateMsg } from './protocol.js';
import { MigrationRouter } from './migration-router.js';
import { KeyedStateStore } from './state-store.js';

/** What a warm-up did (for logs and tests). */
export interface WarmupSummary {
  /** Bin hand-overs performed (each: marker on both sides, export, state message, install, replay). */
  readonly moves: number;
  /** Records applied, buffered ones included. */
  readonly records: number;
  /** Records that waited for their bin's state and were replayed. */
  readonly replayed: number;
}

/**
 * Moves one bin back and forth between two scratch workers `rounds` times, the way a job does: a
 * MigrationRouter starts a one-step plan (planMigration, strategy fluid), releases its marker, and
 * routes records with the map of each epoch; two MigrationEndpoints on their own KeyedStateStores see
 * the marker (the receiver first, so it buffers the bin's records), export, take the state message
 * (passed through `structuredClone`, as between threads), install, replay, and ack to the router.
 * Every step runs the classes and `op` functions (create, add, encode, decode, merge, or the numeric
 * form's add and merge) a job uses.
 * V8 compiles code only once it has run often, so without this the first migration of a job runs that
 * code cold: on the real clock the first steps of a fluid migration took 2–8 ms each instead of under
 * 1 ms, and records waited behind them (docs/migration.md). Touches no state but its own.
 *
 * @param op the job's operator (global kind); its states are created for scratch keys only.
 * @param binning the job's binning (so binOf is the one the workers use).
 * @param rounds hand-overs to perform; default 256.
 * @param keysPerBin distinct keys in the moving bin; default 128.
 */
export function warmMigrationPath<S>(op: TaskOperator<S>, binning: Binning, rounds = 256, keysPerBin = 128): WarmupSummary {
  const router = new MigrationRouter(binning, 2);
  const bin = 0;
  const keys: number[] = [];
  for (let k = 0; keys.length < keysPerBin && k < 1 << 30; k++) if (binning.binOf(k) === bin) keys.push(k);
  let records = 0;
  let replayed = 0;
  const endpoints = [0, 1].map(
    (w) =>
      new MigrationEndpoint<S>({
        worker: w,
        initialMap: router.map,
        store: new KeyedStateStore<S>(op, binning.binOf),
        onApplied: () => void records++,
      }),
  );
  const feed = (): void => {
    const epoch = router.epoch;
    for (let i = 0; i < keys.length; i++) if (!endpoints[router.route(keys[i])].onRecord(epoch, keys[i], i)) replayed++;
  };
  for (let r = 0; r < rounds; r++) {
    feed();
    const from = router.map.ownerOf(bin);
    const to = 1 - from;
    const owners = Array.from(router.map.owners);
    owners[bin] = to;
    router.start(planMigration(router.map, BinMap.fromOwners(owners, 2), 'fluid'));
    const marker = router.poll(r)!;
    // The receiver sees the marker first and buffers the bin's records until the state arrives.
    const acks = [...endpoints[to].onEpochMarker(marker.epoch, marker.moves).installed];
    feed();
    const out = endpoints[from].onEpochMarker(marker.epoch, marker.moves);
    for (const msg of out.outgoing) acks.push(...endpoints[to].onState(structuredClone(msg) as StateMsg).installed);
    for (const ack of acks) router.onInstalled(ack, r);
    feed();
  }
  return { moves: rounds, records, replayed };
}
