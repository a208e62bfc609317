// `sas worker`: one distributed worker process; consumes its input partitions until each one ends.
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, FileNotFoundError } from '../common/errors.js';
import { STOP_EXIT_CODES, watchForStop } from '../common/lifecycle.js';
import { parseSpec, startWorker, type WorkerSummary } from '../connectors/distributed/index.js';

/** Options of `sas worker`. */
export interface WorkerCommandOptions {
  readonly index: number;
  readonly of: number;
  /** Fault injection (tests): SIGKILL itself after this many window closes, before the commit. */
  readonly crashBeforeCommitAfterWindows?: number;
  /** Fault injection (tests): SIGKILL itself at the n-th window close after its results, before its marker. */
  readonly crashBeforeMarkerAtWindow?: number;
  readonly quiet?: boolean;
}

/** Parses a non-negative integer CLI value; ConfigError names the option. */
export function intOption(v: string | number | undefined, name: string, min: number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name}: expected an integer >= ${min}, got ${v}`, { field: name, expected: `integer >= ${min}`, got: v });
  return n;
}

/**
 * Runs worker `index` of `of` for the job file written by the driver (`sas distributed`). Resolves
 * with its summary once all its partitions read their end control record; SIGTERM/SIGINT/SIGHUP and the
 * exit of its parent stop it without committing beyond the last window close (a restart resumes
 * there), exiting 143/130/129.
 */
export async function workerCommand(file: string, o: WorkerCommandOptions): Promise<WorkerSummary> {
  if (!existsSync(file)) throw new FileNotFoundError(file, 'worker job file');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not JSON: ${(e as Error).message}`, { file });
  }
  const spec = parseSpec(raw, file);
  if (o.index >= o.of) throw new ConfigError(`--index: expected an integer below --of (${o.of}), got ${o.index}`, { field: 'index', expected: `< ${o.of}`, got: o.index });
  const log = o.quiet ? undefined : (line: string) => process.stderr.write(`[worker ${o.index}/${o.of}] ${line}\n`);
  const w = await startWorker(spec, { index: o.index, of: o.of, crashBeforeCommitAfterWindows: o.crashBeforeCommitAfterWindows, crashBeforeMarkerAtWindow: o.crashBeforeMarkerAtWindow, log });
  // Signals, and the driver's death (a SIGKILLed `sas distributed` cannot stop its workers), stop the worker.
  const watch = watchForStop();
  void watch.stopped.then((reason) => w.stop().then(() => process.exit(STOP_EXIT_CODES[reason])));
  try {
    return await w.done;
  } finally {
    watch.dispose();
    await w.stop();
  }
}
