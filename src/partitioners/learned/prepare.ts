// Async preparation of learned policies (checkpoint loading, websocket client) before a job is built.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { CheckpointError, ConfigError, FileNotFoundError, SasError } from '../../common/errors.js';
import { ThreadedAgentClient, clientError, initBackend, loadCheckpoint, maskActionDim, readCheckpointManifest, type AgentConfig, type CheckpointManifest, type SacAgent, type SacMetrics, type StepInfo, type Mask } from '../../rl-agent/index.js';
import { parseOrThrow } from '../../common/validate.js';
import { createSasPartitioner, hotSlotsFor, policyIdOf, sasPartitionerParams, type SasPartitioner, type SasPartitionerParams } from '../saspartitioner.js';
import { adaptivePolicyId, sasAdaptiveParams } from '../saspartitioner-adaptive.js';
import type { Partitioner } from '../types.js';
import { registerPolicy, type LearnedPolicy } from './policy.js';
import { NO_CHECKPOINT, PRIOR_CHECKPOINT, resolveCheckpoint } from './paths.js';
import { maskFromFrequencies, zipfTopProbabilities } from '../../rl-agent/mask.js';

/**
 * The job facts the learned partitioner is prepared from: a structural subset of the engine's job
 * config, so that partitioners need no import of the engine (ADR 0001).
 */
export interface LearnedJobFacts {
  readonly workers: number;
  readonly seed: number;
  readonly slideMs: number;
  readonly partitioner: { readonly name: string; readonly params?: Record<string, unknown> };
}

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

/** How long a remote policy waits, before the run starts, for its first connection attempt to end (wall ms). */
export const AGENT_CONNECT_TIMEOUT_MS = 5_000;

/** Counts of a remote policy over a run: the `agent` of `sas run --json`. */
export interface AgentRunSummary {
  /** The agent's URL. */
  readonly url: string;
  /** A session with the agent was established (welcome) at some point. */
  readonly connected: boolean;
  /** Actions the partitioner took from the agent and installed at a slide boundary (at most one per slide). */
  readonly actionsApplied: number;
  /** Steps that did not reach the agent (no session, or the socket backed up); steps − sent. */
  readonly dropped: number;
  /** Policy steps: slides with a full metric window, each submitted once. */
  readonly steps: number;
  /** Actions the agent sent back (an action superseded before a slide boundary is received, not applied). */
  readonly actionsReceived: number;
  /** Gradient steps of the agent's session, from its latest action (0 for evaluate sessions). */
  readonly updates: number;
}

/** A remote policy: the partitioner's side of an agent session (ThreadedAgentClient). */
export interface RemotePolicy extends LearnedPolicy {
  readonly client: ThreadedAgentClient;
  readonly url: string;
  /** Actions returned to the partitioner so far. */
  readonly actionsApplied: number;
  /** The run's counts, once the client thread has handled every step posted (bounded by `timeoutMs`). */
  summary(timeoutMs?: number): Promise<AgentRunSummary>;
}

const remotePolicies = new WeakSet<LearnedPolicy>();

/**
 * A remote policy: every slide posts the step to the client's thread and returns the newest action the
 * agent has sent since the last one taken (the answer to an earlier step), or undefined so the table is
 * kept when the agent is slow or gone. Never waits: on the virtual clock the run goes on synchronously
 * and an action is installed at the first slide boundary after it arrived. `close` closes the client.
 */
export function remotePolicy(client: ThreadedAgentClient, mask: Mask, url: string, describe = `remote ${url}`): RemotePolicy {
  let applied = 0;
  const pol: RemotePolicy = {
    client,
    url,
    mask,
    actionDim: maskActionDim(mask),
    describe,
    get actionsApplied() {
      return applied;
    },
    step(obs: Float32Array, reward: number, info: StepInfo, done: boolean): Float32Array | undefined {
      client.submit(obs, reward, { imbalance: info.imbalance, nmad: info.nmad, perf: info.perf }, done);
      const a = client.takeAction();
      if (a) applied++;
      return a;
    },
    async summary(timeoutMs = 2_000): Promise<AgentRunSummary> {
      const st = (await client.flush(timeoutMs)) ?? client.stats;
      return { url, connected: client.wasConnected, actionsApplied: applied, dropped: client.steps - st.sent, steps: client.steps, actionsReceived: st.actions, updates: client.updates };
    },
    close: () => client.close(),
  };
  remotePolicies.add(pol);
  return pol;
}

/** The remote policy of a learned partitioner, if it has one. */
export function remotePolicyOf(p: Partitioner): RemotePolicy | undefined {
  const pol = (p as Partial<SasPartitioner>).policy;
  return pol && remotePolicies.has(pol) ? (pol as RemotePolicy) : undefined;
}

/** Options of `startRemotePolicy`. */
export interface RemoteStartOptions {
  /** Session mode sent in hello. Default evaluate. */
  readonly mode?: 'train' | 'evaluate';
  /** Session name (named sessions survive reconnects); absent = an anonymous session. */
  readonly session?: string;
  /** Receives the one warning line when the agent cannot be reached at start. Default: none. */
  readonly onWarning?: (line: string) => void;
  /** Wait for the first connection attempt, wall ms. Default AGENT_CONNECT_TIMEOUT_MS. */
  readonly connectTimeoutMs?: number;
}

/**
 * Starts a remote policy for `saspartitioner` params in remote mode (url and token): the mask and action
 * mode come from `params.checkpoint` (which must serve the job, as in inline mode; `none` = the Zipf
 * heuristic mask, direct mode), and the client connects before this resolves, waiting at most
 * `connectTimeoutMs` for the first attempt. An agent that cannot be reached (refused, timeout, full) gives
 * one warning line and the policy is returned anyway: it keeps reconnecting and routing goes on with the
 * initial table. An agent that refuses the job for good is an error before any record: a wrong token is
 * a ConfigError naming `partitioner.params.token`, a job the agent's checkpoint cannot serve a
 * CheckpointError naming `partitioner.params.checkpoint`.
 */
export async function startRemotePolicy(job: { workers: number; seed: number }, params: SasPartitionerParams, opts: RemoteStartOptions = {}): Promise<RemotePolicy> {
  const P = job.workers;
  const url = params.url!;
  let mask: Mask = maskFromFrequencies(zipfTopProbabilities(params.zipfExponent, params.numTrueHotKeys), P, { minWidth: params.maskMinWidth });
  let trained: { actionMode?: 'direct' | 'residual'; residualScale?: number } = {};
  const dir = resolveCheckpoint(params.checkpoint);
  if (dir) {
    const man = checkCheckpointServes(dir, params.checkpoint, P);
    if (man.mask) mask = man.mask;
    if (man.actionDim !== undefined) trained = { actionMode: man.actionMode ?? 'direct', residualScale: man.residualScale };
  }
  const client = new ThreadedAgentClient({
    url,
    token: params.token!,
    ...(opts.session ? { session: opts.session } : {}),
    mode: opts.mode ?? 'evaluate',
    seed: job.seed,
    job: { name: 'saspartitioner', numWorkers: P, numHotKeys: hotSlotsFor(params, mask), mask: mask.map((r) => ({ start: r.start, end: r.end })), obsDim: 2 * P, actionDim: maskActionDim(mask), episodeLength: params.episodeLength, rewardBase: params.rewardBase },
  }).start();
  const out = await client.ready(opts.connectTimeoutMs ?? AGENT_CONNECT_TIMEOUT_MS);
  if (out.state === 'refused') {
    await client.close();
    const e = out.error;
    if (e.code === 'AUTH_FAILED') throw new ConfigError(`partitioner.params.token: the agent at ${url} refused the token (${e.message})`, { field: 'partitioner.params.token', got: e.code });
    if (e.code === 'CHECKPOINT_INVALID') throw new CheckpointError(`partitioner.params.checkpoint: the agent at ${url} cannot serve this job's mask (${e.message}); give the checkpoint the agent serves, whose mask this job then uses`, { field: 'partitioner.params.checkpoint', url });
    throw clientError(e);
  }
  if (out.state !== 'connected') {
    const why = out.state === 'timeout' ? `no answer within ${opts.connectTimeoutMs ?? AGENT_CONNECT_TIMEOUT_MS} ms` : out.error.message;
    opts.onWarning?.(`agent ${url} cannot be reached (${why}); routing goes on with the initial table while the client reconnects in the background`);
  }
  return Object.assign(remotePolicy(client, mask, url), trained);
}

/** Options of `prepareLearnedPartitioner`. */
export interface PrepareOptions {
  /** Inline options (learning, callbacks). */
  readonly inline?: InlinePolicyOptions & { overrides?: Partial<AgentConfig> };
  /** Remote: session name and mode sent in hello. */
  readonly session?: string;
  readonly remoteMode?: 'train' | 'evaluate';
  /** Remote: the one warning line when the agent cannot be reached at start. */
  readonly onWarning?: (line: string) => void;
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
export async function prepareLearnedPartitioner(cfg: LearnedJobFacts, opts: PrepareOptions = {}): Promise<PreparedLearned> {
  const params: SasPartitionerParams = parseOrThrow(sasPartitionerParams, cfg.partitioner.params ?? {}, 'partitioner.params');
  const P = cfg.workers;
  const dir = resolveCheckpoint(params.checkpoint);
  let policy: LearnedPolicy | undefined;
  if (params.mode === 'inline') {
    if (dir && params.checkpoint !== PRIOR_CHECKPOINT) policy = await loadInlinePolicy(dir, P, { ...opts.inline, learn: opts.inline?.learn ?? params.learn, zipfExponent: params.zipfExponent, numTrueHotKeys: params.numTrueHotKeys, spec: params.checkpoint });
  } else {
    policy = await startRemotePolicy(cfg, params, { mode: opts.remoteMode ?? 'evaluate', session: opts.session ?? `sas-${randomBytes(4).toString('hex')}`, onWarning: opts.onWarning });
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
 * Loads and registers (registerPolicy) the policies that the partitioners named in `cfg` would look up,
 * so that the sync registry factory finds them: `saspartitioner` in inline mode without learning, every
 * checkpoint of `saspartitioner-adaptive`, and `saspartitioner` in remote mode (a remote policy connected
 * to `params.url` before this resolves: `startRemotePolicy`, evaluate session, or a named train session
 * with `learn: true`). Other partitioners: no-op. Idempotent per checkpoint and P; a remote policy is
 * reused while the params and P stay the same (`sas compare` preloads once per combination) and
 * replaced, the old one closed, when they change. Every checkpoint named must serve a job of
 * `cfg.workers` workers: a missing path, a file, a folder without a valid manifest, weights that do not
 * load, or a checkpoint made for another P (the shipped `default` included) is refused with
 * FileNotFoundError / CheckpointError naming the field and the path, never replaced by the uniform
 * table. `none` is the uniform table.
 */
export async function preloadLearnedPolicies(cfg: Pick<LearnedJobFacts, 'workers' | 'partitioner' | 'seed'>, opts: { onWarning?: (line: string) => void } = {}): Promise<string[]> {
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
    if (p.mode === 'remote' && !p.policy) {
      const id = policyIdOf(p)!;
      const key = JSON.stringify([P, cfg.seed, p]);
      const held = remotes.get(id);
      if (held?.key !== key) {
        remotes.delete(id);
        await held?.policy.close?.();
        const policy = await startRemotePolicy(cfg, p, { mode: p.learn ? 'train' : 'evaluate', ...(p.learn ? { session: `sas-run-${randomBytes(4).toString('hex')}` } : {}), onWarning: opts.onWarning });
        registerPolicy(id, policy);
        remotes.set(id, { key, policy });
      }
      ids.push(id);
    }
  } else if (cfg.partitioner.name === 'saspartitioner-adaptive') {
    const p = parseOrThrow(sasAdaptiveParams, cfg.partitioner.params ?? {}, 'partitioner.params');
    for (const [i, m] of p.models.entries()) await load(adaptivePolicyId(m.checkpoint), m.checkpoint, `partitioner.params.models[${i}].checkpoint`, true);
  }
  return ids;
}
/** Policy id → the P it was loaded for (a later job of another P checks and loads again). */
const loaded = new Map<string, number>();
/** Remote policy id → the params it was started for and the policy. */
const remotes = new Map<string, { key: string; policy: RemotePolicy }>();

/** The remote policy `preloadLearnedPolicies(cfg)` started for `cfg`'s params, if any (its counts accumulate over every run that used it). */
export function preloadedRemote(cfg: Pick<LearnedJobFacts, 'partitioner'>): RemotePolicy | undefined {
  if (cfg.partitioner.name !== 'saspartitioner') return undefined;
  const p = sasPartitionerParams.safeParse(cfg.partitioner.params ?? {});
  if (!p.success || p.data.mode !== 'remote') return undefined;
  return remotes.get(policyIdOf(p.data)!)?.policy;
}

/** Closes every remote policy `preloadLearnedPolicies` started (their sessions end; the registry entries go stale). */
export async function closePreloadedRemotes(): Promise<void> {
  const all = [...remotes.values()];
  remotes.clear();
  await Promise.all(all.map((r) => r.policy.close?.()));
}
