// Async preparation of learned policies (checkpoint loading, websocket client) before a job is built.
import { randomBytes } from 'node:crypto';
import type { JobConfig } from '../../engine/config.js';
import { ConfigError } from '../../common/errors.js';
import { AgentClient, initBackend, loadCheckpoint, maskActionDim, readCheckpointManifest, type AgentConfig, type SacAgent, type SacMetrics, type StepInfo, type Mask } from '../../rl-agent/index.js';
import { parseOrThrow } from '../../common/validate.js';
import { createSasPartitioner, hotSlotsFor, policyIdOf, sasPartitionerParams, type SasPartitioner, type SasPartitionerParams } from '../saspartitioner.js';
import { adaptivePolicyId, sasAdaptiveParams } from '../saspartitioner-adaptive.js';
import type { Partitioner } from '../types.js';
import { registerPolicy, type LearnedPolicy } from './policy.js';
import { DEFAULT_CHECKPOINT, peekCheckpoint, resolveCheckpoint } from './paths.js';
import { maskFromFrequencies, zipfTopProbabilities } from '../../rl-agent/mask.js';

/** Options of an inline policy. */
export interface InlinePolicyOptions {
  /** Fine-tune online: store each transition and run the agent's gradient steps (trainingIntensity per slide). Default false. */
  readonly learn?: boolean;
  /** Called with the metrics of each slide's last gradient step. */
  readonly onTrain?: (m: SacMetrics, step: number) => void;
  /** Stop learning (act deterministically) once this returns true; checked every slide. */
  readonly stopLearning?: () => boolean;
  readonly describe?: string;
}

/**
 * An inline policy around a loaded agent: deterministic (mean) actions, or, with `learn`, sampled
 * actions plus `observe(prev obs, prev action, reward, obs, done)` each slide — synchronously, inside
 * the engine's onSlide (virtual clock: the run simply takes longer; no record waits on another thread).
 */
export function inlinePolicy(agent: SacAgent, mask: Mask, opts: InlinePolicyOptions = {}): LearnedPolicy & { readonly agent: SacAgent; learning: boolean } {
  if (maskActionDim(mask) !== agent.dims.actionDim) {
    throw new ConfigError(`checkpoint: mask size ${maskActionDim(mask)} does not match the agent's action dim ${agent.dims.actionDim}`, { field: 'checkpoint.mask' });
  }
  let prevObs: Float32Array | undefined;
  let prevAction: Float32Array | undefined;
  let steps = 0;
  const p = {
    agent,
    mask,
    actionDim: agent.dims.actionDim,
    describe: opts.describe ?? 'inline',
    learning: opts.learn ?? false,
    step(obs: Float32Array, reward: number, _info: StepInfo, done: boolean): Float32Array {
      steps++;
      if (p.learning && opts.stopLearning?.()) p.learning = false;
      const o = Float32Array.from(obs);
      if (p.learning && prevObs && prevAction) {
        const m = agent.observe({ obs: prevObs, action: prevAction, reward, nextObs: o, done });
        if (m) opts.onTrain?.(m, steps);
      }
      const a = agent.act(o, { deterministic: !p.learning });
      prevObs = done ? undefined : o;
      prevAction = done ? undefined : a;
      return a;
    },
    close(): void {
      agent.dispose();
    },
  };
  return p;
}

/** Loads a checkpoint as an inline policy (mask from its manifest, else the Zipf heuristic for `numWorkers`). */
export async function loadInlinePolicy(dir: string, numWorkers: number, opts: InlinePolicyOptions & { overrides?: Partial<AgentConfig>; zipfExponent?: number; numTrueHotKeys?: number } = {}): Promise<LearnedPolicy & { readonly agent: SacAgent; learning: boolean }> {
  await initBackend();
  const man = readCheckpointManifest(dir);
  if (man.numWorkers !== undefined && man.numWorkers !== numWorkers) {
    throw new ConfigError(`checkpoint ${dir} was trained for P = ${man.numWorkers}, the job has ${numWorkers} workers`, { field: 'partitioner.params.checkpoint', got: dir });
  }
  const { agent } = loadCheckpoint(dir, { overrides: opts.overrides });
  const mask = man.mask ?? maskFromFrequencies(zipfTopProbabilities(opts.zipfExponent ?? 1.5, opts.numTrueHotKeys ?? 10), numWorkers);
  const pol = inlinePolicy(agent, mask, { ...opts, describe: opts.describe ?? `inline ${man.algorithm} ${dir}` });
  return Object.assign(pol, { actionMode: man.actionMode ?? 'direct', residualScale: man.residualScale });
}

/**
 * A remote policy: every slide submits the step to the agent server and returns the client's latest
 * action (the answer to an earlier step), or undefined so the table is kept when the agent is slow
 * or gone. Records never wait. `close` closes the client.
 */
export function remotePolicy(client: AgentClient, mask: Mask, describe = 'remote'): LearnedPolicy & { readonly client: AgentClient } {
  let lastSeq = -1;
  return {
    client,
    mask,
    actionDim: maskActionDim(mask),
    describe,
    step(obs: Float32Array, reward: number, info: StepInfo, done: boolean): Float32Array | undefined {
      client.submit(obs, reward, { imbalance: info.imbalance, nmad: info.nmad, perf: info.perf }, done);
      const a = client.latestAction();
      if (!a || client.latestActionSeq === lastSeq) return undefined;
      lastSeq = client.latestActionSeq;
      return a;
    },
    close: () => client.close(),
  };
}

/** Options of `prepareLearnedPartitioner`. */
export interface PrepareOptions {
  /** Inline options (learning, callbacks). */
  readonly inline?: InlinePolicyOptions & { overrides?: Partial<AgentConfig> };
  /** Remote: session name and mode sent in hello. */
  readonly session?: string;
  readonly remoteMode?: 'train' | 'evaluate';
}

/** What `prepareLearnedPartitioner` returns: the buildJob override, the policy and a closer. */
export interface PreparedLearned {
  readonly partitioner: (clock: { nowMs: number }, numKeys: number) => Partitioner;
  readonly policy: LearnedPolicy | undefined;
  /** The partitioner once buildJob created it. */
  readonly created: () => SasPartitioner | undefined;
  close(): Promise<void>;
}

/**
 * Loads what `saspartitioner` needs for `cfg` (its partitioner params are validated here: ConfigError
 * names the field) and returns the `partitioner` override for `buildJob`. inline: loads the
 * checkpoint (none, or the shipped `default` for a job of another P → uniform table); remote: starts an AgentClient to `url` with `token`, mask from
 * the checkpoint manifest if one is readable, else the Zipf heuristic.
 */
export async function prepareLearnedPartitioner(cfg: JobConfig, opts: PrepareOptions = {}): Promise<PreparedLearned> {
  const params: SasPartitionerParams = parseOrThrow(sasPartitionerParams, cfg.partitioner.params ?? {}, 'partitioner.params');
  const P = cfg.workers;
  const dir = resolveCheckpoint(params.checkpoint);
  let policy: LearnedPolicy | undefined;
  if (params.mode === 'inline') {
    const shippedForOtherP = params.checkpoint === DEFAULT_CHECKPOINT && peekCheckpoint(dir)?.numWorkers !== undefined && peekCheckpoint(dir)?.numWorkers !== P;
    if (dir && !shippedForOtherP) policy = await loadInlinePolicy(dir, P, { ...opts.inline, learn: opts.inline?.learn ?? params.learn, zipfExponent: params.zipfExponent, numTrueHotKeys: params.numTrueHotKeys });
  } else {
    let mask: Mask = maskFromFrequencies(zipfTopProbabilities(params.zipfExponent, params.numTrueHotKeys), P, { minWidth: params.maskMinWidth });
    let trained: { actionMode?: 'direct' | 'residual'; residualScale?: number } = {};
    if (dir) {
      try {
        const man = readCheckpointManifest(dir);
        if (man.mask && (man.numWorkers ?? P) === P) {
          mask = man.mask;
          trained = { actionMode: man.actionMode ?? 'direct', residualScale: man.residualScale };
        }
      } catch {
        // no readable checkpoint here: the server holds the policy; keep the heuristic mask
      }
    }
    const client = new AgentClient({
      url: params.url!,
      token: params.token!,
      session: opts.session ?? `sas-${randomBytes(4).toString('hex')}`,
      mode: opts.remoteMode ?? 'evaluate',
      seed: cfg.seed,
      job: { name: 'saspartitioner', numWorkers: P, numHotKeys: hotSlotsFor(params, mask), mask: mask.map((r) => ({ start: r.start, end: r.end })), obsDim: 2 * P, actionDim: maskActionDim(mask), episodeLength: params.episodeLength, rewardBase: params.rewardBase },
    }).start();
    policy = Object.assign(remotePolicy(client, mask, `remote ${params.url}`), trained);
  }
  let created: SasPartitioner | undefined;
  return {
    policy,
    partitioner: (clock, numKeys) => {
      created = createSasPartitioner({ numWorkers: P, seed: cfg.seed, numKeys, slideMs: cfg.slideMs, clock }, params, policy);
      return created;
    },
    created: () => created,
    close: async () => {
      await policy?.close?.();
    },
  };
}

/**
 * Loads and registers (registerPolicy) the inline evaluation policies that the partitioners named
 * in `cfg` would look up, so that the sync registry factory finds them: `saspartitioner` in inline
 * mode without learning, and every checkpoint of `saspartitioner-adaptive`. Other partitioners: no-op.
 * Idempotent per checkpoint. A missing checkpoint, or the shipped `default` one for a job of another P,
 * is left unregistered (uniform table; documented); an explicit checkpoint of another P is a ConfigError.
 */
export async function preloadLearnedPolicies(cfg: Pick<JobConfig, 'workers' | 'partitioner'>): Promise<string[]> {
  const ids: string[] = [];
  const P = cfg.workers;
  const load = async (id: string | undefined, dir: string | undefined, spec: string): Promise<void> => {
    if (!id || !dir || loaded.has(id)) return;
    let man;
    try {
      man = readCheckpointManifest(dir);
    } catch {
      return;
    }
    // The shipped checkpoint only serves jobs of its P; other jobs get the uniform table. An explicit checkpoint must match.
    if (spec === DEFAULT_CHECKPOINT && man.numWorkers !== undefined && man.numWorkers !== P) return;
    registerPolicy(id, await loadInlinePolicy(dir, P));
    loaded.add(id);
    ids.push(id);
  };
  if (cfg.partitioner.name === 'saspartitioner') {
    const p = parseOrThrow(sasPartitionerParams, cfg.partitioner.params ?? {}, 'partitioner.params');
    if (p.mode === 'inline' && !p.learn && !p.policy) await load(policyIdOf(p), resolveCheckpoint(p.checkpoint), p.checkpoint);
  } else if (cfg.partitioner.name === 'saspartitioner-adaptive') {
    const p = parseOrThrow(sasAdaptiveParams, cfg.partitioner.params ?? {}, 'partitioner.params');
    for (const m of p.models) await load(adaptivePolicyId(m.checkpoint), resolveCheckpoint(m.checkpoint), m.checkpoint);
  }
  return ids;
}
const loaded = new Set<string>();
