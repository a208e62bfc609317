// `sas train offline` (CQL-N from a dataset) and `sas train online` (fine-tune from a checkpoint while a job runs).
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { JobConfig } from '../engine/config.js';
import { buildJob, runJob } from '../engine/job.js';
import { AgentUnavailableError, ConfigError } from '../common/errors.js';
import { existsSync } from 'node:fs';
import { checkReplaceable } from '../common/safe-dir.js';
import { CHECKPOINT_DIR_KIND, initBackend, loadCheckpoint, readDataset, resolveAgentConfig, saveCheckpoint, startAgentServer, trainOffline, type CheckpointJobInfo, type CheckpointManifest, type SacAgent, type SacMetrics } from '../rl-agent/index.js';
import { checkCheckpointServes, prepareLearnedPartitioner, type RemotePolicy } from '../partitioners/learned/prepare.js';
import { resolveCheckpoint } from '../partitioners/learned/paths.js';
import type { onlineSectionSchema, trainOfflineSchema } from './learned.js';
import { createProgress } from './progress.js';

/** A log line sink (stderr by default). */
export type LogFn = (line: string) => void;
const stderrLog: LogFn = (l) => process.stderr.write(l + '\n');

function fmt(m: SacMetrics): string {
  return ['critic_loss', 'actor_loss', 'alpha', 'q_mean', 'cql_loss']
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k}=${m[k].toPrecision(4)}`)
    .join(' ');
}

/**
 * Trains CQL-N on the dataset in `dataDir` (rl-agent trainOffline) and writes a checkpoint to `outDir`
 * with the dataset's P, hot keys, frequencies and mask in its manifest. Logs losses every
 * `progressEvery` steps. `outDir` is checked before anything is trained: a file, the dataset itself or
 * any folder that is not a checkpoint is refused (OutputError naming `--out`), never replaced.
 */
export async function trainOfflineCommand(cfg: z.infer<typeof trainOfflineSchema>, dataDir: string, outDir: string, opts: { quiet?: boolean; log?: LogFn } = {}): Promise<CheckpointManifest> {
  const log = opts.log ?? stderrLog;
  checkReplaceable(outDir, CHECKPOINT_DIR_KIND, { field: '--out' });
  const data = readDataset(dataDir);
  if (data.manifest.count < 1) throw new ConfigError(`--data ${dataDir}: the dataset has no transitions`, { field: 'data' });
  const backend = await initBackend();
  const config = resolveAgentConfig(cfg.preset, cfg.agent, 'agent');
  const steps = cfg.steps ?? config.offlineSteps;
  log(`train offline: ${data.manifest.count} transitions, obs ${data.manifest.obsDim}, action ${data.manifest.actionDim}, ${steps} steps, backend ${backend.name}`);
  const progress = createProgress('train offline', opts.quiet);
  try {
    const res = await trainOffline(data, config, {
      gradientSteps: steps,
      progressEvery: cfg.progressEvery,
      onProgress: (p) => {
        progress.update(p.step / p.total, fmt(p.metrics));
        if (!opts.quiet) log(`step ${p.step}/${p.total} ${fmt(p.metrics)}`);
      },
    });
    progress.stop();
    const m = data.manifest;
    const man = saveCheckpoint(outDir, res.agent, { numWorkers: m.numWorkers, hotKeys: m.hotKeys, hotKeyFreqs: m.hotKeyFreqs, mask: m.mask, actionMode: m.actionMode, residualScale: m.residualScale, source: `cql-n on ${dataDir} (${m.source}), ${res.steps} steps` }, { field: '--out' });
    res.agent.dispose();
    return man;
  } catch (e) {
    progress.stop();
    throw e;
  }
}

/** Result of an online run. */
export interface OnlineResult {
  readonly iterations: number;
  readonly stoppedBy: 'target_imbalance' | 'max_iterations' | 'job_end';
  readonly imbalance: number[];
  readonly checkpoint?: string;
  /** `--agent`: gradient steps the attached agent's session made in this run (from its checkpoint ack, else its latest action). */
  readonly agentUpdates?: number;
  /** `--agent`: the checkpoint the attached agent wrote at the end (its path on the agent's machine). */
  readonly agentCheckpoint?: string;
}

/** `sas train online --agent URL --token T [--session NAME]`: train on a separately started `sas agent`. */
export interface AttachOptions {
  readonly url: string;
  readonly token: string;
  /** Session name on the agent. Default ONLINE_SESSION. */
  readonly session?: string;
}

/** How long, after the job, `--agent` waits for the agent to answer every step before asking for its checkpoint (wall ms). */
export const ATTACH_SETTLE_MS = 30_000;

/** The session name `sas train online` opens on its agent server (real clock): `<out>-sessions/train-online`. */
export const ONLINE_SESSION = 'train-online';

/**
 * Runs `job` (partitioner forced to saspartitioner, starting from `checkpoint`). Virtual clock: the
 * policy lives inline and learns every slide (unless `evaluate`). Real clock: starts an agent server
 * on 127.0.0.1 (free port, random token) and the partitioner talks to it over the websocket client.
 * The checkpoint must serve the job (CheckpointError naming the field and P otherwise) and `online.out`
 * must be a checkpoint folder or a new path (OutputError), both checked before anything runs.
 * Checkpoints every `checkpointEvery` iterations (virtual: `<out>-iter<N>`; real: the server's
 * `<out>-sessions/train-online`); stops at `targetImbalance` (not before `minIterations`, on either
 * clock) or `maxIterations`; the final checkpoint goes to `online.out` on either clock.
 */
export async function trainOnlineCommand(job: JobConfig, online: z.infer<typeof onlineSectionSchema>, checkpoint: string, opts: { evaluate?: boolean; quiet?: boolean; log?: LogFn; agent?: AttachOptions } = {}): Promise<OnlineResult> {
  const log = opts.log ?? stderrLog;
  const dir = resolveCheckpoint(checkpoint);
  if (!dir) throw new ConfigError('--checkpoint: a checkpoint directory is required', { field: 'checkpoint' });
  checkCheckpointServes(dir, checkpoint, job.workers, '--checkpoint');
  if (!opts.evaluate) checkReplaceable(online.out, CHECKPOINT_DIR_KIND, { field: 'online.out' });
  const imbalance: number[] = [];
  let stoppedBy: OnlineResult['stoppedBy'] = 'job_end';
  let iterations = 0;
  const progress = createProgress(opts.evaluate ? 'evaluate' : 'train online', opts.quiet);
  const pParams = { ...(job.partitioner.name === 'saspartitioner' ? job.partitioner.params : {}), checkpoint: dir };
  const trainingFields = (() => {
    const c = resolveAgentConfig('finetune', online.agent, 'online.agent');
    const { hidden: _h, activation: _a, ensembleSize: _e, ...rest } = c;
    return { ...rest, ...(online.agent as object) } as Record<string, unknown>;
  })();
  // The stop rule, one copy for both clocks (the server's own rule gets the same numbers).
  const stopReason = (): OnlineResult['stoppedBy'] => {
    if (iterations >= online.maxIterations) return 'max_iterations';
    if (iterations >= online.minIterations && imbalance.length > 0 && imbalance[imbalance.length - 1] <= online.targetImbalance) return 'target_imbalance';
    return 'job_end';
  };
  const sessionsDir = `${online.out}-sessions`;
  // Real clock: the session checkpoint the server wrote in this run (a folder left by an earlier run is not ours).
  let sessionCheckpoint: string | undefined;

  let server: Awaited<ReturnType<typeof startAgentServer>> | undefined;
  let prepared: Awaited<ReturnType<typeof prepareLearnedPartitioner>> | undefined;
  try {
    let cfg: JobConfig;
    const attach = opts.agent;
    if (attach) {
      // A separately started `sas agent` (either clock): it trains with its own settings and stop rule.
      cfg = { ...job, partitioner: { name: 'saspartitioner', params: { ...pParams, mode: 'remote', url: attach.url, token: attach.token } } };
      if (Object.keys(online.agent).length > 0 && !opts.evaluate) log(`note: online.agent is not sent to an attached agent (${attach.url} trains with the settings it was started with)`);
    } else if (job.clock === 'real') {
      const token = randomBytes(16).toString('hex');
      server = await startAgentServer({
        host: '127.0.0.1',
        port: 0,
        token,
        mode: opts.evaluate ? 'evaluate' : 'train',
        checkpoint: dir,
        agent: online.agent,
        checkpointDir: opts.evaluate ? undefined : sessionsDir,
        checkpointEvery: online.checkpointEvery,
        maxSteps: online.maxIterations,
        minSteps: online.minIterations,
        targetImbalance: online.targetImbalance,
        onEvent: (e) => {
          if (e.type === 'train' && !opts.quiet && e.step % online.checkpointEvery === 0) log(`iter ${e.step} ${fmt(e.metrics)}`);
          if (e.type === 'checkpoint') {
            if (e.session === ONLINE_SESSION) sessionCheckpoint = e.path;
            log(`checkpoint ${e.path}`);
          }
          if (e.type === 'training_stopped') log(`training stopped at step ${e.step}: ${e.reason}`);
        },
      });
      log(`agent server on ${server.url}`);
      cfg = { ...job, partitioner: { name: 'saspartitioner', params: { ...pParams, mode: 'remote', url: server.url, token } } };
    } else {
      cfg = { ...job, partitioner: { name: 'saspartitioner', params: { ...pParams, mode: 'inline', learn: !opts.evaluate } } };
    }
    const prep = await prepareLearnedPartitioner(cfg, {
      remoteMode: opts.evaluate ? 'evaluate' : 'train',
      session: attach?.session ?? ONLINE_SESSION,
      onWarning: (line) => log(`warning: ${line}`),
      inline: {
        learn: !opts.evaluate,
        overrides: opts.evaluate ? undefined : (trainingFields as never),
        stopLearning: () => stopReason() !== 'job_end',
        onTrain: (m, step) => {
          if (!opts.quiet && step % online.checkpointEvery === 0) log(`iter ${step} ${fmt(m)}`);
        },
      },
    });
    prepared = prep;
    const remote = attach ? (prep.policy as RemotePolicy) : undefined;
    if (remote && !remote.client.wasConnected) throw new AgentUnavailableError(`--agent: ${attach!.url} cannot be reached, so there is nothing to train on; start \`sas agent\` there or fix --agent`, { field: '--agent', url: attach!.url });
    if (remote) log(`attached to agent ${attach!.url}, session ${remote.client.session?.session ?? '?'}${remote.client.session?.resumed ? ' (resumed)' : ''}`);
    const inlineAgent = (prep.policy as { agent?: SacAgent } | undefined)?.agent;
    // The job facts a checkpoint of this run carries (the server's session checkpoints lack the action mode).
    const jobInfo = (): CheckpointJobInfo => {
      const c = prep.created();
      const hot = c ? Array.from(c.router.hotKeys).filter((k) => k >= 0) : [];
      const pol = prep.policy;
      return { numWorkers: cfg.workers, mask: c?.mask, actionMode: c?.actionMode ?? pol?.actionMode, residualScale: c?.residualScale ?? pol?.residualScale, ...(hot.length > 0 ? { hotKeys: hot } : {}), source: `online fine-tune of ${checkpoint}, ${iterations} iterations, ${job.workload.name} ${JSON.stringify(job.workload.params)} seed ${job.seed}${job.clock === 'real' ? ', real clock' : ''}` };
    };
    const built = buildJob(cfg, { partitioner: prep.partitioner });
    await runJob(built, {
      onSlide: (r) => {
        const part = prep.created();
        // After the stop decision the job drains: its last, partial slide is not a training slide.
        if (!part || part.steps === 0 || stoppedBy !== 'job_end') return;
        iterations = part.steps;
        imbalance.push(r.job.imbalanceBusy);
        if (!opts.evaluate && inlineAgent && iterations % online.checkpointEvery === 0) {
          const p = `${online.out}-iter${iterations}`;
          saveCheckpoint(p, inlineAgent, jobInfo(), { field: 'online.out' });
          log(`checkpoint ${p}`);
        }
      },
      onProgress: (f) => progress.update(Math.max(f, iterations / online.maxIterations), `iter ${iterations}, imbalance ${imbalance.length ? imbalance[imbalance.length - 1].toFixed(3) : '-'}`),
      shouldStop: () => {
        stoppedBy = stopReason();
        return stoppedBy !== 'job_end';
      },
    });
    progress.stop();
    if (opts.evaluate) return { iterations, stoppedBy, imbalance };
    const info = jobInfo();
    if (remote) return await finishAttached(remote, online.out, info, iterations, stoppedBy, imbalance, log);
    if (inlineAgent) {
      saveCheckpoint(online.out, inlineAgent, info, { field: 'online.out' });
    } else {
      // Real clock: the trained weights live in the server's session. Closing the client and the server
      // writes its final checkpoint (when it learned anything since the last one); the session's latest
      // checkpoint of this run, else the starting one, is written to online.out with this job's facts.
      await prepared.close();
      prepared = undefined;
      await server?.close();
      server = undefined;
      const from = sessionCheckpoint ?? dir;
      const { agent } = loadCheckpoint(from);
      try {
        saveCheckpoint(online.out, agent, { ...info, source: `${info.source}${from === dir ? ', no update' : ''}` }, { field: 'online.out' });
      } finally {
        agent.dispose();
      }
    }
    log(`checkpoint ${online.out}`);
    return { iterations, stoppedBy, imbalance, checkpoint: online.out };
  } finally {
    progress.stop();
    await prepared?.close();
    await server?.close();
  }
}

/**
 * The end of `--agent` training: waits until the agent answered every step (bounded), asks it for a
 * checkpoint (`<its checkpointDir>/<session>-final`) and, when that folder is on this machine, writes it
 * to `online.out` with the job's mask, hot keys and action mode (as the real clock's own server does).
 * An agent on another machine, or one started without `--checkpoint-dir`, keeps the weights: online.out
 * is not written and the log says where they are.
 */
async function finishAttached(remote: RemotePolicy, out: string, info: CheckpointJobInfo, iterations: number, stoppedBy: OnlineResult['stoppedBy'], imbalance: number[], log: LogFn): Promise<OnlineResult> {
  const client = remote.client;
  if (!(await client.settle(ATTACH_SETTLE_MS))) log(`warning: the agent did not answer every step within ${ATTACH_SETTLE_MS} ms; its checkpoint may miss the last ones`);
  const ack = await client.requestCheckpoint('final', ATTACH_SETTLE_MS);
  const agentUpdates = ack?.updates ?? client.updates;
  log(`agent: ${agentUpdates} gradient step(s) in this session`);
  const base = { iterations, stoppedBy, imbalance, agentUpdates };
  if (!ack?.ok || !ack.path) {
    log(`warning: the agent wrote no checkpoint (${ack ? ack.message ?? 'refused' : 'no answer'}); online.out is not written (start \`sas agent\` with --checkpoint-dir)`);
    return base;
  }
  if (!existsSync(ack.path)) {
    log(`checkpoint on the agent's machine: ${ack.path} (online.out is not written)`);
    return { ...base, agentCheckpoint: ack.path };
  }
  const { agent } = loadCheckpoint(ack.path);
  try {
    saveCheckpoint(out, agent, { ...info, source: `${info.source}, agent session ${client.session?.session ?? '?'} (${ack.path})` }, { field: 'online.out' });
  } finally {
    agent.dispose();
  }
  log(`checkpoint ${out}`);
  return { ...base, checkpoint: out, agentCheckpoint: ack.path };
}
