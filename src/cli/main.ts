// The `sas` command line: parses arguments, runs a command, turns errors into clear messages and exit codes.
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, SasError, USER_ERROR_CODES } from '../common/errors.js';
import { loadJobConfig } from '../engine/config.js';
import { partitionerNames } from '../partitioners/index.js';
import { taskNames, workloadNames } from '../tasks/index.js';
import { runCommand } from './run.js';
import { corruptModeFromEnv, VerifyMismatch } from './verify.js';
import { stressCommand } from './stress.js';
import { compareCommand, loadCompareConfig } from './compare.js';
import { maxThroughputCommand } from './max-throughput.js';
import { rebuildReport } from '../report/index.js';
import { distributedCommand } from './distributed.js';
import { intOption, workerCommand } from './worker.js';
import { addLearnedCommands, preloadLearned } from './learned.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/**
 * A comma-separated option (`--partitioners hash,pkg`) as its trimmed items. An empty item (`,`,
 * `hash,,pkg`, ` `) is a ConfigError naming the option: silently dropping it ran an empty comparison.
 */
export function listOption(value: string, flag: string): string[] {
  const items = value.split(',').map((x) => x.trim());
  if (items.some((x) => x === '')) {
    throw new ConfigError(`${flag}: expected a comma-separated list of names with no empty entry, got ${JSON.stringify(value)}`, { field: flag, expected: 'name[,name...]', got: value });
  }
  return items;
}

/** Exit code for an error: 2 for bad input (and command-line usage errors), 3 for a failed `--verify`, 1 for anything else. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof VerifyMismatch) return 3;
  if (e instanceof SasError) return USER_ERROR_CODES.includes(e.code) ? 2 : 1;
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  return 1;
}

/** The code printed for command-line usage errors (unknown option, bad choice, missing argument). */
const USAGE_ERROR_CODE = 'CONFIG_INVALID';

/** Builds the commander program (exported for tests). */
export function buildProgram(): Command {
  // Usage errors throw (exitOverride) instead of exiting 1, and print as `error [CONFIG_INVALID]: …`
  // naming the option; subcommands inherit both settings because they are made after these calls.
  const program = new Command('sas')
    .description('Adaptive partitioning of skewed data streams')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`error [${USAGE_ERROR_CODE}]: ${str.replace(/^error: /, '')}`) })
    .showHelpAfterError();
  program
    .command('run')
    .description('run one job from a YAML config')
    .option('-c, --config <file>', 'job config (YAML); defaults apply to every missing field')
    .option('-s, --set <path=value>', 'override a config field, e.g. --set workers=8 (repeatable)', collect, [])
    .option('-p, --partitioner <name>', `partitioner (${partitionerNames().join(', ')})`)
    .addOption(new Option('--clock <clock>', 'clock').choices(['virtual', 'real']))
    .option('-o, --out <dir>', 'results folder (default results/)')
    .option('--no-write', 'do not write results to disk')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the summary as JSON instead of a table')
    .option('--verify', 'compare the final results with the single-threaded reference; exit 3 on a difference (test-sized runs: keeps every record)')
    .action(async (o: { config?: string; set: string[]; partitioner?: string; clock?: string; out?: string; write: boolean; quiet?: boolean; json?: boolean; verify?: boolean }) => {
      const sets = [...o.set];
      if (o.partitioner) sets.push(`partitioner.name=${o.partitioner}`);
      if (o.clock) sets.push(`clock=${o.clock}`);
      if (o.out) sets.push(`output.dir=${o.out}`);
      const cfg = loadJobConfig(o.config, sets);
      await preloadLearned(cfg);
      const corrupt = o.verify ? corruptModeFromEnv(process.env.SAS_TEST_CORRUPT_RESULT) : undefined; // test-only seam (verify.ts)
      const { result, text, verified, agent } = await runCommand(cfg, { quiet: o.quiet, write: o.write, verify: o.verify, corrupt });
      process.stdout.write((o.json ? JSON.stringify({ ...result.summary, ...(agent ? { agent } : {}), ...(verified === undefined ? {} : { verified }) }, null, 2) : text) + '\n');
      if (verified !== undefined && verified !== 'exact') throw new VerifyMismatch(verified);
    });
  program
    .command('stress')
    .description('fixed rate under distribution shifts; logs partitioner overhead, memory and idle time every slide')
    .option('-c, --config <file>', 'job config', 'params/stress.yaml')
    .option('-s, --set <path=value>', 'override a config field (repeatable)', collect, [])
    .option('-p, --partitioner <name>', 'partitioner')
    .option('-q, --quiet', 'no progress output')
    .action(async (o: { config: string; set: string[]; partitioner?: string; quiet?: boolean }) => {
      const sets = [...o.set];
      if (o.partitioner) sets.push(`partitioner.name=${o.partitioner}`);
      const stressCfg = loadJobConfig(o.config, sets);
      await preloadLearned(stressCfg);
      const { dir, lines } = await stressCommand(stressCfg, { quiet: o.quiet });
      const worstIdle = lines.map((l) => Math.min(...l.idleMs));
      process.stdout.write(`stress: ${lines.length} slides; max partitioner CPU share ${Math.max(0, ...lines.map((l) => l.partitionerCpuShare)).toFixed(4)}; peak RSS ${(Math.max(...lines.map((l) => l.rssBytes)) / 2 ** 20).toFixed(0)} MiB; busiest worker idle min ${Math.min(...worstIdle).toFixed(0)} ms/s\nlog: ${dir}/stress.jsonl\n`);
    });
  program
    .command('max-throughput')
    .description('raise the input rate step by step until backpressure; report the last sustained rate')
    .option('-c, --config <file>', 'job config (YAML) with an optional ramp section')
    .option('-s, --set <path=value>', 'override a config field (repeatable)', collect, [])
    .option('-p, --partitioners <names>', 'comma-separated partitioners to test one after another (default: the config\'s)')
    .addOption(new Option('--clock <clock>', 'clock').choices(['virtual', 'real']))
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the results as JSON')
    .action(async (o: { config?: string; set: string[]; partitioners?: string; clock?: string; quiet?: boolean; json?: boolean }) => {
      const sets = [...o.set];
      if (o.clock) sets.push(`clock=${o.clock}`);
      const cfg = loadJobConfig(o.config, sets);
      const names = o.partitioners !== undefined ? listOption(o.partitioners, '--partitioners') : [cfg.partitioner.name];
      const { text, json } = await maxThroughputCommand(cfg, names, { quiet: o.quiet });
      process.stdout.write((o.json ? JSON.stringify(json, null, 2) : text) + '\n');
    });
  program
    .command('compare')
    .description('compare partitioners × workloads × tasks; write JSON/CSV results and a Markdown + HTML report')
    .option('-c, --config <file>', 'experiment file', 'params/compare.yaml')
    .option('-o, --out <dir>', 'results folder (default: the file\'s output.dir)')
    .option('-q, --quiet', 'no progress output')
    .action(async (o: { config: string; out?: string; quiet?: boolean }) => {
      const cfg = loadCompareConfig(o.config);
      if (o.out) cfg.output.dir = o.out;
      const { dir } = await compareCommand(cfg, { file: o.config, quiet: o.quiet });
      process.stdout.write(`report: ${dir}/report.md and ${dir}/report.html\n`);
    });
  program
    .command('report')
    .description('rebuild report.md, report.html and results.csv from a results folder (its results.json)')
    .argument('<dir>', 'results folder written by sas compare')
    .action(async (dir: string) => {
      await rebuildReport(dir);
      process.stdout.write(`report: ${dir}/report.md and ${dir}/report.html\n`);
    });
  program
    .command('distributed')
    .description('run a job over Kafka: this process is the source, partitioner, reducers and metrics; workers are `sas worker` processes')
    .option('-c, --config <file>', 'job config (YAML)')
    .option('-s, --set <path=value>', 'override a config field (repeatable)', collect, [])
    .option('-w, --workers <n>', 'worker processes to spawn locally (0: start them yourself)', '2')
    .option('--brokers <list>', 'Kafka bootstrap brokers, comma-separated (default: KAFKA_BROKERS)')
    .option('--run-id <id>', 'run id (names the topics and groups; default random)')
    .option('--no-pace', 'emit as fast as Kafka accepts (event times still follow the configured rate)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .action(async (o: { config?: string; set: string[]; workers: string; brokers?: string; runId?: string; pace: boolean; quiet?: boolean; json?: boolean }) => {
      const cfg = loadJobConfig(o.config, o.set);
      const brokers = o.brokers !== undefined ? listOption(o.brokers, '--brokers') : undefined;
      const { result, text } = await distributedCommand(cfg, { workers: intOption(o.workers, 'workers', 0), brokers, runId: o.runId, pace: o.pace, quiet: o.quiet });
      const { reports: _reports, ...rest } = result;
      process.stdout.write((o.json ? JSON.stringify(rest, null, 2) : text) + '\n');
    });
  program
    .command('worker')
    .description('one distributed worker process: consumes input partitions p with p mod W = i until they end')
    .requiredOption('--job <file>', 'worker job file written by `sas distributed`')
    .requiredOption('--index <i>', 'this process\'s index in [0, W)')
    .requiredOption('--of <W>', 'number of worker processes')
    .addOption(new Option('--crash-before-commit-after <n>', 'fault injection: SIGKILL itself after n window closes, before committing').hideHelp())
    .addOption(new Option('--crash-before-marker-at <n>', 'fault injection: SIGKILL itself at the n-th window close, after its results, before its marker').hideHelp())
    .option('-q, --quiet', 'no progress output')
    .action(async (o: { job: string; index: string; of: string; crashBeforeCommitAfter?: string; crashBeforeMarkerAt?: string; quiet?: boolean }) => {
      const summary = await workerCommand(o.job, {
        index: intOption(o.index, 'index', 0),
        of: intOption(o.of, 'of', 1),
        crashBeforeCommitAfterWindows: o.crashBeforeCommitAfter === undefined ? undefined : intOption(o.crashBeforeCommitAfter, 'crash-before-commit-after', 1),
        crashBeforeMarkerAtWindow: o.crashBeforeMarkerAt === undefined ? undefined : intOption(o.crashBeforeMarkerAt, 'crash-before-marker-at', 1),
        quiet: o.quiet,
      });
      process.stdout.write(JSON.stringify(summary) + '\n');
    });
  program
    .command('list')
    .description('list the registered partitioners, tasks and workloads')
    .action(() => {
      process.stdout.write(`partitioners: ${partitionerNames().join(', ')}\ntasks: ${taskNames().join(', ')}\nworkloads: ${workloadNames().join(', ')}\n`);
    });
  addLearnedCommands(program);
  return program;
}

/** Entry point: runs argv, prints `error [CODE]: message` (never a stack trace for bad input). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return exitCodeOf(e); // commander printed the message (outputError) or the help
    if (e instanceof VerifyMismatch) {
      process.stderr.write(`verify: ${e.message}\n`); // the differences are on stdout
      return exitCodeOf(e);
    }
    if (e instanceof SasError) {
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    } else {
      process.stderr.write(`error: ${(e as Error).message ?? String(e)}\n`);
      if (process.env.SAS_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    }
    return exitCodeOf(e);
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop() ?? '\0');
if (invokedDirectly) main(process.argv).then((code) => process.exit(code));
