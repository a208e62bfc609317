// Offline transition datasets: a manifest.json plus little-endian float32 records; a writer and a validating reader.
import { closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DataError, FileNotFoundError, InvariantError } from '../common/errors.js';
import { checkReplaceable, replaceDir, type DirKind, type ReplaceDirOptions } from '../common/safe-dir.js';
import { OBS_MAX, OBS_MIN } from './env-math.js';
import { maskActionDim, validateMask, type Mask } from './mask.js';
import type { Transition } from './replay.js';

/** Format name and version written into every manifest; readers reject others. */
export const DATASET_FORMAT = 'sas-transitions';
export const DATASET_VERSION = 1;
/** File names inside a dataset directory. */
export const DATASET_MANIFEST = 'manifest.json';
export const DATASET_RECORDS = 'transitions.f32';

const rangeSchema = z.object({ start: z.number().int().min(0), end: z.number().int().min(1) }).strict();

/**
 * The dataset manifest. `numWorkers` = P, obsDim = 2P, actionDim = Σ mask range sizes; `hotKeys`
 * (optional) are the key ids behind the rank slots, `hotKeyFreqs` their frequencies; `source` says what
 * produced the data (e.g. "dalton-offline" or "sim-env").
 */
export const datasetManifestSchema = z
  .object({
    format: z.literal(DATASET_FORMAT),
    version: z.literal(DATASET_VERSION),
    numWorkers: z.number().int().min(1),
    numHotKeys: z.number().int().min(1),
    hotKeys: z.array(z.number().int().min(0)).optional(),
    hotKeyFreqs: z.array(z.number().min(0)).optional(),
    mask: z.array(rangeSchema).min(1),
    obsDim: z.number().int().min(2),
    actionDim: z.number().int().min(1),
    count: z.number().int().min(0),
    source: z.string().min(1),
    rewardBase: z.number().positive().optional(),
    episodeLength: z.number().int().min(1).optional(),
    createdAt: z.string().optional(),
    /** The learned partitioner's action mode the actions are in: `direct` (SaS, default when absent) or `residual` (ours). */
    actionMode: z.enum(['direct', 'residual']).optional(),
    /** Residual mode: the correction scale the data was collected with. */
    residualScale: z.number().min(0).optional(),
  })
  .strict();

/** A dataset folder as `replaceDir` sees it: a manifest of the dataset format and the records file. */
export const DATASET_DIR_KIND: DirKind = {
  name: 'dataset',
  files: [DATASET_MANIFEST, DATASET_RECORDS],
  recognize: (dir) => {
    try {
      return (JSON.parse(readFileSync(path.join(dir, DATASET_MANIFEST), 'utf8')) as { format?: unknown }).format === DATASET_FORMAT;
    } catch {
      return false;
    }
  },
};

/** A validated dataset manifest. */
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/** What the writer needs up front (the rest of the manifest is filled in). */
export type DatasetMeta = Omit<DatasetManifest, 'format' | 'version' | 'count' | 'obsDim' | 'actionDim' | 'numHotKeys'> & { numHotKeys?: number };

/** A dataset in memory: row-major arrays, `count` rows each. */
export interface OfflineDataset {
  readonly manifest: DatasetManifest;
  readonly obs: Float32Array;
  readonly actions: Float32Array;
  readonly rewards: Float32Array;
  readonly nextObs: Float32Array;
  readonly dones: Float32Array;
}

/** Floats per record: obs, action, reward, nextObs, done. */
export function recordFloats(obsDim: number, actionDim: number): number {
  return 2 * obsDim + actionDim + 2;
}

function checkManifest(m: DatasetManifest, where: string): void {
  const fail = (field: string, msg: string, got: unknown): never => {
    throw new DataError(`${where}: ${field}: ${msg}`, { file: where, field, got });
  };
  try {
    validateMask(m.mask as Mask, m.numWorkers, 'mask');
  } catch (e) {
    fail('mask', (e as Error).message, m.mask);
  }
  if (m.obsDim !== 2 * m.numWorkers) fail('obsDim', `expected 2·numWorkers = ${2 * m.numWorkers}`, m.obsDim);
  if (m.actionDim !== maskActionDim(m.mask)) fail('actionDim', `expected the mask's size ${maskActionDim(m.mask)}`, m.actionDim);
  if (m.mask.length > m.numHotKeys) fail('mask', `has ${m.mask.length} ranges but numHotKeys is ${m.numHotKeys}`, m.mask.length);
}

/**
 * Writes a dataset directory. Records go to a staging folder beside `dir`; `close()` moves them and the
 * manifest into place with `replaceDir`, so a crashed or aborted collection leaves `dir` as it was. An
 * existing `dir` is checked up front (before anything is collected) and replaced only when it is a
 * dataset holding only a dataset's files: a file, a checkpoint or any other folder is refused with
 * OutputError (`opts.field` names the config field in the message). Writes are buffered
 * (`bufferRecords` per write, default 512) and synchronous.
 */
export class DatasetWriter {
  readonly dir: string;
  private readonly meta: Omit<DatasetManifest, 'count'>;
  private readonly opts: ReplaceDirOptions;
  private readonly staging: string;
  private readonly fd: number;
  private readonly buf: Float32Array;
  private readonly perRecord: number;
  private inBuf = 0;
  private count = 0;
  private closed = false;

  constructor(dir: string, meta: DatasetMeta, bufferRecords = 512, opts: ReplaceDirOptions = {}) {
    if (endianness() !== 'LE') throw new InvariantError('datasets are little-endian; this host is big-endian');
    const numHotKeys = meta.numHotKeys ?? meta.mask.length;
    const actionDim = maskActionDim(meta.mask);
    this.meta = { format: DATASET_FORMAT, version: DATASET_VERSION, ...meta, numHotKeys, obsDim: 2 * meta.numWorkers, actionDim };
    checkManifest({ ...this.meta, count: 0 }, dir);
    checkReplaceable(dir, DATASET_DIR_KIND, opts);
    this.dir = dir;
    this.opts = opts;
    const parent = path.dirname(path.resolve(dir));
    mkdirSync(parent, { recursive: true });
    this.staging = mkdtempSync(path.join(parent, `.${path.basename(path.resolve(dir))}.writing-${process.pid}-`));
    this.fd = openSync(path.join(this.staging, DATASET_RECORDS), 'w');
    this.perRecord = recordFloats(this.meta.obsDim, actionDim);
    this.buf = new Float32Array(this.perRecord * Math.max(1, bufferRecords));
  }

  /** Records written so far. */
  get size(): number {
    return this.count;
  }

  /** Appends one transition (DataError on a wrong length or a non-finite value). */
  write(t: Transition): void {
    if (this.closed) throw new InvariantError('DatasetWriter.write after close');
    const { obsDim: od, actionDim: ad } = this.meta;
    if (t.obs.length !== od || t.nextObs.length !== od || t.action.length !== ad) {
      throw new DataError(`transition ${this.count}: expected obs/nextObs length ${od} and action length ${ad}`, { record: this.count, field: 'transition' });
    }
    if (!Number.isFinite(t.reward)) throw new DataError(`transition ${this.count}: reward is not finite`, { record: this.count, field: 'reward', got: t.reward });
    let o = this.inBuf * this.perRecord;
    this.buf.set(t.obs, o);
    o += od;
    this.buf.set(t.action, o);
    o += ad;
    this.buf[o++] = t.reward;
    this.buf.set(t.nextObs, o);
    o += od;
    this.buf[o] = t.done ? 1 : 0;
    this.inBuf++;
    this.count++;
    if ((this.inBuf + 1) * this.perRecord > this.buf.length) this.flush();
  }

  private flush(): void {
    if (this.inBuf === 0) return;
    const bytes = new Uint8Array(this.buf.buffer, 0, this.inBuf * this.perRecord * 4);
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    this.inBuf = 0;
  }

  /** Flushes, then puts the records and the manifest in place (`replaceDir`). Returns the manifest. */
  close(): DatasetManifest {
    if (this.closed) throw new InvariantError('DatasetWriter.close called twice');
    this.closed = true;
    try {
      this.flush();
      closeSync(this.fd);
      const manifest: DatasetManifest = { ...this.meta, count: this.count, createdAt: this.meta.createdAt ?? new Date().toISOString() };
      replaceDir(this.dir, DATASET_DIR_KIND, (tmp) => {
        renameSync(path.join(this.staging, DATASET_RECORDS), path.join(tmp, DATASET_RECORDS));
        writeFileSync(path.join(tmp, DATASET_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
      }, this.opts);
      return manifest;
    } finally {
      rmSync(this.staging, { recursive: true, force: true });
    }
  }

  /** Discards what was written: the staging folder goes, `dir` is left as it was. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    rmSync(this.staging, { recursive: true, force: true });
  }
}

/**
 * Reads and validates a dataset directory. Throws FileNotFoundError when the manifest or records are
 * missing, and DataError naming the field (manifest) or the record index and field (records) when
 * something is malformed: obs outside [0, 2], actions outside [0, 1], non-finite reward, done not 0/1,
 * or a file size that does not match `count`.
 */
export function readDataset(dir: string): OfflineDataset {
  const manPath = path.join(dir, DATASET_MANIFEST);
  const recPath = path.join(dir, DATASET_RECORDS);
  if (!existsSync(manPath)) throw new FileNotFoundError(manPath, 'dataset manifest');
  if (!existsSync(recPath)) throw new FileNotFoundError(recPath, 'dataset records');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manPath, 'utf8'));
  } catch (e) {
    throw new DataError(`${manPath}: not valid JSON (${(e as Error).message})`, { file: manPath, field: '(root)' });
  }
  const parsed = datasetManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.map(String).join('.') || '(root)';
    throw new DataError(`${manPath}: ${field}: ${issue.message}`, { file: manPath, field, expected: issue.message });
  }
  const m = parsed.data;
  checkManifest(m, manPath);
  const { obsDim: od, actionDim: ad, count } = m;
  const per = recordFloats(od, ad);
  const fd = openSync(recPath, 'r');
  let buf: Buffer;
  try {
    const size = fstatSync(fd).size;
    if (size !== count * per * 4) {
      throw new DataError(`${recPath}: size ${size} bytes, expected count ${count} × ${per} floats × 4 = ${count * per * 4}`, { file: recPath, field: 'count', got: size });
    }
    buf = readFileSync(recPath);
  } finally {
    closeSync(fd);
  }
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const obs = new Float32Array(count * od);
  const actions = new Float32Array(count * ad);
  const rewards = new Float32Array(count);
  const nextObs = new Float32Array(count * od);
  const dones = new Float32Array(count);
  const bad = (i: number, field: string, got: number): never => {
    throw new DataError(`${recPath}: record ${i}: ${field} = ${got} is out of range`, { file: recPath, record: i, field, got });
  };
  for (let i = 0; i < count; i++) {
    let o = i * per;
    for (let j = 0; j < od; j++, o++) {
      const v = all[o];
      if (!(v >= OBS_MIN && v <= OBS_MAX)) bad(i, `obs[${j}]`, v);
      obs[i * od + j] = v;
    }
    for (let j = 0; j < ad; j++, o++) {
      const v = all[o];
      if (!(v >= 0 && v <= 1)) bad(i, `action[${j}]`, v);
      actions[i * ad + j] = v;
    }
    if (!Number.isFinite(all[o])) bad(i, 'reward', all[o]);
    rewards[i] = all[o++];
    for (let j = 0; j < od; j++, o++) {
      const v = all[o];
      if (!(v >= OBS_MIN && v <= OBS_MAX)) bad(i, `nextObs[${j}]`, v);
      nextObs[i * od + j] = v;
    }
    if (all[o] !== 0 && all[o] !== 1) bad(i, 'done', all[o]);
    dones[i] = all[o];
  }
  return { manifest: m, obs, actions, rewards, nextObs, dones };
}
