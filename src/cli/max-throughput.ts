// `sas max-throughput`: the ramp test for one or several partitioners, with a table of results.
import { ConfigError } from '../common/errors.js';
import type { JobConfig } from '../engine/config.js';
import { buildJob } from '../engine/job.js';
import { runMaxThroughput } from '../engine/max-throughput.js';
import { createProgress } from './progress.js';
import { preloadLearned } from './learned.js';
import { formatAgent } from './summary.js';
import type { AgentRunSummary } from '../partitioners/learned/prepare.js';

/** Runs the ramp for each partitioner in `names` (all validated first) and formats the results. */
export async function maxThroughputCommand(cfg: JobConfig, names: string[], opts: { quiet?: boolean } = {}) {
  if (names.length === 0 || names.some((n) => n.trim() === '')) throw new ConfigError(`--partitioners: expected at least one partitioner name and no empty one, got ${JSON.stringify(names)}`, { field: '--partitioners', got: names });
  const cfgs = names.map((name) => ({ ...cfg, partitioner: { name, params: name === cfg.partitioner.name ? cfg.partitioner.params : {} }, output: { ...cfg.output, metrics: false } }));
  const preloaded = [];
  for (const c of cfgs) {
    preloaded.push(await preloadLearned(c)); // the learned partitioners' checkpoints and remote agents (no-op for the others)
    buildJob(c); // every name and parameter checked before anything runs
  }
  const rows: Array<{ partitioner: string; maxThroughput: number; backpressured: boolean; steps: number; lastSteps: unknown[]; agent?: AgentRunSummary }> = [];
  for (const [i, c] of cfgs.entries()) {
    const progress = createProgress(`max-throughput ${c.partitioner.name}`, opts.quiet);
    let last = 0;
    const r = await runMaxThroughput(c, {
      onSlide: (s) => {
        last = s.job.achievedRate;
        progress.update(Math.min(0.99, s.slideStartMs / c.ramp.maxDurationMs), `${Math.round(last).toLocaleString('en-US')} rec/s`);
      },
    });
    progress.stop();
    const agent = await preloaded[i].agentSummary(); // remote mode: the agent's counts over this ramp
    rows.push({ partitioner: c.partitioner.name, maxThroughput: r.maxThroughput, backpressured: r.backpressured, steps: r.steps.length, lastSteps: r.steps.slice(-3), ...(agent ? { agent } : {}) });
  }
  const w = Math.max(11, ...rows.map((r) => r.partitioner.length));
  const text = [
    `max throughput (${cfg.clock} clock, P=${cfg.workers}, ${cfg.workload.name}/${cfg.task.name})`,
    `  ${'partitioner'.padEnd(w)}  ${'records/s'.padStart(12)}  stopped by`,
    ...rows.map((r) => `  ${r.partitioner.padEnd(w)}  ${r.maxThroughput.toLocaleString('en-US').padStart(12)}  ${r.backpressured ? 'backpressure' : 'maxRate/time cap'}`),
    ...rows.flatMap((r) => (r.agent ? [`  agent of ${r.partitioner}: ${formatAgent(r.agent)}`] : [])),
  ].join('\n');
  return { text, json: rows };
}
