// Long-running commands stop on SIGINT, SIGTERM, SIGHUP or their parent's exit, so none outlives the npx or shell that started it.

/** Why a long-running command stopped. */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'parent_exit';

/**
 * Exit code per stop reason: 128 + the signal number (the shell convention), and a parent's exit as a
 * hang-up (129), since that is what losing the parent means.
 */
export const STOP_EXIT_CODES: Readonly<Record<StopReason, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129, parent_exit: 129 };

/** A running watch: `stopped` resolves once with the first reason; `dispose` removes every handler and the timer. */
export interface StopWatch {
  readonly stopped: Promise<StopReason>;
  dispose(): void;
}

/** Options of `watchForStop`. */
export interface StopWatchOptions {
  /** How often process.ppid is compared with its value at the start, ms. Default 1000 (our choice). */
  readonly pollMs?: number;
}

/**
 * Resolves `stopped` on the first SIGINT, SIGTERM or SIGHUP, or when the parent process exits
 * (process.ppid changes: the process was re-parented). The latter is what happens to `node bin/sas` under
 * `npx sas`: npx runs `sh -c sas …`, forwards a SIGTERM to the shell, and the shell dies without passing
 * it on. The handlers are removed once a reason arrives, so a second Ctrl-C kills at once. The poll
 * timer is unref'd: the watch alone never keeps the process alive.
 */
export function watchForStop(opts: StopWatchOptions = {}): StopWatch {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const parent = process.ppid;
  let done = false;
  let resolve: (r: StopReason) => void = () => undefined;
  const stopped = new Promise<StopReason>((r) => (resolve = r));
  const handlers = signals.map((s) => [s, () => finish(s)] as const);
  const timer = setInterval(() => {
    if (process.ppid !== parent) finish('parent_exit');
  }, opts.pollMs ?? 1000);
  timer.unref();
  const dispose = (): void => {
    clearInterval(timer);
    for (const [s, h] of handlers) process.off(s, h);
  };
  function finish(r: StopReason): void {
    if (done) return;
    done = true;
    dispose();
    resolve(r);
  }
  for (const [s, h] of handlers) process.on(s, h);
  return { stopped, dispose };
}
