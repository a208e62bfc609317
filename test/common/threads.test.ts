// startModuleWorker: the young-generation option reaches the new thread's V8 limits.
import { describe, expect, it } from 'vitest';
import { startModuleWorker } from '../../src/common/threads.js';

function limitsOf(options: Parameters<typeof startModuleWorker>[2]): Promise<{ maxYoungGenerationSizeMb?: number }> {
  return new Promise((resolve, reject) => {
    const w = startModuleWorker(new URL('./fixtures/limits-worker.ts', import.meta.url), null, options);
    w.once('message', (m: { maxYoungGenerationSizeMb?: number }) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe('startModuleWorker', () => {
  it('youngGenerationMb sets the thread maxYoungGenerationSizeMb; without it V8 picks its own', async () => {
    const set = await limitsOf({ youngGenerationMb: 3 });
    expect(set.maxYoungGenerationSizeMb).toBe(3);
    const dflt = await limitsOf({});
    expect(dflt.maxYoungGenerationSizeMb).not.toBe(3);
  });
});
