// Keys to bins (top bits of murmur3) and the versioned bin → owner map that the router and endpoints share.
import { z } from 'zod';
import { ConfigError, PlanError } from '../../common/errors.js';
import { murmur3Int } from '../../common/hash.js';
import { parseOrThrow } from '../../common/validate.js';

/** Largest allowed `binBits`: Megaphone saw overhead rise sharply from 2^16 bins, so we stop there. */
export const MAX_BIN_BITS = 16;

/**
 * Bin of `key`: the top `binBits` bits of `murmur3Int(key, seed)`, so `0 <= bin < 2^binBits`.
 * Top bits as in Megaphone (`src/lib.rs`: bin = hash >> (64 − BIN_SHIFT)). `binBits` must be an integer
 * in [1, 16] (ConfigError naming `binBits` otherwise); `seed` defaults to 0. Allocation-free.
 */
export function binOf(key: number, binBits: number, seed = 0): number {
  if (!(binBits >= 1 && binBits <= MAX_BIN_BITS && Number.isInteger(binBits))) {
    throw new ConfigError(`binBits: expected an integer in [1, ${MAX_BIN_BITS}], got ${binBits}`, {
      field: 'binBits',
      expected: `integer in [1, ${MAX_BIN_BITS}]`,
      got: binBits,
    });
  }
  return murmur3Int(key, seed) >>> (32 - binBits);
}

/** Config of the key → bin function. `binBits` is fixed for a job (never changed at runtime). */
export const BinningConfigSchema = z
  .object({
    /** log2 of the number of bins, 1..16. Default 10 (research/migration.md §6 suggests 10–12). */
    binBits: z.number().int().min(1).max(MAX_BIN_BITS).default(10),
    /** murmur3 seed of the bin hash. Default 0. */
    seed: z.number().int().default(0),
    /**
     * Keys isolated in a bin of their own ("bin of one", research/migration.md §6), fixed for the job:
     * the i-th key gets bin 2^binBits + i, so it can move alone. At most 4096, no repeats. Default none.
     */
    isolate: z
      .array(z.number().int().min(0))
      .max(4096)
      .default([])
      .refine((ks) => new Set(ks).size === ks.length, 'keys must be distinct'),
  })
  .strict();

/**
 * A validated key → bin function with its parameters. Invariant: `binOf(k) < numBins`, where
 * numBins = 2^binBits hashed bins + one bin per isolated key.
 */
export interface Binning {
  readonly binBits: number;
  readonly seed: number;
  /** 2^binBits + isolated.length. */
  readonly numBins: number;
  /** Keys with a bin of their own; `isolated[i]` has bin 2^binBits + i. */
  readonly isolated: readonly number[];
  /** Bin of `key` (allocation-free). */
  binOf(key: number): number;
}

/**
 * Builds a Binning from a raw config (validated with zod; a bad field throws ConfigError naming
 * `<prefix>.binBits`, `<prefix>.seed` or `<prefix>.isolate`). Defaults: binBits 10, seed 0, no isolated
 * keys. With isolated keys every binOf does one Map lookup first.
 */
export function createBinning(raw: unknown = {}, prefix = 'migration.binning'): Binning {
  const cfg = parseOrThrow(BinningConfigSchema, raw, prefix);
  const shift = 32 - cfg.binBits;
  const seed = cfg.seed;
  const hashed = 1 << cfg.binBits;
  const isolated = [...cfg.isolate];
  const own = new Map<number, number>(isolated.map((k, i) => [k, hashed + i]));
  return {
    binBits: cfg.binBits,
    seed,
    numBins: hashed + isolated.length,
    isolated,
    binOf:
      own.size === 0
        ? (key: number) => murmur3Int(key, seed) >>> shift
        : (key: number) => own.get(key) ?? murmur3Int(key, seed) >>> shift,
  };
}

/** One bin changing owner. */
export interface BinMove {
  readonly bin: number;
  readonly from: number;
  readonly to: number;
}

/**
 * An immutable, versioned map bin → owner worker. Initial owner of bin i is i mod P (Megaphone
 * `src/lib.rs`). Invariant: every owner is an integer in [0, numWorkers). `withMoves` returns the next
 * version; the receiver is never modified, so a map can be shared between the router and endpoints.
 */
export class BinMap {
  /** Owner of each bin. Do not mutate (use withMoves). */
  readonly owners: Int32Array;
  readonly numWorkers: number;
  readonly version: number;

  private constructor(owners: Int32Array, numWorkers: number, version: number) {
    this.owners = owners;
    this.numWorkers = numWorkers;
    this.version = version;
  }

  /** The initial map (version 0): bin i → i mod numWorkers. */
  static initial(numBins: number, numWorkers: number): BinMap {
    checkSizes(numBins, numWorkers);
    const owners = new Int32Array(numBins);
    for (let b = 0; b < numBins; b++) owners[b] = b % numWorkers;
    return new BinMap(owners, numWorkers, 0);
  }

  /** A map from explicit owners (copied). Throws PlanError naming the first bad bin. */
  static fromOwners(owners: ArrayLike<number>, numWorkers: number, version = 0): BinMap {
    checkSizes(owners.length, numWorkers);
    const o = new Int32Array(owners.length);
    for (let b = 0; b < owners.length; b++) {
      const w = owners[b];
      if (!(Number.isInteger(w) && w >= 0 && w < numWorkers)) {
        throw new PlanError(`bin ${b}: owner ${w} is not a worker in [0, ${numWorkers})`, { bin: b, worker: w });
      }
      o[b] = w;
    }
    return new BinMap(o, numWorkers, version);
  }

  /** Number of bins. */
  get numBins(): number {
    return this.owners.length;
  }

  /** Owner of `bin`. */
  ownerOf(bin: number): number {
    return this.owners[bin];
  }

  /**
   * The next version with `moves` applied. Each move's `from` must be the current owner (PlanError
   * otherwise); use validatePlan for the full checks with step context.
   */
  withMoves(moves: readonly BinMove[]): BinMap {
    const o = this.owners.slice();
    for (const m of moves) {
      if (!(m.bin >= 0 && m.bin < o.length) || o[m.bin] !== m.from || !(m.to >= 0 && m.to < this.numWorkers)) {
        throw new PlanError(`move of bin ${m.bin} from ${m.from} to ${m.to} does not apply to map version ${this.version}`, {
          bin: m.bin,
          from: m.from,
          to: m.to,
          owner: o[m.bin],
        });
      }
      o[m.bin] = m.to;
    }
    return new BinMap(o, this.numWorkers, this.version + 1);
  }

  /** Bins per worker (length numWorkers). */
  binsPerWorker(): number[] {
    const c = new Array<number>(this.numWorkers).fill(0);
    for (let b = 0; b < this.owners.length; b++) c[this.owners[b]]++;
    return c;
  }
}

function checkSizes(numBins: number, numWorkers: number): void {
  if (!(Number.isInteger(numWorkers) && numWorkers >= 1)) {
    throw new ConfigError(`numWorkers: expected an integer >= 1, got ${numWorkers}`, {
      field: 'numWorkers',
      expected: 'integer >= 1',
      got: numWorkers,
    });
  }
  if (!(Number.isInteger(numBins) && numBins >= 1)) {
    throw new ConfigError(`numBins: expected an integer >= 1, got ${numBins}`, {
      field: 'numBins',
      expected: 'integer >= 1',
      got: numBins,
    });
  }
}

/** Moves that turn `from` into `to` (bins whose owner differs), in ascending bin order. */
export function diffMaps(from: BinMap, to: BinMap): BinMove[] {
  if (from.numBins !== to.numBins) {
    throw new PlanError(`maps have different numbers of bins (${from.numBins} vs ${to.numBins})`, {
      fromBins: from.numBins,
      toBins: to.numBins,
    });
  }
  const moves: BinMove[] = [];
  for (let b = 0; b < from.numBins; b++) {
    if (from.owners[b] !== to.owners[b]) moves.push({ bin: b, from: from.owners[b], to: to.owners[b] });
  }
  return moves;
}
