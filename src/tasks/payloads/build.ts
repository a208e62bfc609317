// Builds the payload store a (task, workload) pair needs, from their plain JSON specs, once per thread.
import { ConfigError } from '../../common/errors.js';
import { parseTaskParams, taskEntry } from '../registry.js';
import type { TaskSpec, WorkloadSpec } from '../specs.js';
import type { PayloadStore } from '../types.js';
import { parseWorkloadParams } from '../workloads/registry.js';
import { CsvStore, loadCsv, type CsvFormat } from './csv.js';
import { loadTextStore } from './text.js';
import { EmptyStore, GeneratedValuesStore } from './values.js';

const cache = new Map<string, PayloadStore>();

/**
 * The payload store for `taskSpec` run on `workloadSpec`, cached per thread by the relevant params:
 * - workload `csv`: the CSV's rows (payload id = row index); wordcount needs format `text`, tdigest
 *   format `values` (else ConfigError naming workload.params.format);
 * - otherwise wordcount → the text corpus (task params corpus, corpusPath, maxWordsPerLine),
 *   tdigest → generated values (valuesPerRecord, valueSeed, distribution), keyedcount → an empty store.
 * Worker threads call this with the same specs and get identical stores.
 */
export function buildPayloads(taskSpec: TaskSpec, workloadSpec: WorkloadSpec): PayloadStore {
  const entry = taskEntry(taskSpec.name);
  const tp = parseTaskParams(taskSpec);
  if (workloadSpec.name === 'csv') {
    const wp = parseWorkloadParams(workloadSpec) as { path: string; format: CsvFormat; header: boolean; strict: boolean };
    if (entry.payloads !== 'none') {
      const need: CsvFormat = entry.payloads === 'text' ? 'text' : 'values';
      if (wp.format !== need) {
        throw new ConfigError(`task ${entry.name} needs a CSV of format "${need}", got "${wp.format}"`, {
          field: 'workload.params.format',
          expected: need,
          got: wp.format,
        });
      }
    }
    const key = JSON.stringify(['csv', wp.path, wp.format, wp.header, wp.strict]);
    let store = cache.get(key);
    const data = loadCsv(wp);
    if (!store || (store as CsvStore).data !== data) {
      store = new CsvStore(data);
      cache.set(key, store);
    }
    return store;
  }
  if (entry.payloads === 'text') {
    return loadTextStore(tp as { corpus: string; corpusPath?: string; maxWordsPerLine: number });
  }
  if (entry.payloads === 'values') {
    const p = tp as { valuesPerRecord: number; valueSeed: number; distribution: 'uniform' | 'normal' };
    const key = JSON.stringify(['values', p.valuesPerRecord, p.valueSeed, p.distribution]);
    let store = cache.get(key);
    if (!store) {
      store = new GeneratedValuesStore({ valuesPerRecord: p.valuesPerRecord, seed: p.valueSeed, distribution: p.distribution });
      cache.set(key, store);
    }
    return store;
  }
  return EMPTY;
}

const EMPTY = new EmptyStore();
