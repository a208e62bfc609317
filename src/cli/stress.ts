// `sas stress`: a fixed rate under distribution shifts, logging overhead, memory and idle time every slide.
import type { JobConfig } from '../engine/config.js';
import { buildJob, runJob } from '../engine/job.js';
import { defaultRunName, ResultsDir } from './output.js';
import { createProgress } from './progress.js';

/** One stress-log line (written to stress.jsonl, one per metric slide). */
export interface StressLine {
  readonly slide: number;
  readonly tMs: number;
  /** Mean route() cost in the slide. */
  readonly routeNs: number;
  /** Share of one core the partitioner used: routeNs × records / slide time. */
  readonly partitionerCpuShare: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly imbalanceBusy: number;
  /** Idle ms/s of every worker. */
  readonly idleMs: number[];
}

/** Runs `cfg` at its fixed rate and writes `stress.jsonl` plus the usual run files. */
export async function stressCommand(cfg: JobConfig, opts: { quiet?: boolean } = {}): Promise<{ dir: string; lines: StressLine[] }> {
  const job = buildJob(cfg);
  const out = new ResultsDir(cfg.output.dir, cfg.output.name ?? `stress-${defaultRunName(cfg.partitioner.name, cfg.workload.name)}`, { explicit: cfg.output.name !== undefined });
  const progress = createProgress(`stress ${cfg.partitioner.name}/${cfg.workload.name}`, opts.quiet);
  const lines: StressLine[] = [];
  try {
    out.writeJson('config.json', cfg);
    await runJob(job, {
      onSlide: (r) => {
        const mem = process.memoryUsage();
        const line: StressLine = {
          slide: r.slideIndex,
          tMs: r.slideStartMs,
          routeNs: r.partitioner.routeNs,
          partitionerCpuShare: Number.isFinite(r.partitioner.routeNs) ? (r.partitioner.routeNs * r.partitioner.records) / (r.slideMs * 1e6) : 0,
          rssBytes: mem.rss,
          heapUsedBytes: mem.heapUsed,
          targetRate: r.job.targetRate,
          achievedRate: r.job.achievedRate,
          imbalanceBusy: r.job.imbalanceBusy,
          idleMs: r.workers.map((w) => w.idleMs),
        };
        lines.push(line);
        out.appendLine('stress.jsonl', line);
        out.appendSlide(r);
      },
      onProgress: (f) => progress.update(f, lines.length ? `imbalance ${lines[lines.length - 1].imbalanceBusy.toFixed(2)}` : ''),
      shouldStop: () => out.failed, // a failed log write (disk full) ends the run early
    });
    progress.stop();
    return { dir: await out.commit(), lines };
  } catch (e) {
    progress.stop();
    await out.abort();
    throw e;
  }
}
