// `sas distributed`: the driver of a job over Kafka, with local worker processes (restarted when they crash) or external ones.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/errors.js';
import { brokersFromEnv, createKafkaClient } from '../connectors/index.js';
import { createRunTopics, makeSpec, runDistributed, type DistributedResult } from '../connectors/distributed/index.js';
import type { JobConfig } from '../engine/config.js';
import { CountingSink } from '../engine/sink.js';
import { preloadLearned } from './learned.js';
import { jsonSafe } from './output.js';

/** Options of `sas distributed`. */
export interface DistributedCommandOptions {
  /** Worker processes W to spawn locally (0 = none: print the commands and wait for external workers). Default 2. */
  readonly workers: number;
  /** Bootstrap brokers; default KAFKA_BROKERS. */
  readonly brokers?: string[];
  readonly runId?: string;
  /** Emit at the config's rate in wall time. Default true. */
  readonly pace?: boolean;
  /** Times one local worker is restarted after it crashed. Default 3. */
  readonly maxRestarts?: number;
  readonly quiet?: boolean;
}

/** Path of the compiled CLI entry (what spawned workers run). */
function cliEntry(): string {
  return fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url));
}

/**
 * Refuses what distributed mode would silently ignore: its driver generates the workload itself
 * (`source.kind: generator`) and counts the merged results (`sink.kind: count`). A Kafka source or
 * sink belongs to `sas run` (docs/kafka.md). ConfigError naming the field.
 */
export function checkDistributedConfig(cfg: Pick<JobConfig, 'source' | 'sink'>): void {
  if (cfg.source.kind !== 'generator') {
    throw new ConfigError(`source.kind: sas distributed generates the workload in its driver and takes source.kind generator, got ${cfg.source.kind}; to read records from a Kafka topic, use sas run (docs/kafka.md)`, { field: 'source.kind', expected: 'generator', got: cfg.source.kind });
  }
  if (cfg.sink.kind !== 'count') {
    throw new ConfigError(`sink.kind: sas distributed counts its final results and takes sink.kind count, got ${cfg.sink.kind}; to write results to a Kafka topic, use sas run (docs/kafka.md)`, { field: 'sink.kind', expected: 'count', got: cfg.sink.kind });
  }
}

/**
 * Creates the run's topics, writes `<output.dir>/<runId>/worker-job.json`, starts W local workers
 * (`sas worker --job … --index i --of W`, restarted up to `maxRestarts` times each when they exit
 * abnormally), runs the driver, and writes `summary.json` and `metrics.jsonl` next to the job file.
 * The config is checked first (`checkDistributedConfig`), before any broker is contacted.
 */
export async function distributedCommand(cfg: JobConfig, o: DistributedCommandOptions): Promise<{ result: DistributedResult; dir: string; text: string }> {
  checkDistributedConfig(cfg);
  const brokers = o.brokers ?? brokersFromEnv();
  if (!brokers || brokers.length === 0) throw new ConfigError('--brokers: no Kafka brokers given (use --brokers host:port or set KAFKA_BROKERS)', { field: 'brokers', expected: 'host:port' });
  await preloadLearned(cfg); // learned partitioners load their policy before the job is built (as in `sas run`)
  const spec = makeSpec(cfg, { brokers, runId: o.runId });
  const dir = join(cfg.output.dir, `distributed-${spec.runId}`);
  mkdirSync(dir, { recursive: true });
  const jobFile = join(dir, 'worker-job.json');
  writeFileSync(jobFile, JSON.stringify(spec, null, 2) + '\n');
  const say = (s: string): void => {
    if (!o.quiet) process.stderr.write(s + '\n');
  };
  await createRunTopics(createKafkaClient({ brokers, logLevel: 'nothing' }), spec);

  const children = new Set<ChildProcess>();
  let stopping = false;
  const joined = new Set<number>();
  let onJoin: (() => void) | null = null;
  const startChild = (i: number, restarts: number): void => {
    const args = [...process.execArgv, cliEntry(), 'worker', '--job', jobFile, '--index', String(i), '--of', String(o.workers)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    // Worker progress goes to our stderr (unless quiet); its join line tells us it consumes.
    let pending = '';
    child.stderr!.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.includes('joined group')) {
          joined.add(i);
          onJoin?.();
        }
        if (!o.quiet || line.includes('error')) process.stderr.write(line + '\n');
      }
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (stopping || code === 0) return;
      if (restarts >= (o.maxRestarts ?? 3)) {
        say(`worker ${i} exited (${signal ?? code}); not restarted (${restarts} restarts)`);
        return;
      }
      say(`worker ${i} exited (${signal ?? code}); restarting it`);
      startChild(i, restarts + 1);
    });
  };
  if (o.workers > 0) {
    for (let i = 0; i < o.workers; i++) startChild(i, 0);
    // Produce once every local worker consumes, so start-up does not count as latency (at most 60 s).
    const deadline = Date.now() + 60_000;
    while (joined.size < o.workers && Date.now() < deadline) {
      await new Promise<void>((res) => {
        onJoin = res;
        setTimeout(res, 250);
      });
    }
    onJoin = null;
    if (joined.size < o.workers) say(`only ${joined.size} of ${o.workers} workers joined after 60 s; starting anyway`);
  } else say(`start the workers, e.g. W of them: sas worker --job ${jobFile} --index <i> --of <W>`);

  const metrics: string[] = [];
  try {
    const result = await runDistributed(cfg, spec, {
      sink: new CountingSink(),
      pace: o.pace,
      onSlide: (r) => metrics.push(JSON.stringify(r, jsonSafe)),
      onWindow: o.quiet ? undefined : (ws, n) => say(`window ${ws}: ${n} results`),
    });
    writeFileSync(join(dir, 'metrics.jsonl'), metrics.join('\n') + (metrics.length ? '\n' : ''));
    const { reports: _r, ...summary } = result;
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ ...summary, slides: result.reports.length, config: cfg }, jsonSafe, 2) + '\n');
    const rps = result.records / (result.wallMs / 1000);
    const text = [
      `distributed run ${spec.runId}: P=${spec.partitions}, ${o.workers} local worker process(es)`,
      `records ${result.records}, windows ${result.windows}, results ${result.results} (merged ${result.merged}), duplicates dropped ${result.duplicates}`,
      `skipped input messages: ${JSON.stringify(result.skipped)}`,
      `wall ${(result.wallMs / 1000).toFixed(1)} s, ${rps.toFixed(0)} records/s end to end`,
      `results: ${dir}`,
    ].join('\n');
    return { result, dir, text };
  } finally {
    // Workers exit by themselves after the end control record; stop stragglers.
    stopping = true;
    const deadline = Date.now() + 15_000;
    while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const c of children) c.kill('SIGTERM');
  }
}
