// Writing a run's results atomically: a temp folder renamed into place at the end, removed on failure or a signal.
import { createWriteStream, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { finished } from 'node:stream';
import { join } from 'node:path';
import type { SlideReport } from '../common/metrics.js';
import { OutputError } from '../common/errors.js';
import { errnoOf, writeErrorOf } from '../common/files.js';
import { confinedPath } from '../common/safe-dir.js';
import { stopProgressBars } from './progress.js';

/** Replaces NaN/±Infinity with null so that JSON stays valid and explicit. */
export function jsonSafe(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

/** Options of a ResultsDir. */
export interface ResultsDirOptions {
  /**
   * The user chose the name (`output.name`): a folder of that name existing at start is an OutputError.
   * Default false: the name is generated, and a taken one becomes `<name>-2`, `<name>-3`, …
   */
  readonly explicit?: boolean;
  /** The option the folder came from, for messages. Default `output.dir`. */
  readonly field?: string;
  /** Opens a file's write stream (a seam for tests; default `createWriteStream`). */
  readonly createStream?: (path: string) => WriteStream;
}

/** Most `-<n>` suffixes tried for a free name before giving up. */
const MAX_SUFFIX = 10_000;

/** True when something (file, folder, link) is at `p`. */
function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The folders being written now, removed when the process gets SIGINT or SIGTERM. */
const open = new Set<ResultsDir>();
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

function onSignal(sig: keyof typeof SIGNAL_EXIT): void {
  const removed = [...open].map((d) => d.discard());
  stopProgressBars();
  process.stderr.write(`\nsas: interrupted by ${sig}; removed the unfinished results ${removed.join(', ')}\n`);
  process.exit(SIGNAL_EXIT[sig]);
}

function track(d: ResultsDir): void {
  if (open.size === 0) for (const sig of Object.keys(SIGNAL_EXIT) as Array<keyof typeof SIGNAL_EXIT>) process.on(sig, onSignal);
  open.add(d);
}

function untrack(d: ResultsDir): void {
  if (!open.delete(d) || open.size > 0) return;
  for (const sig of Object.keys(SIGNAL_EXIT) as Array<keyof typeof SIGNAL_EXIT>) process.off(sig, onSignal);
}

let serial = 0;

/**
 * A results folder under construction. Files go to `<dir>/.<name>.partial-<pid>-<n>`, unique to this
 * object; `commit()` renames it to `<dir>/<name>`, or to the first free `<name>-<k>` if that name was
 * taken meanwhile (so results are never lost to a name clash, and a final folder only ever appears
 * complete); `abort()` deletes it. While it is open, SIGINT and SIGTERM delete it and exit 130 / 143.
 * A failed write (disk full, …) is kept: `failed` turns true, later writes are dropped, and `commit()`
 * throws it as an OutputError naming the file.
 */
export class ResultsDir {
  /** The chosen name (may gain a `-<k>` suffix at commit if another run took it meanwhile). */
  name: string;
  /** `<dir>/<name>`: where commit() puts the folder. */
  finalPath: string;
  readonly tmpPath: string;
  private readonly dir: string;
  private readonly field: string;
  private readonly createStream: (path: string) => WriteStream;
  private readonly streams = new Map<string, WriteStream>();
  private failure: OutputError | undefined;
  private done = false;

  constructor(dir: string, name: string, opts: ResultsDirOptions = {}) {
    this.dir = dir;
    this.field = opts.field ?? 'output.dir';
    this.createStream = opts.createStream ?? ((p) => createWriteStream(p));
    const base = confinedPath(dir, name, 'output.name');
    let st;
    try {
      st = statSync(dir);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw writeErrorOf(e, dir, this.field);
    }
    if (st && !st.isDirectory()) throw new OutputError(`${this.field}: ${dir} is a file, not a folder`, { path: dir, expected: 'a folder or a new path', got: 'file', field: this.field });
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw writeErrorOf(e, dir, this.field);
    }
    if (opts.explicit) {
      if (present(base)) throw new OutputError(`output.name: results folder ${base} already exists; choose another output.name or remove it`, { path: base, expected: 'a new name', got: 'existing folder', field: 'output.name' });
      this.name = name;
    } else {
      this.name = this.freeName(name, true);
    }
    this.finalPath = join(dir, this.name);
    serial += 1;
    this.tmpPath = join(dir, `.${this.name}.partial-${process.pid}-${serial}`);
    track(this); // before the folder exists, so that a signal never finds it untracked
    try {
      mkdirSync(this.tmpPath);
    } catch (e) {
      this.done = true;
      untrack(this);
      throw writeErrorOf(e, this.tmpPath, this.field);
    }
  }

  /**
   * `name`, or the first `name-<k>` (k = 2, 3, …) with no folder; with `skipPartials`, also with no
   * unfinished folder of another ResultsDir (so two runs started in the same second pick two names).
   */
  private freeName(name: string, skipPartials: boolean): string {
    const partials = skipPartials ? readdirSync(this.dir).filter((f) => f.startsWith('.') && f.includes('.partial-')) : [];
    const busy = (n: string) => present(join(this.dir, n)) || partials.some((f) => f.startsWith(`.${n}.partial-`));
    for (let k = 1; k <= MAX_SUFFIX; k++) {
      const n = k === 1 ? name : `${name}-${k}`;
      if (!busy(n)) return n;
    }
    throw new OutputError(`${this.field}: ${this.dir} holds ${MAX_SUFFIX} folders named ${name}-<k>; choose output.name`, { path: join(this.dir, name), field: this.field });
  }

  /** True once a write failed (the run may stop early: commit() will throw). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Writes a JSON file into the folder (OutputError naming the file if the write fails). */
  writeJson(file: string, value: unknown): void {
    this.throwIfFailed();
    const p = join(this.tmpPath, file);
    try {
      writeFileSync(p, JSON.stringify(value, jsonSafe, 2) + '\n');
    } catch (e) {
      this.fail(e, p);
      this.throwIfFailed();
    }
  }

  /** Appends one slide report as a JSONL line to metrics.jsonl. */
  appendSlide(r: SlideReport): void {
    this.appendLine('metrics.jsonl', r);
  }

  /**
   * Appends one JSON line to `file` (kept open until commit). Never throws, as it runs in the engine's
   * slide callbacks: a failed write is kept for `commit()` and later lines are dropped.
   */
  appendLine(file: string, value: unknown): void {
    if (this.failure || this.done) return;
    let st = this.streams.get(file);
    if (!st) {
      const p = join(this.tmpPath, file);
      try {
        st = this.createStream(p);
      } catch (e) {
        this.fail(e, p);
        return;
      }
      st.on('error', (e) => this.fail(e, p));
      this.streams.set(file, st);
    }
    st.write(JSON.stringify(value, jsonSafe) + '\n');
  }

  /** Throws the first failed write, if any. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Closes files and moves the folder into place; returns where it went. Throws the first failed
   * write (the caller then calls `abort()`). A name taken meanwhile gets the next free `-<k>`.
   */
  async commit(): Promise<string> {
    await this.closeStreams();
    this.throwIfFailed();
    for (let k = 1; k <= MAX_SUFFIX; k++) {
      const n = k === 1 ? this.name : `${this.name}-${k}`;
      const p = join(this.dir, n);
      if (present(p)) continue; // rename(2) would replace an empty folder: never take one we did not make
      try {
        renameSync(this.tmpPath, p);
      } catch (e) {
        const errno = errnoOf(e);
        if (errno === 'ENOTEMPTY' || errno === 'EEXIST' || errno === 'ENOTDIR') continue; // taken between the check and the rename
        this.done = true;
        untrack(this); // keep the complete folder where it is: it holds the results
        throw new OutputError(`${this.field}: results are complete in ${this.tmpPath} but could not be renamed to ${p} (${errno ?? (e as Error).message}); rename it yourself`, { path: this.tmpPath, got: errno, field: this.field });
      }
      this.name = n;
      this.finalPath = p;
      this.done = true;
      untrack(this);
      return p;
    }
    this.done = true;
    untrack(this);
    throw new OutputError(`${this.field}: no free name for ${this.name} in ${this.dir}; results are complete in ${this.tmpPath}`, { path: this.tmpPath, field: this.field });
  }

  /** Removes everything written. */
  async abort(): Promise<void> {
    if (this.done) return;
    await this.closeStreams().catch(() => undefined);
    this.discard();
  }

  /** Synchronously drops the open files and removes the unfinished folder; returns its path. */
  discard(): string {
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    if (!this.done) rmSync(this.tmpPath, { recursive: true, force: true });
    this.done = true;
    untrack(this);
    return this.tmpPath;
  }

  private fail(e: unknown, path: string): void {
    if (this.failure) return;
    const err = writeErrorOf(e, path, this.field);
    this.failure = err instanceof OutputError ? err : new OutputError(`${this.field}: cannot write ${path}: ${(e as Error)?.message ?? String(e)}`, { path, field: this.field });
  }

  private async closeStreams(): Promise<void> {
    const all = [...this.streams];
    this.streams.clear();
    await Promise.all(
      all.map(
        ([file, s]) =>
          new Promise<void>((res) => {
            finished(s, (e) => {
              if (e) this.fail(e, join(this.tmpPath, file));
              res();
            });
            if (!s.destroyed) s.end();
          }),
      ),
    );
  }
}

/** A run name: `<yyyymmdd-hhmmss>-<partitioner>-<workload>`. */
export function defaultRunName(partitioner: string, workload: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${ts}-${partitioner}-${workload}`;
}
