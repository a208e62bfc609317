// CSV replay (SaS §5.2 `t4sa` / `file`): `key,text` or `key,v1,v2,…` rows replayed in file order.
import { z } from 'zod';
import { ConfigError } from '../../common/errors.js';
import { CsvStore, loadCsv, type CsvData, type SkippedLine } from '../payloads/csv.js';
import type { PayloadStore, Workload } from '../types.js';

/** Parameters of the `csv` workload. */
export const csvParams = z.strictObject({
  /** The CSV file (relative to the working directory). Required. */
  path: z.string().min(1),
  /** `text` (`key,text`, default) or `values` (`key,v1,v2,…`). */
  format: z.enum(['text', 'values']).default('text'),
  /** Skip the first non-blank line as a header. Default false. */
  header: z.boolean().default(false),
  /** Reject the file at the first broken line (DataError naming file:line). Default false: skip and count. */
  strict: z.boolean().default(false),
  /** Replay from the start when the file is exhausted. Default true; false makes the workload finite. */
  loop: z.boolean().default(true),
});

/**
 * Replays the valid rows of a CSV in file order: key = the row's interned key id (first-seen order),
 * payload id = row index. Loops by default; with loop = false `fill` returns fewer records once the
 * rows are exhausted (then 0). `skipped`/`skippedCount` report broken lines.
 */
export class CsvWorkload implements Workload {
  readonly name = 'csv';
  readonly numKeys: number;
  readonly data: CsvData;
  private pos = 0;

  constructor(
    data: CsvData,
    readonly loop: boolean,
  ) {
    this.data = data;
    this.numKeys = data.numKeys;
  }

  /** Broken lines skipped while reading (at most MAX_LISTED_SKIPPED listed). */
  get skipped(): readonly SkippedLine[] {
    return this.data.skipped;
  }

  /** Number of broken lines skipped. */
  get skippedCount(): number {
    return this.data.skippedCount;
  }

  fill(keys: Int32Array, payloads: Int32Array, offset: number, n: number, _timeMs: number): number {
    const rows = this.data.rows;
    const src = this.data.keys;
    let pos = this.pos;
    let i = 0;
    for (; i < n; i++) {
      if (pos === rows) {
        if (!this.loop) break;
        pos = 0;
      }
      keys[offset + i] = src[pos];
      payloads[offset + i] = pos;
      pos++;
    }
    this.pos = pos;
    return i;
  }
}

/**
 * Creates `csv` from validated params. `payloads` must be the CsvStore of the same file (as
 * `buildPayloads` returns for a csv workload), else ConfigError.
 */
export function createCsv(params: z.infer<typeof csvParams>, payloads: PayloadStore): CsvWorkload {
  const data = loadCsv(params);
  if (!(payloads instanceof CsvStore) || payloads.data !== data) {
    throw new ConfigError('workload csv needs the payload store of the same CSV (use buildPayloads(task, workload))', {
      field: 'workload.params.path',
    });
  }
  return new CsvWorkload(data, params.loop);
}
