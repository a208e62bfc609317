// Keyed global state that follows its key: bin preferences from the partitioner and when a bin should move.
import { BinMap } from './migration/index.js';

/** Migration settings resolved from the config's `migration` section. */
export interface MigrationSettings {
  readonly binBits: number;
  readonly strategy: 'all-at-once' | 'fluid' | 'batched' | 'chunked';
  readonly order: 'hot-first' | 'bin' | 'random';
  readonly minShare: number;
  readonly minRecords: number;
  readonly bandwidthBytesPerSec: number;
  readonly entryCostUs: number;
  readonly gapMs: number;
  /** Share of each plan's moves (the last in plan order) that get a standby copy first. */
  readonly replicate: number;
  /** Steps before its bin's move at which a standby copy is made. */
  readonly replicaLeadSteps: number;
}

/** A migration requested at an event time: the bin map to move to (tests and benchmarks). */
export interface ScheduledMigration {
  readonly atMs: number;
  /** Owner per bin, or a function of the current map. */
  readonly owners: readonly number[] | ((current: BinMap) => readonly number[]);
}

/**
 * Counts, per bin and slide, where the partitioner wanted each record to go. A bin should move to
 * worker w when w got at least `minShare` of the bin's records (and at least `minRecords`) and w is not
 * the bin's owner. A partitioner that spreads a bin evenly (hash, whose hash differs from the bins')
 * never moves anything; one that concentrates a hot key on a worker (dalton, the learned one) moves it.
 */
export class BinPreferences {
  private readonly counts: Int32Array;
  readonly totals: Float64Array;

  constructor(
    readonly numBins: number,
    readonly P: number,
  ) {
    this.counts = new Int32Array(numBins * P);
    this.totals = new Float64Array(numBins);
  }

  /** One record of `bin` that the partitioner routed to `w`. */
  note(bin: number, w: number): void {
    this.counts[bin * this.P + w]++;
    this.totals[bin]++;
  }

  /** The map the preferences ask for (undefined when nothing should move), then clears the counts. */
  takeTarget(current: BinMap, minShare: number, minRecords: number): { owners: number[]; binRate: Float64Array } | undefined {
    const owners = Array.from({ length: this.numBins }, (_, b) => current.ownerOf(b));
    let changed = false;
    for (let b = 0; b < this.numBins; b++) {
      const total = this.totals[b];
      if (total < minRecords) continue;
      let best = 0;
      let bestW = -1;
      for (let w = 0; w < this.P; w++) {
        const c = this.counts[b * this.P + w];
        if (c > best) {
          best = c;
          bestW = w;
        }
      }
      if (bestW >= 0 && bestW !== owners[b] && best >= minShare * total) {
        owners[b] = bestW;
        changed = true;
      }
    }
    const binRate = Float64Array.from(this.totals);
    this.counts.fill(0);
    this.totals.fill(0);
    return changed ? { owners, binRate } : undefined;
  }
}
