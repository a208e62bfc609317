// Sinks receive final per-(window, key) results and final keyed state.

/** Where results go. `viaReducer` tells whether the key was split (merged) or forwarded. */
export interface Sink {
  /** False when the sink ignores outputs (counting only): the engine then skips building them. Default true. */
  readonly needsOutput?: boolean;
  window(windowStart: number, key: number, output: unknown, viaReducer: boolean): void;
  /** Final keyed state of a global task at the end of the job (already merged across workers). */
  finalState(key: number, output: unknown): void;
  /**
   * Resolves once every output handed over so far is durable (e.g. acknowledged by Kafka). Sinks that
   * write synchronously omit it. The engine awaits it before letting a source commit.
   */
  flush?(): Promise<void>;
  /** True while the sink holds more unflushed output than it wants: the engine then awaits `flush()`. */
  readonly backlogged?: boolean;
}

/** Counts results (the default for benchmarks and `sas run`). */
export class CountingSink implements Sink {
  readonly needsOutput = false;
  windowResults = 0;
  merged = 0;
  forwarded = 0;
  finalKeys = 0;
  window(_w: number, _k: number, _o: unknown, viaReducer: boolean): void {
    this.windowResults++;
    if (viaReducer) this.merged++;
    else this.forwarded++;
  }
  finalState(): void {
    this.finalKeys++;
  }
}

/**
 * Keeps every result, keyed by "windowStart:key" (JSON of the output), for correctness checks.
 * Throws if a (window, key) result arrives twice: duplication is a bug.
 */
export class CollectingSink implements Sink {
  readonly windows = new Map<string, unknown>();
  readonly state = new Map<number, unknown>();
  merged = 0;
  window(windowStart: number, key: number, output: unknown, viaReducer: boolean): void {
    const id = `${windowStart}:${key}`;
    if (this.windows.has(id)) throw new Error(`duplicate result for window ${windowStart} key ${key}`);
    this.windows.set(id, output);
    if (viaReducer) this.merged++;
  }
  finalState(key: number, output: unknown): void {
    if (this.state.has(key)) throw new Error(`duplicate final state for key ${key}`);
    this.state.set(key, output);
  }
}

/**
 * Hands every result to `primary` and then to `copy` (e.g. a Kafka sink and an in-process collector
 * for `sas run --verify`). Flushing and backpressure are the primary's: `flush` exists only when the
 * primary has one, `backlogged` is the primary's. Outputs are always built (the copy needs them).
 */
export class TeeSink implements Sink {
  readonly needsOutput = true;
  readonly flush?: () => Promise<void>;

  constructor(
    private readonly primary: Sink,
    private readonly copy: Sink,
  ) {
    if (primary.flush) this.flush = () => primary.flush!();
  }

  get backlogged(): boolean {
    return this.primary.backlogged ?? false;
  }

  window(windowStart: number, key: number, output: unknown, viaReducer: boolean): void {
    this.primary.window(windowStart, key, output, viaReducer);
    this.copy.window(windowStart, key, output, viaReducer);
  }

  finalState(key: number, output: unknown): void {
    this.primary.finalState(key, output);
    this.copy.finalState(key, output);
  }
}
