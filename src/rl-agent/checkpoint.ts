// Agent checkpoints: a directory with one .json (topology + weight index) and one .bin per model, and manifest.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SasError, FileNotFoundError } from '../common/errors.js';
import { replaceDir, type DirKind, type ReplaceDirOptions } from '../common/safe-dir.js';
import { tf } from './backend.js';
import { agentConfigSchema, type AgentConfig } from './config.js';
import { CqlAgent } from './cql.js';
import type { Mask } from './mask.js';
import type { Mlp, MlpTopology } from './networks.js';
import { SacAgent } from './sac.js';

/** Format name and version of checkpoints; loaders reject others. */
export const CHECKPOINT_FORMAT = 'sas-agent-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** Models stored in a checkpoint, each as `<name>.json` + `<name>.bin`. */
export const CHECKPOINT_MODELS = ['actor', 'critic', 'critic_target'] as const;
type ModelName = (typeof CHECKPOINT_MODELS)[number];

const rangeSchema = z.object({ start: z.number().int().min(0), end: z.number().int().min(1) }).strict();

/** manifest.json of a checkpoint: what the agent was trained for and with what config. */
export const checkpointManifestSchema = z
  .object({
    format: z.literal(CHECKPOINT_FORMAT),
    version: z.literal(CHECKPOINT_VERSION),
    algorithm: z.enum(['sac-n', 'cql-n']),
    config: z.unknown(),
    obsDim: z.number().int().min(1),
    actionDim: z.number().int().min(1),
    numWorkers: z.number().int().min(1).optional(),
    hotKeys: z.array(z.number().int().min(0)).optional(),
    hotKeyFreqs: z.array(z.number().min(0)).optional(),
    mask: z.array(rangeSchema).optional(),
    /** How the learned partitioner turns the action into a table: `direct` (SaS, the default when absent) or `residual` (ours). */
    actionMode: z.enum(['direct', 'residual']).optional(),
    /** Residual mode's correction scale the policy was trained with. */
    residualScale: z.number().min(0).optional(),
    logAlpha: z.number(),
    updates: z.number().int().min(0),
    envSteps: z.number().int().min(0),
    createdAt: z.string(),
    /** Free-form provenance, e.g. the dataset or the job that trained it. */
    source: z.string().optional(),
  })
  .strict();

/** A validated checkpoint manifest. */
export type CheckpointManifest = z.infer<typeof checkpointManifestSchema>;

/** Job facts stored next to the weights (all optional; the learned partitioner needs mask and hot keys). */
export interface CheckpointJobInfo {
  readonly numWorkers?: number;
  readonly hotKeys?: readonly number[];
  readonly hotKeyFreqs?: readonly number[];
  readonly mask?: Mask;
  readonly source?: string;
  /** The learned partitioner's action mode (absent = `direct`, SaSPartitioner's). */
  readonly actionMode?: 'direct' | 'residual';
  readonly residualScale?: number;
}

const modelFileSchema = z
  .object({
    topology: z.object({
      inputDim: z.number().int().min(1),
      hidden: z.array(z.number().int().min(1)),
      outputDim: z.number().int().min(1),
      activation: z.enum(['tanh', 'relu']),
      members: z.number().int().min(1),
    }),
    weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().min(1)), dtype: z.literal('float32'), byteOffset: z.number().int().min(0) })),
  })
  .strict();

/** A checkpoint folder as `replaceDir` sees it: its files, and a manifest of the checkpoint format. */
export const CHECKPOINT_DIR_KIND: DirKind = {
  name: 'checkpoint',
  files: ['manifest.json', ...CHECKPOINT_MODELS.flatMap((m) => [`${m}.json`, `${m}.bin`])],
  recognize: (dir) => {
    try {
      return (JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { format?: unknown }).format === CHECKPOINT_FORMAT;
    } catch {
      return false;
    }
  },
};

function invalid(dir: string, message: string, field?: string): SasError {
  return new SasError('CHECKPOINT_INVALID', `checkpoint ${dir}: ${message}`, { context: { dir, field } });
}

function modelsOf(agent: SacAgent): Record<ModelName, Mlp> {
  return { actor: agent.actor.net, critic: agent.critic.net, critic_target: agent.criticTarget.net };
}

/**
 * Writes `agent` to directory `dir`: per model `<name>.json` (topology and, per weight, name, shape,
 * dtype, byte offset) and `<name>.bin` (little-endian float32, concatenated), then manifest.json.
 * Written into a sibling temporary directory and renamed into place (`replaceDir`), so a crash never
 * leaves a half checkpoint. An existing `dir` is replaced only when it is a checkpoint holding only a
 * checkpoint's files; a file, a dataset or any other folder is refused with OutputError. No optimizer state is stored: the reference's online
 * fine-tuning also loads only the module weights (research/saspartitioner.md §2.1).
 */
export function saveCheckpoint(dir: string, agent: SacAgent, job: CheckpointJobInfo = {}, opts: ReplaceDirOptions = {}): CheckpointManifest {
  return replaceDir(dir, CHECKPOINT_DIR_KIND, (tmp) => {
    for (const [name, mlp] of Object.entries(modelsOf(agent)) as [ModelName, Mlp][]) {
      let offset = 0;
      const weights = mlp.weights.map((w) => {
        const e = { name: w.name, shape: w.variable.shape, dtype: 'float32' as const, byteOffset: offset };
        offset += w.variable.size * 4;
        return e;
      });
      const bin = new Float32Array(offset / 4);
      mlp.weights.forEach((w, i) => bin.set(w.variable.dataSync() as Float32Array, weights[i].byteOffset / 4));
      writeFileSync(path.join(tmp, `${name}.json`), JSON.stringify({ topology: mlp.topology, weights }, null, 2) + '\n');
      writeFileSync(path.join(tmp, `${name}.bin`), new Uint8Array(bin.buffer));
    }
    const manifest: CheckpointManifest = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      algorithm: agent instanceof CqlAgent ? 'cql-n' : 'sac-n',
      config: agent.config,
      obsDim: agent.dims.obsDim,
      actionDim: agent.dims.actionDim,
      ...(job.numWorkers !== undefined ? { numWorkers: job.numWorkers } : {}),
      ...(job.hotKeys ? { hotKeys: [...job.hotKeys] } : {}),
      ...(job.hotKeyFreqs ? { hotKeyFreqs: [...job.hotKeyFreqs] } : {}),
      ...(job.mask ? { mask: job.mask.map((r) => ({ start: r.start, end: r.end })) } : {}),
      ...(job.source ? { source: job.source } : {}),
      ...(job.actionMode ? { actionMode: job.actionMode } : {}),
      ...(job.residualScale !== undefined ? { residualScale: job.residualScale } : {}),
      logAlpha: agent.logAlpha.dataSync()[0],
      updates: agent.updates,
      envSteps: agent.envSteps,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  }, opts);
}

/** Options of `loadCheckpoint`. */
export interface LoadOptions {
  /**
   * Config fields to change for the loaded agent (e.g. the fine-tune preset's τ and α lr). Shape
   * fields (hidden, activation, ensembleSize) must match the stored ones. `initialAlpha` here
   * replaces the stored α.
   */
  readonly overrides?: Partial<AgentConfig>;
  /** Build a CQL-N agent (continue offline training) instead of SAC-N (online fine-tuning). Default: SAC-N. */
  readonly algorithm?: 'sac-n' | 'cql-n';
}

/** Reads only the manifest of a checkpoint (validated; SasError CHECKPOINT_INVALID otherwise). */
export function readCheckpointManifest(dir: string): CheckpointManifest & { config: AgentConfig } {
  const manPath = path.join(dir, 'manifest.json');
  if (!existsSync(manPath)) throw new FileNotFoundError(manPath, 'checkpoint manifest');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manPath, 'utf8'));
  } catch (e) {
    throw invalid(dir, `manifest.json is not valid JSON (${(e as Error).message})`, 'manifest.json');
  }
  const m = checkpointManifestSchema.safeParse(raw);
  if (!m.success) {
    const i = m.error.issues[0];
    throw invalid(dir, `manifest.json: ${i.path.join('.') || '(root)'}: ${i.message}`, i.path.join('.'));
  }
  const c = agentConfigSchema.safeParse(m.data.config);
  if (!c.success) {
    const i = c.error.issues[0];
    throw invalid(dir, `manifest.json: config.${i.path.join('.')}: ${i.message}`, `config.${i.path.join('.')}`);
  }
  return { ...m.data, config: c.data };
}

/**
 * Loads a checkpoint into a new agent. Validates the manifest, every model's topology against the
 * config and dims, every weight's name, shape and byte range against its .bin; any mismatch is a
 * SasError with code CHECKPOINT_INVALID. The loaded agent's deterministic actions equal the saved
 * agent's bit for bit.
 */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): { agent: SacAgent; manifest: CheckpointManifest & { config: AgentConfig } } {
  const manifest = readCheckpointManifest(dir);
  const stored = manifest.config;
  const config = agentConfigSchema.parse({ ...stored, ...(opts.overrides ?? {}) });
  for (const f of ['hidden', 'activation', 'ensembleSize'] as const) {
    if (JSON.stringify(config[f]) !== JSON.stringify(stored[f])) throw invalid(dir, `override of ${f} does not match the stored models`, `config.${f}`);
  }
  const dims = { obsDim: manifest.obsDim, actionDim: manifest.actionDim };
  const algorithm = opts.algorithm ?? 'sac-n';
  const agent = algorithm === 'cql-n' ? new CqlAgent(config, dims) : new SacAgent(config, dims);
  try {
    for (const [name, mlp] of Object.entries(modelsOf(agent)) as [ModelName, Mlp][]) loadModel(dir, name, mlp);
    agent.actor.invalidate();
    const logAlpha = opts.overrides?.initialAlpha !== undefined ? Math.log(config.initialAlpha) : manifest.logAlpha;
    tf.tidy(() => agent.logAlpha.assign(tf.scalar(logAlpha)));
    agent.updates = manifest.updates;
    agent.envSteps = manifest.envSteps;
  } catch (e) {
    agent.dispose();
    throw e;
  }
  return { agent, manifest };
}

function loadModel(dir: string, name: ModelName, mlp: Mlp): void {
  const jsonPath = path.join(dir, `${name}.json`);
  const binPath = path.join(dir, `${name}.bin`);
  if (!existsSync(jsonPath) || !existsSync(binPath)) throw invalid(dir, `missing ${name}.json or ${name}.bin`, name);
  let spec: z.infer<typeof modelFileSchema>;
  try {
    spec = modelFileSchema.parse(JSON.parse(readFileSync(jsonPath, 'utf8')));
  } catch (e) {
    throw invalid(dir, `${name}.json is malformed (${(e as Error).message.split('\n')[0]})`, name);
  }
  const want: MlpTopology = mlp.topology;
  const got = spec.topology;
  if (got.inputDim !== want.inputDim || got.outputDim !== want.outputDim || got.members !== want.members || got.activation !== want.activation || JSON.stringify(got.hidden) !== JSON.stringify(want.hidden)) {
    throw invalid(dir, `${name}.json topology ${JSON.stringify(got)} does not match ${JSON.stringify(want)}`, `${name}.topology`);
  }
  const bin = readFileSync(binPath);
  if (spec.weights.length !== mlp.weights.length) throw invalid(dir, `${name}.json lists ${spec.weights.length} weights, expected ${mlp.weights.length}`, name);
  const values = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let expectedBytes = 0;
  mlp.weights.forEach((w, i) => {
    const e = spec.weights[i];
    const size = w.variable.size;
    if (e.name !== w.name || JSON.stringify(e.shape) !== JSON.stringify(w.variable.shape) || e.byteOffset % 4 !== 0 || e.byteOffset + size * 4 > bin.byteLength) {
      throw invalid(dir, `${name}.json weight ${i} (${e.name} ${JSON.stringify(e.shape)} @${e.byteOffset}) does not fit ${w.name} ${JSON.stringify(w.variable.shape)} in ${bin.byteLength} bytes`, `${name}.weights[${i}]`);
    }
    const v = values.subarray(e.byteOffset / 4, e.byteOffset / 4 + size);
    for (let j = 0; j < v.length; j++) if (!Number.isFinite(v[j])) throw invalid(dir, `${name}.bin: non-finite value in ${e.name}`, `${name}.${e.name}`);
    tf.tidy(() => w.variable.assign(tf.tensor(v, w.variable.shape)));
    expectedBytes += size * 4;
  });
  if (expectedBytes !== bin.byteLength) throw invalid(dir, `${name}.bin has ${bin.byteLength} bytes, expected ${expectedBytes}`, `${name}.bin`);
}
