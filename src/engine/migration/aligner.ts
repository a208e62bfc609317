// Epoch-marker alignment for a worker with several input channels (barrier alignment before onEpochMarker).
import { InvariantError } from '../../common/errors.js';
import type { BinMove } from './bins.js';
import type { Replica } from './planner.js';

/** An item released by the aligner, in the order the endpoint must see it. */
export type AlignedItem<R> =
  | { readonly kind: 'record'; readonly record: R }
  | { readonly kind: 'marker'; readonly epoch: number; readonly moves: readonly BinMove[]; readonly replicas: readonly Replica[] };

type Held<R> = { kind: 'record'; record: R } | { kind: 'marker'; epoch: number; moves: readonly BinMove[]; replicas: readonly Replica[] };

/**
 * Aligns epoch markers over `numInputs` FIFO input channels of one worker, so the MigrationEndpoint sees
 * marker t only after every input delivered it (hence every record of epochs < t), and records of epoch
 * t only after marker t. An input that delivered marker t is blocked: its later items are held until all
 * inputs delivered t (Chandy–Lamport / Flink barrier alignment; Spacker waits for the last CM the same
 * way). Records of unblocked inputs pass straight through. Every input must deliver the same markers in
 * the same order with equal moves (InvariantError otherwise). With one input it passes everything through.
 */
export class EpochAligner<R> {
  readonly numInputs: number;
  private epoch: number;
  private pending: { epoch: number; moves: readonly BinMove[]; replicas: readonly Replica[] } | undefined;
  private arrived = 0;
  private readonly blocked: Uint8Array;
  private readonly held: Held<R>[][];

  constructor(numInputs: number, initialEpoch = 0) {
    if (!(Number.isInteger(numInputs) && numInputs >= 1)) {
      throw new InvariantError(`numInputs must be an integer >= 1, got ${numInputs}`, { numInputs });
    }
    this.numInputs = numInputs;
    this.epoch = initialEpoch;
    this.blocked = new Uint8Array(numInputs);
    this.held = Array.from({ length: numInputs }, () => []);
  }

  /** Epoch of the last marker released. */
  get alignedEpoch(): number {
    return this.epoch;
  }

  /** Items held back on blocked inputs. */
  get heldItems(): number {
    let n = 0;
    for (const h of this.held) n += h.length;
    return n;
  }

  /** A record from `input`. Returns true when it may be delivered now, false when it was held. */
  record(input: number, record: R): boolean {
    if (this.blocked[input] === 0) return true;
    this.held[input].push({ kind: 'record', record });
    return false;
  }

  /** A marker from `input` (with the standby copies it asks for, if any). Returns the items to deliver now, in order (empty until aligned). */
  marker(input: number, epoch: number, moves: readonly BinMove[], replicas: readonly Replica[] = []): AlignedItem<R>[] {
    const out: AlignedItem<R>[] = [];
    if (this.blocked[input] === 1) {
      this.held[input].push({ kind: 'marker', epoch, moves, replicas });
      return out;
    }
    this.arrive(input, epoch, moves, replicas);
    this.release(out);
    return out;
  }

  private arrive(input: number, epoch: number, moves: readonly BinMove[], replicas: readonly Replica[]): void {
    if (this.pending === undefined) {
      if (!(epoch > this.epoch)) throw new InvariantError(`marker ${epoch} is not after ${this.epoch}`, { input, epoch });
      this.pending = { epoch, moves, replicas };
    } else if (this.pending.epoch !== epoch || !sameMoves(this.pending.moves, moves)) {
      throw new InvariantError(`input ${input} delivered marker ${epoch}, others ${this.pending.epoch} (or different moves)`, {
        input,
        epoch,
        expected: this.pending.epoch,
      });
    }
    this.blocked[input] = 1;
    this.arrived++;
  }

  /** While every input delivered the pending marker: release it, then unblock inputs and drain their held items. */
  private release(out: AlignedItem<R>[]): void {
    while (this.pending !== undefined && this.arrived === this.numInputs) {
      const { epoch, moves, replicas } = this.pending;
      out.push({ kind: 'marker', epoch, moves, replicas });
      this.epoch = epoch;
      this.pending = undefined;
      this.arrived = 0;
      this.blocked.fill(0);
      for (let i = 0; i < this.numInputs; i++) {
        const h = this.held[i];
        let j = 0;
        for (; j < h.length; j++) {
          const it = h[j];
          if (it.kind === 'record') out.push(it);
          else {
            this.arrive(i, it.epoch, it.moves, it.replicas);
            j++;
            break;
          }
        }
        h.splice(0, j);
      }
    }
  }
}

function sameMoves(a: readonly BinMove[], b: readonly BinMove[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].bin !== b[i].bin || a[i].from !== b[i].from || a[i].to !== b[i].to) return false;
  return true;
}
