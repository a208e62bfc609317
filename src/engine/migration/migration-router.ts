// Router-side glue: the current bin map and epoch, routing by bin, and plan execution through the coordinator.
import { InvariantError, PlanError } from '../../common/errors.js';
import { BinMap, type BinMove, type Binning } from './bins.js';
import { MigrationCoordinator } from './coordinator.js';
import type { MigrationSummary } from './metrics.js';
import type { MigrationPlan, Replica } from './planner.js';
import type { Installed } from './protocol.js';
import { validatePlan } from './validate-plan.js';

/** An epoch marker to broadcast on every data channel, FIFO after the records already sent. */
export interface EpochMarker {
  readonly type: 'migration.marker';
  readonly epoch: number;
  readonly moves: readonly BinMove[];
  /** Standby copies to make at this marker (CoordinatorOptions.replicaLeadSteps says which step carries which). */
  readonly replicas?: readonly Replica[];
}

/**
 * The router's view of keyed-state ownership. Invariant: `route(key)` uses the map of the current
 * `epoch`, and the epoch changes only through `poll`, which returns the marker that the caller must
 * broadcast on every channel before routing any further record. One plan runs at a time.
 */
export class MigrationRouter {
  readonly binning: Binning;
  private current: BinMap;
  private coord: MigrationCoordinator | undefined;
  private readonly finished: MigrationSummary[] = [];

  /** @param initialMap the map of epoch `initialMap.version` shared with every endpoint (default: bin i → i mod P). */
  constructor(binning: Binning, numWorkers: number, initialMap: BinMap = BinMap.initial(binning.numBins, numWorkers)) {
    if (initialMap.numBins !== binning.numBins || initialMap.numWorkers !== numWorkers) {
      throw new InvariantError('initial map does not match the binning or the number of workers', {
        mapBins: initialMap.numBins,
        numBins: binning.numBins,
        mapWorkers: initialMap.numWorkers,
        numWorkers,
      });
    }
    this.binning = binning;
    this.current = initialMap;
  }

  /** The map in force (version = epoch). */
  get map(): BinMap {
    return this.current;
  }

  /** Current epoch: records routed now carry it. */
  get epoch(): number {
    return this.current.version;
  }

  /** True while a plan has steps not yet completed. */
  get migrating(): boolean {
    return this.coord !== undefined && !this.coord.done;
  }

  /** Worker owning `key` in the current epoch (allocation-free). */
  route(key: number): number {
    return this.current.owners[this.binning.binOf(key)];
  }

  /**
   * Validates `plan` against the current map (PlanError before anything moves) and starts it. Coordinator
   * options as in CoordinatorOptionsSchema. PlanError when a plan is still running.
   */
  start(plan: MigrationPlan, coordinatorOptions: unknown = {}): void {
    if (this.migrating) throw new PlanError('a migration plan is still running', { reason: 'busy' });
    validatePlan(plan, this.current, this.current.numWorkers, this.binning.numBins);
    this.retireIfDone();
    this.coord = new MigrationCoordinator(plan, coordinatorOptions);
    this.retireIfDone(); // a plan without steps is done at once
  }

  /** True when `poll(nowMs)` would release a step. */
  ready(nowMs: number): boolean {
    return this.coord?.ready(nowMs) ?? false;
  }

  /**
   * Call before routing each batch (and after acks): releases the next step when the coordinator allows,
   * switches to the next epoch and returns the marker to broadcast; otherwise undefined.
   */
  poll(nowMs: number): EpochMarker | undefined {
    const c = this.coord;
    if (c === undefined) return undefined;
    const step = c.released;
    const moves = c.release(this.current.version + 1, nowMs);
    if (moves === undefined) return undefined;
    this.current = this.current.withMoves(moves);
    this.retireIfDone();
    const replicas = c.replicasAt(step);
    return replicas.length > 0 ? { type: 'migration.marker', epoch: this.current.version, moves, replicas } : { type: 'migration.marker', epoch: this.current.version, moves };
  }

  /**
   * Starts the next epoch without moves, for an epoch change that is not a migration step (e.g. the
   * partitioner's table version, ADR 0001), so the engine keeps one epoch counter. Returns the marker to
   * broadcast. Endpoints accept it like any other marker.
   */
  advance(): EpochMarker {
    this.current = this.current.withMoves([]);
    return { type: 'migration.marker', epoch: this.current.version, moves: [] };
  }

  /** An install ack from a destination worker. */
  onInstalled(ack: Installed, nowMs: number): void {
    if (this.coord === undefined) throw new InvariantError(`install ack of bin ${ack.bin} with no plan running`, { bin: ack.bin });
    this.coord.onInstalled(ack, nowMs);
    this.retireIfDone();
  }

  /** Summaries of finished plans, oldest first, then the running one (if any). */
  summaries(): MigrationSummary[] {
    return this.coord === undefined ? [...this.finished] : [...this.finished, this.coord.metrics.summary()];
  }

  private retireIfDone(): void {
    if (this.coord?.done) {
      this.finished.push(this.coord.metrics.summary());
      this.coord = undefined;
    }
  }
}
