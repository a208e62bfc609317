// Task and workload registries: names, UnknownNameError, field-naming ConfigErrors, documented defaults.
import { describe, expect, it } from 'vitest';
import { ConfigError, UnknownNameError } from '../../src/common/errors.js';
import { buildPayloads, createTask, createWorkload, EmptyStore, parseTaskParams, parseWorkloadParams, taskNames, workloadNames } from '../../src/tasks/index.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('task registry', () => {
  it('lists the tasks', () => {
    expect(taskNames()).toEqual(['wordcount', 'tdigest', 'keyedcount']);
  });
  it('an unknown task is an UnknownNameError listing the valid names', () => {
    const e = caught(() => createTask({ name: 'wordcnt' }, new EmptyStore())) as UnknownNameError;
    expect(e).toBeInstanceOf(UnknownNameError);
    expect(e.code).toBe('UNKNOWN_NAME');
    expect(e.context).toMatchObject({ kind: 'task', name: 'wordcnt', valid: taskNames(), field: 'task.name' });
    expect(() => buildPayloads({ name: 'nope' }, { name: 'zipf' })).toThrow(UnknownNameError);
  });
  it('bad or unknown params are ConfigErrors naming the field', () => {
    const e = caught(() => createTask({ name: 'keyedcount', params: { multiplier: 0 } }, new EmptyStore())) as ConfigError;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.context.field).toBe('task.params.multiplier');
    expect(caught(() => createTask({ name: 'keyedcount', params: { multipler: 2 } }, new EmptyStore()))).toMatchObject({ code: 'CONFIG_INVALID' });
  });
  it('fills documented defaults', () => {
    expect(parseTaskParams({ name: 'wordcount' })).toEqual({ multiplier: 1, corpus: 'alice', maxWordsPerLine: 10 });
    expect(parseTaskParams({ name: 'tdigest' })).toEqual({ multiplier: 1, valuesPerRecord: 100, valueSeed: 7, distribution: 'uniform', compression: 100 });
    expect(parseTaskParams({ name: 'keyedcount' })).toEqual({ multiplier: 1 });
  });
});

describe('workload registry', () => {
  it('lists the workloads', () => {
    expect(workloadNames()).toEqual(['zipf', 'uniform', 'zipf-sequence', 'drifting-key', 'csv']);
  });
  it('an unknown workload is an UnknownNameError listing the valid names', () => {
    const e = caught(() => createWorkload({ name: 'zipfian' }, new EmptyStore())) as UnknownNameError;
    expect(e).toBeInstanceOf(UnknownNameError);
    expect(e.context).toMatchObject({ kind: 'workload', valid: workloadNames(), field: 'workload.name' });
  });
  it('bad params are ConfigErrors naming the field', () => {
    const e = caught(() => createWorkload({ name: 'zipf', params: { numKeys: -1 } }, new EmptyStore())) as ConfigError;
    expect(e.context.field).toBe('workload.params.numKeys');
    expect(() => createWorkload({ name: 'drifting-key', params: { lowBand: [0.03, 0.01] } }, new EmptyStore())).toThrow(ConfigError);
    expect(() => createWorkload({ name: 'csv' }, new EmptyStore())).toThrow(expect.objectContaining({ context: expect.objectContaining({ field: 'workload.params.path' }) }));
  });
  it('fills documented defaults', () => {
    expect(parseWorkloadParams({ name: 'zipf' })).toEqual({ numKeys: 100_000, exponent: 1.5, seed: 1, shuffleKeys: true, preload: false });
    expect(parseWorkloadParams({ name: 'uniform' })).toEqual({ numKeys: 100_000, seed: 1 });
    expect(parseWorkloadParams({ name: 'zipf-sequence' })).toEqual({
      numKeysSequence: [100_000],
      exponentSequence: [1.0, 1.5],
      shiftIntervalMs: 60_000,
      seed: 1,
      shuffleKeys: true,
    });
    expect(parseWorkloadParams({ name: 'drifting-key' })).toEqual({
      numKeys: 100_000,
      exponent: 1.5,
      shiftIntervalMs: 60_000,
      lowBand: [0.001, 0.0155],
      highBand: [0.0155, 0.03],
      startHigh: false,
      seed: 1,
      shuffleKeys: true,
    });
    expect(parseWorkloadParams({ name: 'csv', params: { path: 'x.csv' } })).toEqual({ path: 'x.csv', format: 'text', header: false, strict: false, loop: true });
  });
});
