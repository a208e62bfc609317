// Writing a run's results atomically: a temp folder renamed into place at the end, removed on failure.
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { SlideReport } from '../common/metrics.js';

/** Replaces NaN/±Infinity with null so that JSON stays valid and explicit. */
export function jsonSafe(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

/**
 * A results folder under construction. Files go to `<dir>/.<name>.partial-<pid>`; `commit()` renames
 * it to `<dir>/<name>`; `abort()` deletes it, so a failed run leaves nothing half-written.
 */
export class ResultsDir {
  readonly finalPath: string;
  readonly tmpPath: string;
  private readonly streams = new Map<string, WriteStream>();

  constructor(dir: string, name: string) {
    this.finalPath = join(dir, name);
    this.tmpPath = join(dir, `.${name}.partial-${process.pid}`);
    if (existsSync(this.finalPath)) throw new Error(`results folder already exists: ${this.finalPath}`);
    mkdirSync(this.tmpPath, { recursive: true });
  }

  /** Writes a JSON file into the folder. */
  writeJson(file: string, value: unknown): void {
    writeFileSync(join(this.tmpPath, file), JSON.stringify(value, jsonSafe, 2) + '\n');
  }

  /** Appends one slide report as a JSONL line to metrics.jsonl. */
  appendSlide(r: SlideReport): void {
    this.appendLine('metrics.jsonl', r);
  }

  /** Appends one JSON line to `file` (kept open until commit). */
  appendLine(file: string, value: unknown): void {
    let st = this.streams.get(file);
    if (!st) this.streams.set(file, (st = createWriteStream(join(this.tmpPath, file))));
    st.write(JSON.stringify(value, jsonSafe) + '\n');
  }

  /** Closes files and moves the folder into place. */
  async commit(): Promise<string> {
    await this.closeStream();
    renameSync(this.tmpPath, this.finalPath);
    return this.finalPath;
  }

  /** Removes everything written. */
  async abort(): Promise<void> {
    await this.closeStream().catch(() => undefined);
    rmSync(this.tmpPath, { recursive: true, force: true });
  }

  private async closeStream(): Promise<void> {
    const all = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(all.map((s) => new Promise<void>((res, rej) => s.end((e?: Error | null) => (e ? rej(e) : res())))));
  }
}

/** A run name: `<yyyymmdd-hhmmss>-<partitioner>-<workload>`. */
export function defaultRunName(partitioner: string, workload: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${ts}-${partitioner}-${workload}`;
}
