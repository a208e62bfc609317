// The epoch-aligned hand-over of keyed state (Megaphone's rule) as a deterministic, clock-agnostic state machine per worker.
import { InvariantError } from '../../common/errors.js';
import type { BinMap, BinMove } from './bins.js';
import type { Replica } from './planner.js';
import { type BinEntries, type KeyedStateStore, entriesBytes, entryCount, entryPairs, filterEntries } from './state-store.js';
import { checkStep } from './validate-plan.js';

/**
 * A bin's state travelling from its old owner to its new owner, for the move of epoch `epoch`.
 * Structured-cloneable (postMessage). `entries` are `[key, TaskOperator.encode(state)]` pairs, or packed
 * numbers from a numeric store (`PackedEntries`: a thread may transfer their buffers).
 * `kind`: absent = the whole bin (a move); `replica` = a standby snapshot made at marker `epoch`
 * (the owner keeps the bin); `delta` = a move that sends only the keys changed since the replica it
 * sent to the same destination (the destination installs replica + delta).
 */
export interface StateMsg {
  readonly type: 'migration.state';
  readonly kind?: 'replica' | 'delta';
  readonly epoch: number;
  readonly bin: number;
  readonly from: number;
  readonly to: number;
  readonly entries: BinEntries;
  readonly bytes: number;
}

/** Reported by the destination once a bin's state is installed and its buffered records replayed (the ack). */
export interface Installed {
  readonly type: 'migration.installed';
  readonly epoch: number;
  readonly bin: number;
  readonly from: number;
  readonly to: number;
  readonly bytes: number;
  /** Records that waited for this state and were applied right after it was installed. */
  readonly replayed: number;
  /** Bytes of the standby copy this move reloaded (0 or absent: a full transfer). */
  readonly replicaBytes?: number;
}

/** What a call produced: state messages to send (each to `msg.to`) and installs to ack to the coordinator. */
export interface EndpointOutput {
  readonly outgoing: StateMsg[];
  readonly installed: Installed[];
}

/** Called for every record at the moment it is applied to the store (immediately or on replay). */
export type AppliedHook = (key: number, payload: number, tag: number) => void;

interface InPhase {
  readonly kind: 'in';
  readonly epoch: number;
  readonly from: number;
  readonly keys: number[];
  readonly payloads: number[];
  readonly tags: number[];
}
interface OutPhase {
  readonly kind: 'out';
  readonly epoch: number;
  readonly to: number;
}
type Phase = InPhase | OutPhase;

/** Construction options of a MigrationEndpoint. */
export interface EndpointOptions<S> {
  /** This worker's index in [0, numWorkers). */
  readonly worker: number;
  /** The bin map in force at `initialEpoch` (every endpoint and the router must start from the same map). */
  readonly initialMap: BinMap;
  /** This worker's keyed state; its `binOf` must be the router's. */
  readonly store: KeyedStateStore<S>;
  /** Epoch of `initialMap`. Default `initialMap.version`. */
  readonly initialEpoch?: number;
  /** Hook called for each applied record (latency accounting, outputs). Default none. */
  readonly onApplied?: AppliedHook;
}

/**
 * One worker's side of the migration protocol (Megaphone §3.3–3.4, realised with in-band epoch markers
 * as in Spacker §III-C2). The driver calls, in the order the worker receives things:
 *
 * - `onEpochMarker(t, moves)` once the worker has every record of epochs < t (all input channels
 *   delivered marker t). Bins moving away at t are exported now, or as soon as their own incoming state
 *   arrived (a bin moved in and out again before its state came); bins moving here at t start buffering.
 * - `onRecord(e, key, payload, tag)` for a record routed with the map of epoch e, which must be the
 *   latest marker's epoch. Applied now unless the key's bin is moving here and its state has not
 *   arrived; then buffered. Other bins are never blocked.
 * - `onState(msg)` when a StateMsg arrives (on any channel, in any order relative to markers): once its
 *   marker was seen, installs the state (merge), replays that bin's buffered records in arrival order,
 *   then performs any export that waited for it.
 *
 * Invariants: a bin's state leaves a worker only after every record of earlier epochs routed to the
 * worker was applied; a record is applied only when the state of every earlier epoch of its key is
 * present, so each key's records are applied exactly once, in routing order.
 */
export class MigrationEndpoint<S> {
  readonly worker: number;
  readonly numWorkers: number;
  private readonly store: KeyedStateStore<S>;
  private readonly owners: Int32Array;
  private readonly onApplied: AppliedHook | undefined;
  private currentEpoch: number;
  private readonly phases = new Map<number, Phase[]>();
  private readonly early = new Map<number, StateMsg[]>();
  /** Owner side: bins with a standby copy elsewhere → its worker and the keys changed since the snapshot. */
  private readonly tracked = new Map<number, { readonly to: number; readonly keys: Set<number> }>();
  /** Destination side: standby copies received, by bin. */
  private readonly replicas = new Map<number, StateMsg>();
  private buffered = 0;
  private maxBufferedSeen = 0;

  constructor(opts: EndpointOptions<S>) {
    const { worker, initialMap } = opts;
    if (!(Number.isInteger(worker) && worker >= 0 && worker < initialMap.numWorkers)) {
      throw new InvariantError(`worker ${worker} is not in [0, ${initialMap.numWorkers})`, { worker });
    }
    this.worker = worker;
    this.numWorkers = initialMap.numWorkers;
    this.store = opts.store;
    this.owners = initialMap.owners.slice();
    this.currentEpoch = opts.initialEpoch ?? initialMap.version;
    this.onApplied = opts.onApplied;
  }

  /** Epoch of the latest marker processed. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** Records currently waiting for state. */
  get bufferedRecords(): number {
    return this.buffered;
  }

  /** Largest number of records that waited at once since construction. */
  get maxBufferedRecords(): number {
    return this.maxBufferedSeen;
  }

  /** Owner of `bin` in the map of the current epoch, as this endpoint sees it. */
  ownerOf(bin: number): number {
    return this.owners[bin];
  }

  /** Bins that moved here and whose state has not arrived yet, ascending. */
  awaitedBins(): number[] {
    const out: number[] = [];
    for (const [bin, ph] of this.phases) if (ph.length > 0) out.push(bin);
    return out.sort((a, b) => a - b);
  }

  /** True when nothing is in flight here: no awaited state, no buffered record, no unmatched StateMsg. */
  get idle(): boolean {
    return this.phases.size === 0 && this.early.size === 0;
  }

  /** Standby copies held here (bins), ascending. */
  replicaBins(): number[] {
    return [...this.replicas.keys()].sort((a, b) => a - b);
  }

  /** Entries of the standby copy of `bin` held here (0 when none): what installing a delta of it decodes besides the delta. */
  replicaEntries(bin: number): number {
    const r = this.replicas.get(bin);
    return r === undefined ? 0 : entryCount(r.entries);
  }

  /**
   * Marker of epoch `epoch` > current, carrying every move of that epoch (all workers', validated
   * against this endpoint's map: PlanError with context.step = epoch). First snapshots the bins of
   * `replicas` this worker owns (unless they move or wait for state at this epoch) and sends each to
   * its replica worker, recording from then on which of the bin's keys change. Then exports the bins
   * leaving this worker (now, or after their incoming state arrived) and starts buffering for bins
   * arriving.
   */
  onEpochMarker(epoch: number, moves: readonly BinMove[], replicas: readonly Replica[] = []): EndpointOutput {
    if (!(epoch > this.currentEpoch)) {
      throw new InvariantError(`worker ${this.worker}: marker epoch ${epoch} is not after ${this.currentEpoch}`, {
        worker: this.worker,
        epoch,
        current: this.currentEpoch,
      });
    }
    const before = replicas.length > 0 ? this.owners.slice() : this.owners;
    checkStep(moves, this.owners, this.numWorkers, epoch);
    this.currentEpoch = epoch;
    const out: EndpointOutput = { outgoing: [], installed: [] };
    for (const r of replicas) {
      if (before[r.bin] !== this.worker || r.worker === this.worker || this.phases.has(r.bin) || moves.some((m) => m.bin === r.bin)) continue;
      const entries = this.store.peekBin(r.bin);
      out.outgoing.push({ type: 'migration.state', kind: 'replica', epoch, bin: r.bin, from: this.worker, to: r.worker, entries, bytes: entriesBytes(entries) });
      this.tracked.set(r.bin, { to: r.worker, keys: new Set() });
    }
    const touched: number[] = [];
    for (const m of moves) {
      if (m.from === this.worker) {
        this.phasesOf(m.bin).push({ kind: 'out', epoch, to: m.to });
        touched.push(m.bin);
      } else if (m.to === this.worker) {
        this.phasesOf(m.bin).push({ kind: 'in', epoch, from: m.from, keys: [], payloads: [], tags: [] });
        touched.push(m.bin);
      }
    }
    for (const bin of touched) this.advance(bin, out);
    return out;
  }

  /**
   * A record routed with the map of `epoch` (must equal the current epoch; InvariantError otherwise, or
   * when the key's bin is not owned here: a routing bug). Returns true when applied now, false when
   * buffered until its bin's state arrives. `tag` (e.g. event time) is handed back to onApplied.
   */
  onRecord(epoch: number, key: number, payload: number, tag = 0): boolean {
    if (epoch !== this.currentEpoch) {
      throw new InvariantError(`worker ${this.worker}: record of epoch ${epoch} while at epoch ${this.currentEpoch}`, {
        worker: this.worker,
        epoch,
        current: this.currentEpoch,
        key,
      });
    }
    const bin = this.store.binOf(key);
    if (this.owners[bin] !== this.worker) {
      throw new InvariantError(`worker ${this.worker}: record of key ${key} (bin ${bin}) is owned by ${this.owners[bin]}`, {
        worker: this.worker,
        epoch,
        key,
        bin,
        owner: this.owners[bin],
      });
    }
    const ph = this.phases.size === 0 ? undefined : this.phases.get(bin);
    if (ph === undefined) {
      if (this.tracked.size > 0) this.tracked.get(bin)?.keys.add(key);
      this.store.add(key, payload, bin);
      this.onApplied?.(key, payload, tag);
      return true;
    }
    const last = ph[ph.length - 1] as InPhase; // the owner check guarantees the last phase is incoming
    last.keys.push(key);
    last.payloads.push(payload);
    last.tags.push(tag);
    this.buffered++;
    if (this.buffered > this.maxBufferedSeen) this.maxBufferedSeen = this.buffered;
    return false;
  }

  /**
   * A state message addressed to this worker. Installed as soon as the matching marker was processed
   * (kept until then); InvariantError for a message to another worker or a duplicate.
   */
  onState(msg: StateMsg): EndpointOutput {
    if (msg.to !== this.worker) {
      throw new InvariantError(`worker ${this.worker}: state of bin ${msg.bin} is addressed to ${msg.to}`, {
        worker: this.worker,
        bin: msg.bin,
        to: msg.to,
      });
    }
    if (msg.kind === 'replica') {
      this.replicas.set(msg.bin, msg);
      const out: EndpointOutput = { outgoing: [], installed: [] };
      this.advance(msg.bin, out); // a delta may have been waiting for it
      return out;
    }
    let list = this.early.get(msg.bin);
    if (list === undefined) {
      list = [];
      this.early.set(msg.bin, list);
    }
    if (list.some((m) => m.epoch === msg.epoch)) {
      throw new InvariantError(`worker ${this.worker}: duplicate state of bin ${msg.bin} at epoch ${msg.epoch}`, {
        worker: this.worker,
        bin: msg.bin,
        epoch: msg.epoch,
      });
    }
    list.push(msg);
    const out: EndpointOutput = { outgoing: [], installed: [] };
    this.advance(msg.bin, out);
    return out;
  }

  private phasesOf(bin: number): Phase[] {
    let ph = this.phases.get(bin);
    if (ph === undefined) {
      ph = [];
      this.phases.set(bin, ph);
    }
    return ph;
  }

  /** Runs the bin's pending phases in epoch order as far as the arrived state allows. */
  private advance(bin: number, out: EndpointOutput): void {
    const ph = this.phases.get(bin);
    while (ph !== undefined && ph.length > 0) {
      const head = ph[0];
      if (head.kind === 'out') {
        const ex = this.store.exportBin(bin);
        const t = this.tracked.get(bin);
        this.tracked.delete(bin);
        if (t !== undefined && t.to === head.to) {
          // the destination holds a snapshot: only the keys changed since it travel
          const entries = filterEntries(ex.entries, (k) => t.keys.has(k));
          out.outgoing.push({ type: 'migration.state', kind: 'delta', epoch: head.epoch, bin, from: this.worker, to: head.to, entries, bytes: entriesBytes(entries) });
        } else {
          out.outgoing.push({ type: 'migration.state', epoch: head.epoch, bin, from: this.worker, to: head.to, entries: ex.entries, bytes: ex.bytes });
        }
        ph.shift();
        continue;
      }
      const arrived = this.early.get(bin);
      const idx = arrived === undefined ? -1 : arrived.findIndex((m) => m.epoch === head.epoch);
      if (arrived === undefined || idx < 0) break;
      const msg = arrived[idx];
      if (msg.from !== head.from) {
        throw new InvariantError(`worker ${this.worker}: state of bin ${bin} at epoch ${head.epoch} came from ${msg.from}, expected ${head.from}`, {
          worker: this.worker,
          bin,
          epoch: head.epoch,
          from: msg.from,
          expected: head.from,
        });
      }
      const replica = this.replicas.get(bin);
      if (msg.kind === 'delta' && replica === undefined) break; // its snapshot is still on the way
      arrived.splice(idx, 1);
      if (arrived.length === 0) this.early.delete(bin);
      this.replicas.delete(bin);
      if (msg.kind === 'delta') {
        // snapshot + the keys changed since: a changed key's state replaces its snapshot entry
        const merged = new Map(entryPairs(replica!.entries));
        for (const [k, v] of entryPairs(msg.entries)) merged.set(k, v);
        this.store.importBin({ bin, entries: [...merged] });
      } else {
        this.store.importBin(msg);
      }
      const n = head.keys.length;
      for (let i = 0; i < n; i++) {
        this.store.add(head.keys[i], head.payloads[i], bin);
        this.onApplied?.(head.keys[i], head.payloads[i], head.tags[i]);
      }
      this.buffered -= n;
      out.installed.push({
        type: 'migration.installed',
        epoch: head.epoch,
        bin,
        from: head.from,
        to: this.worker,
        bytes: msg.bytes,
        replayed: n,
        ...(msg.kind === 'delta' ? { replicaBytes: replica!.bytes } : {}),
      });
      ph.shift();
    }
    if (ph !== undefined && ph.length === 0) this.phases.delete(bin);
  }
}
