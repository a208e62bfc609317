// `sas train offline` (CQL-N from a dataset) and `sas train online` (fine-tune from a checkpoint while a job runs).
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { JobConfig } from '../engine/config.js';
import { buildJob, runJob } from '../engine/job.js';
import { ConfigError } from '../common/errors.js';
import { initBackend, readDataset, resolveAgentConfig, saveCheckpoint, startAgentServer, trainOffline, type CheckpointManifest, type SacAgent, type SacMetrics } from '../rl-agent/index.js';
import { prepareLearnedPartitioner } from '../partitioners/learned/prepare.js';
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
 * `progressEvery` steps.
 */
export async function trainOfflineCommand(cfg: z.infer<typeof trainOfflineSchema>, dataDir: string, outDir: string, opts: { quiet?: boolean; log?: LogFn } = {}): Promise<CheckpointManifest> {
  const log = opts.log ?? stderrLog;
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
    const man = saveCheckpoint(outDir, res.agent, { numWorkers: m.numWorkers, hotKeys: m.hotKeys, hotKeyFreqs: m.hotKeyFreqs, mask: m.mask, actionMode: m.actionMode, residualScale: m.residualScale, source: `cql-n on ${dataDir} (${m.source}), ${res.steps} steps` });
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
}

/**
 * Runs `job` (partitioner forced to saspartitioner, starting from `checkpoint`). Virtual clock: the
 * policy lives inline and learns every slide (unless `evaluate`). Real clock: starts an agent server
 * on 127.0.0.1 (free port, random token) and the partitioner talks to it over the websocket client.
 * Checkpoints every `checkpointEvery` iterations; stops at `targetImbalance` or `maxIterations`.
 */
export async function trainOnlineCommand(job: JobConfig, online: z.infer<typeof onlineSectionSchema>, checkpoint: string, opts: { evaluate?: boolean; quiet?: boolean; log?: LogFn } = {}): Promise<OnlineResult> {
  const log = opts.log ?? stderrLog;
  const dir = resolveCheckpoint(checkpoint);
  if (!dir) throw new ConfigError('--checkpoint: a checkpoint directory is required', { field: 'checkpoint' });
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
  const stopTest = (): boolean => iterations >= online.maxIterations || (iterations >= online.minIterations && imbalance.length > 0 && imbalance[imbalance.length - 1] <= online.targetImbalance);

  let server: Awaited<ReturnType<typeof startAgentServer>> | undefined;
  let cfg: JobConfig;
  if (job.clock === 'real') {
    const token = randomBytes(16).toString('hex');
    server = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      token,
      mode: opts.evaluate ? 'evaluate' : 'train',
      checkpoint: dir,
      agent: online.agent,
      checkpointDir: opts.evaluate ? undefined : online.out + '-sessions',
      checkpointEvery: online.checkpointEvery,
      maxSteps: online.maxIterations,
      targetImbalance: online.targetImbalance,
      onEvent: (e) => {
        if (e.type === 'train' && !opts.quiet && e.step % online.checkpointEvery === 0) log(`iter ${e.step} ${fmt(e.metrics)}`);
        if (e.type === 'checkpoint') log(`checkpoint ${e.path}`);
        if (e.type === 'training_stopped') log(`training stopped at step ${e.step}: ${e.reason}`);
      },
    });
    log(`agent server on ${server.url}`);
    cfg = { ...job, partitioner: { name: 'saspartitioner', params: { ...pParams, mode: 'remote', url: server.url, token } } };
  } else {
    cfg = { ...job, partitioner: { name: 'saspartitioner', params: { ...pParams, mode: 'inline', learn: !opts.evaluate } } };
  }
  let agent: SacAgent | undefined;
  const prepared = await prepareLearnedPartitioner(cfg, {
    remoteMode: opts.evaluate ? 'evaluate' : 'train',
    session: 'train-online',
    inline: {
      learn: !opts.evaluate,
      overrides: opts.evaluate ? undefined : (trainingFields as never),
      stopLearning: stopTest,
      onTrain: (m, step) => {
        if (!opts.quiet && step % online.checkpointEvery === 0) log(`iter ${step} ${fmt(m)}`);
      },
    },
  });
  agent = (prepared.policy as { agent?: SacAgent } | undefined)?.agent;
  const save = (path: string): string | undefined => {
    if (!agent || opts.evaluate) return undefined;
    const c = prepared.created();
    const hot = c ? Array.from(c.router.hotKeys).filter((k) => k >= 0) : [];
    const pol = prepared.policy;
    saveCheckpoint(path, agent, { numWorkers: cfg.workers, mask: c?.mask, actionMode: c?.actionMode ?? pol?.actionMode, residualScale: c?.residualScale ?? pol?.residualScale, ...(hot.length > 0 ? { hotKeys: hot } : {}), source: `online fine-tune of ${checkpoint}, ${iterations} iterations, ${job.workload.name} ${JSON.stringify(job.workload.params)} seed ${job.seed}` });
    return path;
  };
  try {
    const built = buildJob(cfg, { partitioner: prepared.partitioner });
    await runJob(built, {
      onSlide: (r) => {
        const part = prepared.created();
        // After the stop decision the job drains: its last, partial slide is not a training slide.
        if (!part || part.steps === 0 || stoppedBy !== 'job_end') return;
        iterations = part.steps;
        imbalance.push(r.job.imbalanceBusy);
        if (!opts.evaluate && job.clock === 'virtual' && iterations % online.checkpointEvery === 0) {
          const p = save(`${online.out}-iter${iterations}`);
          if (p) log(`checkpoint ${p}`);
        }
      },
      onProgress: (f) => progress.update(Math.max(f, iterations / online.maxIterations), `iter ${iterations}, imbalance ${imbalance.length ? imbalance[imbalance.length - 1].toFixed(3) : '-'}`),
      shouldStop: () => {
        if (iterations >= online.maxIterations) stoppedBy = 'max_iterations';
        else if (iterations >= online.minIterations && imbalance.length > 0 && imbalance[imbalance.length - 1] <= online.targetImbalance) stoppedBy = 'target_imbalance';
        return stoppedBy !== 'job_end';
      },
    });
    progress.stop();
    const out = save(online.out);
    return { iterations, stoppedBy, imbalance, checkpoint: out };
  } finally {
    progress.stop();
    await prepared.close();
    await server?.close();
  }
}
