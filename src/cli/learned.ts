// Config files of the learned-partitioner commands (collect, train offline, train online): schemas and loader.
import type { Command } from 'commander';
import { z } from 'zod';
import { applyOverrides, readYamlFile, validateJob, type JobConfig } from '../engine/config.js';
import { ConfigError } from '../common/errors.js';
import { parseOrThrow } from '../common/validate.js';
import { SAFE_NAME } from '../common/safe-dir.js';
import type { AgentRunSummary } from '../partitioners/learned/prepare.js';

/** `collect:` section of params/collect.yaml. */
export const collectSectionSchema = z.strictObject({
  /** Dataset directory to write (replaced only if it is a dataset; a file or another folder is refused). Default data/offline/default. */
  out: z.string().min(1).default('data/offline/default'),
  /** Runs to record, seeds job.seed, job.seed+1, … (one dataset). Default 1. */
  runs: z.number().int().min(1).max(1000).default(1),
  /** Transitions per episode (done flag). Default 128 (SaS `max_steps`). */
  episodeLength: z.number().int().min(1).default(128),
  /** Fixed reward base. Default 0.6 (SaS `initial_perf`). */
  rewardBase: z.number().positive().default(0.6),
  /** Slides in the metric window. Default 1. */
  metricWindowSlides: z.number().int().min(1).max(64).default(1),
  /**
   * Logged actions are squeezed into [m, 1 − m]: m + (1 − 2m)·counts/max. Keeps them off the squashing
   * bounds, where the policy's log-density clips at atanh(1 − 1e-6) ≈ 7.25 and the many exact 1.0s
   * (every key's max) dominate behaviour cloning. Routing shares change by at most ~m. Default 0.05 (our choice; 0 = §2.8 as is).
   */
  actionMargin: z.number().min(0).max(0.25).default(0.05),
  /** Behaviour saspartitioner (residual-mode data, ours): largest per-step σ of the random actions around 0.5. Default 0.3. */
  sigma: z.number().min(0).max(2).default(0.3),
});

/** `offline` config (params/train-offline.yaml). */
export const trainOfflineSchema = z.strictObject({
  /** Agent preset the overrides apply to. Default offline-fast (docs/rl-agent.md). */
  preset: z.enum(['sac', 'offline', 'offline-fast', 'finetune']).default('offline-fast'),
  /** Gradient steps. Default: the agent config's offlineSteps. */
  steps: z.number().int().min(1).optional(),
  /** Log the losses every this many steps. Default 50. */
  progressEvery: z.number().int().min(1).default(50),
  /** Agent config overrides (rl-agent agentConfigSchema). */
  agent: z.record(z.string(), z.unknown()).default({}),
});

/** `online:` section of params/train-online.yaml. */
export const onlineSectionSchema = z.strictObject({
  /** Agent config overrides of the fine-tune preset (shape fields must match the checkpoint). */
  agent: z.record(z.string(), z.unknown()).default({}),
  /** Step budget: training iterations (slides with an agent step). Reference 500 (§2.1). */
  maxIterations: z.number().int().min(1).default(500),
  /** Stop once a slide's busy imbalance ≤ this (after minIterations). Reference 0.01 (§2.1). */
  targetImbalance: z.number().min(0).default(0.01),
  /** Do not stop on the target before this many iterations. Default 10. */
  minIterations: z.number().int().min(0).default(10),
  /** Write a checkpoint every N iterations. Reference: every 10 online iterations (§2.7). */
  checkpointEvery: z.number().int().min(1).default(10),
  /** Checkpoint directory: the final one is `<out>` (either clock), intermediate ones `<out>-iter<N>` (virtual) or `<out>-sessions/train-online` (real). Each is replaced only if it is a checkpoint. Default checkpoints/online. */
  out: z.string().min(1).default('checkpoints/online'),
});

/** Reads a YAML file with a `job:` section and one named section, applies `--set` overrides, validates both. */
export function loadSectioned<S extends z.ZodType>(file: string, section: string, schema: S, sets: readonly string[] = []): { job: JobConfig; section: z.infer<S> } {
  const raw = applyOverrides(readYamlFile(file), sets);
  for (const k of Object.keys(raw)) {
    if (k !== 'job' && k !== section) throw new ConfigError(`${file}: ${k}: unknown field (expected job and ${section})`, { file, field: k });
  }
  const job = validateJob(raw.job ?? {}, file);
  return { job, section: parseOrThrow(schema, raw[section] ?? {}, section, file) };
}

/** Reads params/train-offline.yaml (the whole file is the `offline` config). */
export function loadTrainOffline(file: string, sets: readonly string[] = []): z.infer<typeof trainOfflineSchema> {
  return parseOrThrow(trainOfflineSchema, applyOverrides(readYamlFile(file), sets), '', file);
}

/**
 * Loads and registers the checkpoint policies a `saspartitioner*` job refers to, so `sas run`/`stress`
 * use the shipped checkpoint by default, and connects the remote policy of `mode: remote` (an agent that
 * cannot be reached gives one `warning:` line on stderr and the run goes on with the initial table). A
 * checkpoint that is missing, malformed or made for another P is refused (FileNotFoundError /
 * CheckpointError naming the field: exit 2), never replaced by the uniform table. TF.js is imported only
 * for those partitioners.
 */
export async function preloadLearned(cfg: Pick<JobConfig, 'workers' | 'partitioner' | 'seed'>): Promise<PreloadedLearned> {
  if (!cfg.partitioner.name.startsWith('saspartitioner')) return NOTHING_PRELOADED;
  const { preloadLearnedPolicies, preloadedRemote } = await import('../partitioners/learned/prepare.js');
  await preloadLearnedPolicies(cfg, { onWarning: (line) => process.stderr.write(`warning: ${line}\n`) });
  const remote = preloadedRemote(cfg);
  return { agentSummary: async () => remote?.summary() };
}

/** What `preloadLearned` prepared: the remote policy's counts so far (undefined when not in remote mode). */
export interface PreloadedLearned {
  agentSummary(): Promise<AgentRunSummary | undefined>;
}
const NOTHING_PRELOADED: PreloadedLearned = { agentSummary: async () => undefined };

const collectOpt = (v: string, acc: string[]): string[] => [...acc, v];

/** The environment variable `sas train online --agent` reads the token from when `--token` is not given. */
export const AGENT_TOKEN_ENV = 'SAS_AGENT_TOKEN';

/**
 * `--agent`, `--token` (or $SAS_AGENT_TOKEN) and `--session` of `sas train online`, validated: a URL
 * that is not ws:// or wss://, a missing or short token, a bad session name, or `--token`/`--session`
 * without `--agent` is a ConfigError naming the option.
 */
export function attachOptions(o: { agent?: string; token?: string; session?: string }, env: Record<string, string | undefined>): { url: string; token: string; session?: string } | undefined {
  if (o.agent === undefined) {
    for (const f of ['token', 'session'] as const) if (o[f] !== undefined) throw new ConfigError(`--${f}: only used with --agent`, { field: `--${f}` });
    return undefined;
  }
  if (!/^wss?:\/\/[^\s/]+/.test(o.agent)) throw new ConfigError(`--agent: expected ws://host:port (what \`sas agent\` prints), got ${JSON.stringify(o.agent)}`, { field: '--agent', expected: 'ws://host:port', got: o.agent });
  const token = o.token ?? env[AGENT_TOKEN_ENV];
  if (token === undefined || token.length < 8) throw new ConfigError(`--token: the agent's token (8 or more characters) is required with --agent; give --token or set ${AGENT_TOKEN_ENV}`, { field: '--token' });
  if (o.session !== undefined && !SAFE_NAME.test(o.session)) throw new ConfigError(`--session: expected 1-64 of A-Z a-z 0-9 _ . - (not only dots), got ${JSON.stringify(o.session)}`, { field: '--session', got: o.session });
  return { url: o.agent, token, ...(o.session !== undefined ? { session: o.session } : {}) };
}

/** Adds `collect`, `train offline`, `train online` and `agent` to the program (modules load on use). */
export function addLearnedCommands(program: Command): void {
  program
    .command('collect')
    .description('record offline transitions (virtual clock) of an exploring saspartitioner (params/collect.yaml) or of dalton-offline, SaS\'s behaviour policy')
    .option('-c, --config <file>', 'collect config (job + collect sections)', 'params/collect.yaml')
    .option('-s, --set <path=value>', 'override a field, e.g. --set collect.runs=2 (repeatable)', collectOpt, [])
    .option('-o, --out <dir>', 'dataset directory (default: collect.out)')
    .option('-q, --quiet', 'no progress output')
    .action(async (o: { config: string; set: string[]; out?: string; quiet?: boolean }) => {
      const sets = [...o.set, ...(o.out ? [`collect.out=${o.out}`] : [])];
      const { job, section } = loadSectioned(o.config, 'collect', collectSectionSchema, sets);
      const { collectCommand } = await import('./collect.js');
      const m = await collectCommand(job, section, { quiet: o.quiet });
      process.stdout.write(`dataset: ${section.out} (${m.count} transitions, obs ${m.obsDim}, action ${m.actionDim})\n`);
    });
  const train = program.command('train').description('train the learned partitioner\'s agent');
  train
    .command('offline')
    .description('CQL-N on an offline dataset; writes a checkpoint')
    .option('-c, --config <file>', 'training config', 'params/train-offline.yaml')
    .option('-s, --set <path=value>', 'override a field, e.g. --set steps=100 (repeatable)', collectOpt, [])
    .requiredOption('--data <dir>', 'dataset directory (sas collect)')
    .requiredOption('--out <dir>', 'checkpoint directory to write (a new path or an existing checkpoint; anything else is refused)')
    .option('-q, --quiet', 'no progress output')
    .action(async (o: { config: string; set: string[]; data: string; out: string; quiet?: boolean }) => {
      const cfg = loadTrainOffline(o.config, o.set);
      const { trainOfflineCommand } = await import('./train.js');
      const m = await trainOfflineCommand(cfg, o.data, o.out, { quiet: o.quiet });
      process.stdout.write(`checkpoint: ${o.out} (${m.algorithm}, ${m.updates} updates, obs ${m.obsDim}, action ${m.actionDim})\n`);
    });
  train
    .command('online')
    .description('fine-tune a checkpoint while a job runs (virtual: inline; real: agent server over websockets; --agent: a separately started `sas agent`, either clock)')
    .option('-c, --config <file>', 'online config (job + online sections)', 'params/train-online.yaml')
    .option('-s, --set <path=value>', 'override a field (repeatable)', collectOpt, [])
    .option('--checkpoint <dir>', 'checkpoint to start from (default: the shipped one); with --agent it gives the mask and action mode, the agent its own weights', 'default')
    .option('--agent <url>', 'train on the `sas agent` at this ws:// URL instead of inline / an own server')
    .option('--token <token>', `the agent's token (with --agent; default: $${AGENT_TOKEN_ENV})`)
    .option('--session <name>', `session name on the agent (with --agent; default ${'train-online'})`)
    .option('--evaluate', 'inference only (no learning, no checkpoints)')
    .option('-q, --quiet', 'no progress output')
    .action(async (o: { config: string; set: string[]; checkpoint: string; agent?: string; token?: string; session?: string; evaluate?: boolean; quiet?: boolean }) => {
      const { job, section } = loadSectioned(o.config, 'online', onlineSectionSchema, o.set);
      const agent = attachOptions(o, process.env);
      const { trainOnlineCommand } = await import('./train.js');
      const r = await trainOnlineCommand(job, section, o.checkpoint, { evaluate: o.evaluate, quiet: o.quiet, ...(agent ? { agent } : {}) });
      const tail = r.imbalance.slice(-10);
      const mean = tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN;
      process.stdout.write(`${o.evaluate ? 'evaluate' : 'train online'}: ${r.iterations} iterations, stopped by ${r.stoppedBy}, mean busy imbalance of the last ${tail.length} ${o.evaluate ? '' : 'training '}slides ${mean.toFixed(4)}${r.agentUpdates !== undefined ? `, agent updates ${r.agentUpdates}` : ''}${r.checkpoint ? `, checkpoint ${r.checkpoint}` : r.agentCheckpoint ? `, agent checkpoint ${r.agentCheckpoint}` : ''}\n`);
    });
  program
    .command('agent')
    .description('serve the RL agent over websockets (127.0.0.1 by default)')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'TCP port (0 = a free one)', '49985')
    .option('--token <token>', 'shared secret, 8-1024 characters (default: random, printed)')
    .option('--checkpoint <dir>', 'checkpoint sessions start from (default | none | DIR), checked at start', 'default')
    .option('--checkpoint-dir <dir>', 'where sessions write checkpoints (<dir>/<session>)')
    .option('--evaluate', 'inference only')
    .option('--max-sessions <n>', 'sessions held at once, 1-256; a detached one gives its slot to a new one (default 8)')
    .option('--max-connections <n>', 'open connections at once; more are refused (default 64)')
    .option('--hello-timeout <ms>', 'a connection without a valid hello by then is closed (default 5000)')
    .option('--session-ttl <ms>', 'how long a disconnected named session is kept (default 600000)')
    .addHelpText('after', '\nStops on SIGINT (exit 130), SIGTERM (143), SIGHUP or the exit of its parent process (129), writing final checkpoints first.\n')
    .action(async (o: { host: string; port: string; token?: string; checkpoint: string; checkpointDir?: string; evaluate?: boolean; maxSessions?: string; maxConnections?: string; helloTimeout?: string; sessionTtl?: string }) => {
      const { agentCommand, serveUntilStopped } = await import('./agent.js');
      const { server, token } = await agentCommand(o);
      process.stdout.write(`agent listening on ${server.url}${o.token ? '' : ` token ${token}`}\n`);
      process.exit(await serveUntilStopped(server));
    });
}
