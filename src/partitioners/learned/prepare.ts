// Async preparation of learned policies (checkpoint loading, websocket client) before a job is built.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import type { JobConfig } from '../../engine/config.js';
import { CheckpointError, ConfigError, FileNotFoundError, SasError } from '../../common/errors.js';
import { AgentClient, initBackend, loadCheckpoint, maskActionDim, readCheckpointManifest, type AgentConfig, type CheckpointManifest, type SacAgent, type SacMetrics, type StepInfo, type Mask } from '../../rl-agent/index.js';
import { parseOrThrow } from '../../common/validate.js';
import { createSasPartitioner, hotSlotsFor, policyIdOf, sasPartitionerParams, type SasPartitioner, type SasPartitionerParams } from '../saspartitioner.js';
import { adaptivePolicyId, sasAdaptiveParams } from '../saspartitioner-adaptive.js';
import type { Partitioner } from '../types.js';
import { registerPolicy, type LearnedPolicy } from './policy.js';
import { NO_CHECKPOINT, PRIOR_CHECKPOINT, resolveCheckpoint } from './paths.js';
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

/**
 * Checks, without TF.js, that checkpoint `spec` (resolved to `dir`) can serve a job of `numWorkers`
 * workers, and returns its manifest. Refused, each naming `field` and the path: a path that does not
 * exist (FileNotFoundError), a file, a folder without manifest.json or with a malformed one
 * (CheckpointError), and a checkpoint whose manifest says it was made for another P (CheckpointError
 * naming both P). A checkpoint that cannot serve the job is never replaced by the uniform table.
 */
export function checkCheckpointServes(dir: string, spec: string, numWorkers: number, field = 'partitioner.params.checkpoint'): CheckpointManifest {
  const named = spec === dir ? dir : `${spec} (${dir})`;
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new FileNotFoundError(dir, `${field}: checkpoint folder`);
  }
  if (!st.isDirectory()) throw new CheckpointError(`${field}: ${named} is a file, not a checkpoint folder (sas train offline writes one)`, { field, path: dir, got: 'file' });
  let man: CheckpointManifest;
  try {
    man = readCheckpointManifest(dir);
  } catch (e) {
    if (e instanceof FileNotFoundError) throw new CheckpointError(`${field}: ${named} holds no manifest.json, so it is not a checkpoint (sas train offline writes one)`, { field, path: dir, got: 'no manifest.json' });
    if (e instanceof SasError) throw new CheckpointError(`${field}: ${e.message}`, { ...e.context, field, path: dir });
    throw e;
  }
  if (man.numWorkers !== undefined && man.numWorkers !== numWorkers) {
    const way = field.startsWith('partitioner.') ? `set ${field} to none (uniform table) or to a checkpoint trained for P = ${numWorkers}` : `give a checkpoint trained for P = ${numWorkers}`;
    throw new CheckpointError(`${field}: checkpoint ${named} was trained for P = ${man.numWorkers}, the job has P = ${numWorkers}; ${way} (docs/learned.md, Commands)`, { field, path: dir, expected: numWorkers, got: man.numWorkers });
  }
  return man;
}

/**
 * Loads a checkpoint as an inline policy (mask from its manifest, else the Zipf heuristic for
 * `numWorkers`). The checkpoint must serve the job (`checkCheckpointServes`); a weight file that does
 * not load is a CheckpointError naming `opts.field` too.
 */
export async function loadInlinePolicy(dir: string, numWorkers: number, opts: InlinePolicyOptions & { overrides?: Partial<AgentConfig>; zipfExponent?: number; numTrueHotKeys?: number; field?: string; spec?: string } = {}): Promise<LearnedPolicy & { readonly agent: SacAgent; learning: boolean }> {
  const field = opts.field ?? 'partitioner.params.checkpoint';
  const man = checkCheckpointServes(dir, opts.spec ?? dir, numWorkers, field);
  await initBackend();
  let agent: SacAgent;
  try {
    agent = loadCheckpoint(dir, { overrides: opts.overrides }).agent;
  } catch (e) {
    if (e instanceof SasError && e.code === 'CHECKPOINT_INVALID') throw new CheckpointError(`${field}: ${e.message}`, { ...e.context, field, path: dir });
    throw e;
  }
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
 * checkpoint (`none` → uniform table; one that cannot serve the job, the shipped `default` at another
 * P included, is refused: `checkCheckpointServes`); remote: starts an AgentClient to `url` with
 * `token`, mask from the checkpoint manifest if one is readable, else the Zipf heuristic.
 */
export async function prepareLearnedPartitioner(cfg: JobConfig, opts: PrepareOptions = {}): Promise<PreparedLearned> {
  const params: SasPartitionerParams = parseOrThrow(sasPartitionerParams, cfg.partitioner.params ?? {}, 'partitioner.params');
  const P = cfg.workers;
  const dir = resolveCheckpoint(params.checkpoint);
  let policy: LearnedPolicy | undefined;
  if (params.mode === 'inline') {
    if (dir && params.checkpoint !== PRIOR_CHECKPOINT) policy = await loadInlinePolicy(dir, P, { ...opts.inline, learn: opts.inline?.learn ?? params.learn, zipfExponent: params.zipfExponent, numTrueHotKeys: params.numTrueHotKeys, spec: params.checkpoint });
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
 * Idempotent per checkpoint and P. Every checkpoint named (inline mode, learning or not) must serve a
 * job of `cfg.workers` workers: a missing path, a file, a folder without a valid manifest, weights that
 * do not load, or a checkpoint made for another P (the shipped `default` included) is refused with
 * FileNotFoundError / CheckpointError naming the field and the path, never replaced by the uniform
 * table. `none` is the uniform table.
 */
export async function preloadLearnedPolicies(cfg: Pick<JobConfig, 'workers' | 'partitioner'>): Promise<string[]> {
  const ids: string[] = [];
  const P = cfg.workers;
  const load = async (id: string | undefined, spec: string, field: string, register: boolean): Promise<void> => {
    if (spec === NO_CHECKPOINT) return;
    const dir = resolveCheckpoint(spec)!;
    checkCheckpointServes(dir, spec, P, field);
    if (!register || !id || loaded.get(id) === P) return;
    registerPolicy(id, await loadInlinePolicy(dir, P, { field, spec }));
    loaded.set(id, P);
    ids.push(id);
  };
  if (cfg.partitioner.name === 'saspartitioner') {
    const p = parseOrThrow(sasPartitionerParams, cfg.partitioner.params ?? {}, 'partitioner.params');
    if (p.mode === 'inline' && !p.policy) await load(policyIdOf(p), p.checkpoint, 'partitioner.params.checkpoint', !p.learn);
  } else if (cfg.partitioner.name === 'saspartitioner-adaptive') {
    const p = parseOrThrow(sasAdaptiveParams, cfg.partitioner.params ?? {}, 'partitioner.params');
    for (const [i, m] of p.models.entries()) await load(adaptivePolicyId(m.checkpoint), m.checkpoint, `partitioner.params.models[${i}].checkpoint`, true);
  }
  return ids;
}
/** Policy id → the P it was loaded for (a later job of another P checks and loads again). */
const loaded = new Map<string, number>();
