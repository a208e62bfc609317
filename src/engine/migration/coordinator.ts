// Releases a plan's steps one at a time and detects their completion from the destinations' install acks.
import { z } from 'zod';
import { InvariantError } from '../../common/errors.js';
import { parseOrThrow } from '../../common/validate.js';
import type { BinMove } from './bins.js';
import { MigrationMetrics } from './metrics.js';
import type { MigrationPlan, Replica } from './planner.js';
import type { Installed } from './protocol.js';

/** Coordinator options, validated with zod (errors name `migration.<field>`). */
export const CoordinatorOptionsSchema = z
  .object({
    /** Drain gap after a step completes before the next is released, in ms (Megaphone §4.4). Default 0. */
    gapMs: z.number().min(0).default(0),
    /**
     * Steps allowed in flight at once. Default 1: the next step starts only after the previous one
     * completed (Megaphone fluid/batched, Spacker). Larger values overlap configurations; still exact,
     * only latency changes.
     */
    maxInFlight: z.number().int().min(1).or(z.literal(Infinity)).default(1),
    /**
     * Standby copies are made this many steps before their bin's move (at the marker of step
     * max(0, s − lead)), so their snapshot cost is spread over the plan instead of paid at once.
     * Default 1; Infinity = all at the first step.
     */
    replicaLeadSteps: z.number().int().min(1).or(z.literal(Infinity)).default(1),
  })
  .strict();

/** Validated coordinator options. */
export type CoordinatorOptions = z.infer<typeof CoordinatorOptionsSchema>;

/**
 * Drives one MigrationPlan on the router's side, clock-agnostic (every call takes `nowMs`). Usage: before
 * routing each batch, `release(nextEpoch, nowMs)`; when it returns moves, apply them to the router's map
 * as epoch `nextEpoch` and broadcast the marker `(nextEpoch, moves)` on every channel. Feed every
 * `Installed` ack to `onInstalled`. Invariant: step i+1 is released only after step i completed (with
 * maxInFlight 1) and `gapMs` elapsed.
 */
export class MigrationCoordinator {
  readonly metrics: MigrationMetrics;
  private readonly opts: CoordinatorOptions;
  private nextStep = 0;
  private readonly remaining = new Map<number, { step: number; bins: Set<number> }>(); // by epoch
  private completed = 0;
  private lastCompletionMs = -Infinity;
  /** Replicas by the step whose marker carries them. */
  private readonly replicasByStep = new Map<number, Replica[]>();

  constructor(
    readonly plan: MigrationPlan,
    rawOpts: unknown = {},
    metrics: MigrationMetrics = new MigrationMetrics(),
  ) {
    this.opts = parseOrThrow(CoordinatorOptionsSchema, rawOpts, 'migration');
    this.metrics = metrics;
    if (plan.replicas.length > 0) {
      const firstMove = new Map<number, number>();
      plan.steps.forEach((st, i) => {
        for (const m of st.moves) if (!firstMove.has(m.bin)) firstMove.set(m.bin, i);
      });
      for (const r of plan.replicas) {
        const s = firstMove.get(r.bin) ?? 0;
        const at = Math.max(0, s - this.opts.replicaLeadSteps);
        const list = this.replicasByStep.get(at);
        if (list) list.push(r);
        else this.replicasByStep.set(at, [r]);
      }
    }
  }

  /** The standby copies to make at the marker of `step` (empty for most steps). */
  replicasAt(step: number): readonly Replica[] {
    return this.replicasByStep.get(step) ?? [];
  }

  /** True when every step completed. */
  get done(): boolean {
    return this.completed === this.plan.steps.length;
  }

  /** Steps released and not yet completed. */
  get inFlight(): number {
    return this.remaining.size;
  }

  /** Index of the next step to release (= steps released so far). */
  get released(): number {
    return this.nextStep;
  }

  /** True when `release` would release a step at `nowMs`. */
  ready(nowMs: number): boolean {
    return (
      this.nextStep < this.plan.steps.length &&
      this.remaining.size < this.opts.maxInFlight &&
      nowMs >= this.lastCompletionMs + this.opts.gapMs
    );
  }

  /**
   * Releases the next step at `epoch` if ready, returning its moves (the caller must broadcast them with
   * that epoch), else undefined. An empty step completes at once.
   */
  release(epoch: number, nowMs: number): readonly BinMove[] | undefined {
    if (!this.ready(nowMs)) return undefined;
    if (this.remaining.has(epoch)) throw new InvariantError(`epoch ${epoch} already carries a step`, { epoch });
    const step = this.nextStep++;
    const moves = this.plan.steps[step].moves;
    this.metrics.stepStarted(step, epoch, moves.length, nowMs);
    if (moves.length === 0) this.complete(step, nowMs);
    else this.remaining.set(epoch, { step, bins: new Set(moves.map((m) => m.bin)) });
    return moves;
  }

  /** An install ack. Returns true when it completed its step. InvariantError for an unknown or repeated ack. */
  onInstalled(ev: Installed, nowMs: number): boolean {
    const r = this.remaining.get(ev.epoch);
    if (r === undefined || !r.bins.delete(ev.bin)) {
      throw new InvariantError(`unexpected install of bin ${ev.bin} at epoch ${ev.epoch}`, { bin: ev.bin, epoch: ev.epoch });
    }
    this.metrics.moveInstalled(r.step, ev.bytes, ev.replayed, ev.replicaBytes ?? 0);
    if (r.bins.size > 0) return false;
    this.remaining.delete(ev.epoch);
    this.complete(r.step, nowMs);
    return true;
  }

  private complete(step: number, nowMs: number): void {
    this.completed++;
    this.lastCompletionMs = Math.max(this.lastCompletionMs, nowMs);
    this.metrics.stepCompleted(step, nowMs);
  }
}
