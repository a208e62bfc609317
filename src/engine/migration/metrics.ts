// Per-step and whole-migration measurements: durations, bytes moved, moves and replayed records.

/** One step's measurements. Times are on the driver's injected clock (ms). */
export interface StepMetrics {
  /** `migration.step`: index in the plan. */
  readonly step: number;
  /** Epoch at which the step's moves took effect. */
  readonly epoch: number;
  /** `migration.moves`: bins moved by the step. */
  readonly moves: number;
  /** `migration.bytes`: estimated bytes of state moved at the step (sum of StateMsg.bytes; a reloaded move counts its delta only). */
  readonly bytes: number;
  /** `migration.replica_bytes`: bytes of the standby copies the step's moves reloaded (shipped before the step). */
  readonly replicaBytes: number;
  /** `migration.replayed`: records that waited for state and were applied on install. */
  readonly replayed: number;
  /** Release time (marker broadcast). */
  readonly startMs: number;
  /** Time the last install of the step was acked; NaN while running. */
  readonly endMs: number;
  /** `migration.step_ms` = endMs − startMs; NaN while running. */
  readonly durationMs: number;
}

/** Whole-migration summary. */
export interface MigrationSummary {
  readonly steps: readonly StepMetrics[];
  /** Steps completed. */
  readonly completedSteps: number;
  /** `migration.moves_total`: bins moved by completed installs. */
  readonly moves: number;
  /** `migration.bytes_total`. */
  readonly bytes: number;
  /** `migration.replica_bytes_total`: standby copies reloaded by completed installs. */
  readonly replicaBytes: number;
  /** `migration.replayed_total`. */
  readonly replayed: number;
  /** `migration.duration_ms`: sum of completed step durations (Megaphone's migration duration). */
  readonly durationMs: number;
  /** `migration.span_ms`: first release to last completion (includes gaps between steps); NaN if none completed. */
  readonly spanMs: number;
}

interface MutableStep {
  step: number;
  epoch: number;
  moves: number;
  installed: number;
  bytes: number;
  replicaBytes: number;
  replayed: number;
  startMs: number;
  endMs: number;
}

/**
 * Accumulates migration measurements as the coordinator releases and completes steps. Invariant:
 * a step's `endMs` is set once, when `stepCompleted` is called; totals count completed installs only.
 */
export class MigrationMetrics {
  private readonly byStep = new Map<number, MutableStep>();

  /** A step was released at `nowMs` with `moves` moves, effective at `epoch`. */
  stepStarted(step: number, epoch: number, moves: number, nowMs: number): void {
    this.byStep.set(step, { step, epoch, moves, installed: 0, bytes: 0, replicaBytes: 0, replayed: 0, startMs: nowMs, endMs: NaN });
  }

  /** One move of `step` was installed at its destination (`replicaBytes`: the standby copy it reloaded, if any). */
  moveInstalled(step: number, bytes: number, replayed: number, replicaBytes = 0): void {
    const s = this.byStep.get(step);
    if (s === undefined) return;
    s.installed++;
    s.bytes += bytes;
    s.replicaBytes += replicaBytes;
    s.replayed += replayed;
  }

  /** The last install of `step` was acked at `nowMs`. */
  stepCompleted(step: number, nowMs: number): void {
    const s = this.byStep.get(step);
    if (s !== undefined && Number.isNaN(s.endMs)) s.endMs = nowMs;
  }

  /** A snapshot of the measurements, steps in index order. */
  summary(): MigrationSummary {
    const steps = [...this.byStep.values()]
      .sort((a, b) => a.step - b.step)
      .map(
        (s): StepMetrics => ({
          step: s.step,
          epoch: s.epoch,
          moves: s.moves,
          bytes: s.bytes,
          replicaBytes: s.replicaBytes,
          replayed: s.replayed,
          startMs: s.startMs,
          endMs: s.endMs,
          durationMs: s.endMs - s.startMs,
        }),
      );
    let moves = 0;
    let bytes = 0;
    let replicaBytes = 0;
    let replayed = 0;
    let durationMs = 0;
    let first = Infinity;
    let last = -Infinity;
    let completed = 0;
    for (const s of this.byStep.values()) {
      moves += s.installed;
      bytes += s.bytes;
      replicaBytes += s.replicaBytes;
      replayed += s.replayed;
      if (!Number.isNaN(s.endMs)) {
        completed++;
        durationMs += s.endMs - s.startMs;
        first = Math.min(first, s.startMs);
        last = Math.max(last, s.endMs);
      }
    }
    return { steps, completedSteps: completed, moves, bytes, replicaBytes, replayed, durationMs, spanMs: completed > 0 ? last - first : NaN };
  }

  /** One `migration_done <end_ms> <duration_ms>` line per completed step (Megaphone's output format, in ms). */
  doneLines(): string {
    return this.summary()
      .steps.filter((s) => !Number.isNaN(s.endMs))
      .map((s) => `migration_done ${fmt(s.endMs)} ${fmt(s.durationMs)}\n`)
      .join('');
  }
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}
