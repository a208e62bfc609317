// `sas run`: one job from a YAML config, with progress, a summary table and results on disk.
import type { JobConfig } from '../engine/config.js';
import { buildJob, runJob, withIO } from '../engine/job.js';
import { describeKafkaRunIO, openKafkaRunIO, type KafkaRunIO, type KafkaRunIOStats } from '../connectors/run-io.js';
import type { RunResult as EngineRun } from '../engine/types.js';
import { machineInfo, summaryFromSlides, timelineFromSlides, versionInfo, type RunResult } from '../report/index.js';
import { defaultRunName, ResultsDir, type ResultsDirOptions } from './output.js';
import { createProgress } from './progress.js';
import { formatAgent, formatSummary, formatVerified } from './summary.js';
import type { AgentRunSummary } from '../partitioners/learned/prepare.js';
import { checkVerifiable, Verifier, type CorruptMode, type Verified } from './verify.js';

/** Options of one run besides the config. */
export interface RunOptions {
  readonly quiet?: boolean;
  /** Write results (default: config.output.metrics). */
  readonly write?: boolean;
  readonly repetition?: number;
  /** Opens the results' write streams (a seam for tests that make writes fail; default createWriteStream). */
  readonly createStream?: ResultsDirOptions['createStream'];
  /**
   * Compare the final results with the single-threaded reference (`sas run --verify`): keeps every
   * record and result in memory, refused above VERIFY_RECORD_LIMIT records (verify.ts).
   */
  readonly verify?: boolean;
  /** Test seam of `--verify` only (SAS_TEST_CORRUPT_RESULT): alter or drop the first result. */
  readonly corrupt?: CorruptMode;
}

/**
 * For a CSV replay that skipped broken lines: "N broken line(s) skipped: 3 (reason), 7 (reason), …"
 * (first 5 listed); undefined otherwise. `strict: true` on the workload rejects them instead.
 */
export function describeSkipped(workload: unknown): string | undefined {
  const w = workload as { skippedCount?: number; skipped?: ReadonlyArray<{ line: number; reason: string }> };
  if (!w.skippedCount) return undefined;
  const list = (w.skipped ?? []).slice(0, 5).map((s) => `${s.line} (${s.reason})`).join(', ');
  return `${w.skippedCount} broken CSV line(s) skipped: ${list}${w.skippedCount > 5 ? ', …' : ''}`;
}

/** Slides skipped at the start of the summary (warm-up): 2, or fewer on very short runs. */
export function warmupSlides(n: number): number {
  return Math.min(2, Math.floor(n / 5));
}

/**
 * The slides to summarise: those that ended while the source was still emitting (the drain after the
 * source stops would understate throughput and overstate imbalance), all of them for very short runs.
 */
export function steadySlides(res: EngineRun): EngineRun['reports'] {
  const steady = res.reports.filter((r) => r.slideStartMs + r.slideMs <= res.eventTimeMs + 1e-9);
  return steady.length > 0 ? steady : res.reports;
}

/** Mean busy ms/s of each worker over `reports`. */
export function meanBusy(reports: EngineRun['reports']): number[] {
  const P = reports[0]?.workers.length ?? 0;
  const out = new Array<number>(P).fill(0);
  for (const r of reports) for (const w of r.workers) out[w.worker] += w.busyMs / reports.length;
  return out;
}

/** "N plans, M bins moved" for the summary table. */
function describeMigrations(ms: EngineRun['migrations']): string {
  const moves = ms.reduce((a, m) => a + m.moves, 0);
  return `${ms.length} plan(s), ${moves.toLocaleString('en-US')} bin(s) moved`;
}

/**
 * `cfg` as it is written to results (config.json, summary.json, compare's results.json): the agent's
 * token (`partitioner.params.token`, remote mode) is replaced by "(redacted)", so a results folder never
 * carries the secret. Everything else is as run.
 */
export function redactSecrets(cfg: JobConfig): JobConfig {
  const params = cfg.partitioner.params as Record<string, unknown> | undefined;
  if (!params || params.token === undefined) return cfg;
  return { ...cfg, partitioner: { ...cfg.partitioner, params: { ...params, token: '(redacted)' } } };
}

/** Converts an engine run into the report's RunResult (summary, timeline, config, version, machine). */
export function toRunResult(cfg: JobConfig, res: EngineRun, startedAt: Date, id: string, repetition = 0): RunResult {
  const steady = steadySlides(res);
  const summary = summaryFromSlides(steady, { warmupSlides: warmupSlides(steady.length) });
  return {
    id,
    partitioner: cfg.partitioner.name,
    workload: { name: cfg.workload.name, params: cfg.workload.params },
    task: { name: cfg.task.name, params: cfg.task.params },
    clock: cfg.clock,
    P: cfg.workers,
    seed: cfg.seed,
    repetition,
    config: redactSecrets(cfg) as unknown as Record<string, unknown>,
    version: versionInfo(),
    machine: machineInfo(),
    startedAt: startedAt.toISOString(),
    durationMs: res.wallMs,
    summary,
    timeline: timelineFromSlides(res.reports),
  } as RunResult;
}

/**
 * The remote policy's counts of a `saspartitioner` run in remote mode (`agent` in `--json` and
 * agent.json), undefined otherwise. Imports the learned partitioner's module only for such runs (it was
 * loaded by the preload already).
 */
async function agentSummary(cfg: JobConfig, job: ReturnType<typeof buildJob>): Promise<AgentRunSummary | undefined> {
  if (cfg.partitioner.name !== 'saspartitioner' || (cfg.partitioner.params as { mode?: unknown } | undefined)?.mode !== 'remote') return undefined;
  const { remotePolicyOf } = await import('../partitioners/learned/prepare.js');
  return remotePolicyOf(job.parts.partitioner)?.summary();
}

/**
 * Runs `cfg` and writes `<output.dir>/<name>/{config.json, metrics.jsonl, summary.json}` atomically.
 * Everything is validated before the folder is created. Returns the report-model result.
 */
export async function runCommand(
  cfg: JobConfig,
  opts: RunOptions = {},
): Promise<{ result: RunResult; dir?: string; text: string; kafka?: KafkaRunIOStats; verified?: Verified; agent?: AgentRunSummary }> {
  let job = buildJob(cfg); // validates names and params, loads data files
  if (opts.verify) checkVerifiable(cfg);
  const verifier = opts.verify ? new Verifier(job, opts.corrupt) : undefined;
  if (verifier) job = withIO(job, { sink: verifier.sink() });
  const skippedNote = describeSkipped(job.parts.workload);
  if (skippedNote && !opts.quiet) process.stderr.write(`warning: ${skippedNote}\n`);
  const write = opts.write ?? cfg.output.metrics;
  const name = cfg.output.name ?? defaultRunName(cfg.partitioner.name, cfg.workload.name);
  const out = write ? new ResultsDir(cfg.output.dir, name, { explicit: cfg.output.name !== undefined, field: 'output.dir (--out)', createStream: opts.createStream }) : undefined;
  const progress = createProgress(`run ${cfg.partitioner.name}/${cfg.workload.name}`, opts.quiet);
  const startedAt = new Date();
  let io: KafkaRunIO | undefined;
  try {
    out?.writeJson('config.json', redactSecrets(cfg));
    if (cfg.source.kind === 'kafka' || cfg.sink.kind === 'kafka') {
      io = await openKafkaRunIO(cfg, job.parts.workload.numKeys);
      job = withIO(job, verifier ? { pull: io.pull, sink: verifier.sink(io.sink) } : io); // the Kafka sink's results are teed into the verifier
    }
    let last = '';
    const res = await runJob(job, {
      onSlide: (r) => {
        out?.appendSlide(r);
        last = `${Math.round(r.job.throughput).toLocaleString('en-US')} rec/s, imbalance ${r.job.imbalanceBusy.toFixed(2)}`;
      },
      onProgress: (f) => progress.update(f, last),
      shouldStop: () => out?.failed ?? false, // a failed results write (disk full) ends the run early
      ...(verifier ? { recordInput: verifier.input } : {}), // every record as the engine takes it (generated or consumed from Kafka)
    });
    progress.stop();
    out?.throwIfFailed();
    const ioStats = await io?.close();
    io = undefined;
    if (ioStats) out?.writeJson('kafka.json', ioStats);
    const result = toRunResult(cfg, res, startedAt, out?.name ?? name, opts.repetition);
    const agent = await agentSummary(cfg, job);
    if (agent) out?.writeJson('agent.json', { agent });
    const verified = verifier?.result();
    if (verified !== undefined) out?.writeJson('verify.json', { verified });
    out?.writeJson('summary.json', result);
    const wanted = out?.finalPath;
    const dir = await out?.commit();
    if (dir !== wanted && !opts.quiet) process.stderr.write(`warning: ${wanted} appeared while this run wrote its results; they are in ${dir}\n`);
    const text = formatSummary(
      `${cfg.partitioner.name} on ${cfg.workload.name} / ${cfg.task.name} (P=${cfg.workers}, ${cfg.clock} clock)`,
      result.summary,
      meanBusy(steadySlides(res).slice(warmupSlides(steadySlides(res).length))),
      {
        records: `${res.records.toLocaleString('en-US')} in ${(res.eventTimeMs / 1000).toFixed(1)} s event time, ${(res.wallMs / 1000).toFixed(1)} s wall`,
        'target rate': cfg.source.rate === 'unthrottled' ? 'unthrottled' : Array.isArray(cfg.source.rate) ? 'schedule' : `${cfg.source.rate.toLocaleString('en-US')} records/s`,
        ...(skippedNote ? { 'skipped lines': skippedNote } : {}),
        ...(ioStats ? describeKafkaRunIO(ioStats) : {}),
        ...(res.migrations.length > 0 ? { migrations: describeMigrations(res.migrations) } : {}),
        ...(agent ? { agent: formatAgent(agent) } : {}),
        ...(dir ? { results: dir } : {}),
      },
    );
    return { result, dir, text: verified === undefined ? text : `${text}\n${formatVerified(verified, res.records)}`, kafka: ioStats, verified, ...(agent ? { agent } : {}) };
  } catch (e) {
    progress.stop();
    await io?.close().catch(() => undefined);
    await out?.abort();
    throw e;
  }
}
