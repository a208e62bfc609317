// `sas collect`: virtual-clock runs of an exploring saspartitioner or the dalton-offline behaviour policy, recorded as an offline transition dataset.
import { ConfigError } from '../common/errors.js';
import { checkReplaceable } from '../common/safe-dir.js';
import type { JobConfig } from '../engine/config.js';
import { buildJob, runJob } from '../engine/job.js';
import { createDaltonOffline, daltonOfflineParams } from '../partitioners/dalton-offline.js';
import { explorationPolicy, recordingPartitioner } from '../partitioners/learned/collect.js';
import { actionModeFor, createSasPartitioner, hotSlotsFor, maskFor, sasPartitionerParams } from '../partitioners/saspartitioner.js';
import type { Partitioner } from '../partitioners/types.js';
import { parseOrThrow } from '../common/validate.js';
import { DATASET_DIR_KIND, DatasetWriter, zipfTopProbabilities, type DatasetManifest } from '../rl-agent/index.js';
import type { z } from 'zod';
import type { collectSectionSchema } from './learned.js';
import { createProgress } from './progress.js';

/** The config field `section.out` comes from (`-o` sets it), for messages. */
const OUT_FIELD = 'collect.out';

/**
 * Runs `section.runs` virtual-clock jobs of `job` with seeds job.seed + i (a workload without its own
 * `seed` takes the job seed, so fix it to keep one key permutation) and writes every policy step's
 * transition into one dataset at `section.out`. The partitioner is `saspartitioner` (random exploring
 * actions, `collectExploration`; params/collect.yaml, the data behind checkpoints/default) or
 * `dalton-offline` (SaSPartitioner's behaviour policy). rl-agent DatasetWriter stages the records
 * beside `section.out` and renames them in at the end, so a failed run leaves no half dataset; a
 * `section.out` that is a file, a checkpoint or any other non-dataset folder is refused (OutputError)
 * before anything runs.
 */
export async function collectCommand(job: JobConfig, section: z.infer<typeof collectSectionSchema>, opts: { quiet?: boolean } = {}): Promise<DatasetManifest> {
  if (job.clock !== 'virtual') throw new ConfigError('job.clock: collect runs on the virtual clock', { field: 'job.clock', expected: 'virtual', got: job.clock });
  checkReplaceable(section.out, DATASET_DIR_KIND, { field: OUT_FIELD });
  if (job.partitioner.name === 'saspartitioner') return collectExploration(job, section, opts);
  if (job.partitioner.name !== 'dalton-offline') {
    throw new ConfigError(`job.partitioner.name: collect records dalton-offline or an exploring saspartitioner, got ${job.partitioner.name}`, { field: 'job.partitioner.name', expected: 'dalton-offline | saspartitioner', got: job.partitioner.name });
  }
  const params = parseOrThrow(daltonOfflineParams, job.partitioner.params ?? {}, 'job.partitioner.params');
  let writer: DatasetWriter | undefined;
  const progress = createProgress('collect', opts.quiet);
  try {
    for (let run = 0; run < section.runs; run++) {
      const cfg: JobConfig = { ...job, seed: job.seed + run };
      const built = buildJob(cfg, {
        partitioner: (clock, numKeys) => {
          const inner = createDaltonOffline({ numWorkers: cfg.workers, seed: cfg.seed, numKeys, slideMs: cfg.slideMs, clock }, params);
          const rec = recordingPartitioner(inner, { ...section, onTransition: (t) => writer!.write(t) });
          if (!writer) {
            writer = new DatasetWriter(section.out, {
              numWorkers: cfg.workers,
              numHotKeys: params.numHotKeys,
              mask: rec.mask.map((r) => ({ start: r.start, end: r.end })),
              hotKeyFreqs: zipfTopProbabilities(params.zipfExponent, params.numHotKeys),
              source: `dalton-offline ${cfg.workload.name} ${JSON.stringify(cfg.workload.params)} P=${cfg.workers} runs=${section.runs}`,
              rewardBase: section.rewardBase,
              episodeLength: section.episodeLength,
            }, undefined, { field: OUT_FIELD });
          }
          return rec;
        },
      });
      await runJob(built, {
        onProgress: (f) => progress.update((run + f) / section.runs, `run ${run + 1}/${section.runs}, ${writer?.size ?? 0} transitions`),
      });
    }
    progress.stop();
    if (!writer) throw new ConfigError('collect: no run was made', { field: 'collect.runs' });
    return writer.close();
  } catch (e) {
    progress.stop();
    writer?.abort();
    throw e;
  }
}

/**
 * `sas collect` with `saspartitioner` (ours, for residual-mode policies): the partitioner runs with
 * `explorationPolicy` (random actions around 0.5, σ ≤ `section.sigma`) and every policy step is one
 * transition. `checkpoint` is ignored (no policy is loaded); the mask is the heuristic's (or the
 * checkpoint manifest's for this P). Slides with fewer than half the previous slide's records (start,
 * drain) break the chain, as for dalton-offline.
 */
async function collectExploration(job: JobConfig, section: z.infer<typeof collectSectionSchema>, opts: { quiet?: boolean }): Promise<DatasetManifest> {
  const params = parseOrThrow(sasPartitionerParams, { ...(job.partitioner.params ?? {}), checkpoint: 'none' }, 'job.partitioner.params');
  const mask = maskFor(job.workers, params);
  const { mode, scale } = actionModeFor(job.workers, params);
  const writer = new DatasetWriter(section.out, {
    numWorkers: job.workers,
    numHotKeys: hotSlotsFor(params, mask),
    mask: mask.map((r) => ({ start: r.start, end: r.end })),
    hotKeyFreqs: zipfTopProbabilities(params.zipfExponent, params.numTrueHotKeys),
    source: `saspartitioner ${mode} exploration σ≤${section.sigma} ${job.workload.name} ${JSON.stringify(job.workload.params)} P=${job.workers} runs=${section.runs}`,
    rewardBase: section.rewardBase,
    episodeLength: section.episodeLength,
    actionMode: mode,
    ...(mode === 'residual' ? { residualScale: scale } : {}),
  }, undefined, { field: OUT_FIELD });
  const progress = createProgress('collect', opts.quiet);
  try {
    for (let run = 0; run < section.runs; run++) {
      const cfg: JobConfig = { ...job, seed: job.seed + run };
      const pol = explorationPolicy(mask, { sigma: section.sigma, seed: cfg.seed * 7919 + 1, actionMode: mode, residualScale: scale, onTransition: (t) => writer.write(t) });
      const p = { ...params, rewardBase: section.rewardBase, episodeLength: section.episodeLength, metricWindowSlides: section.metricWindowSlides, actionMode: mode, residualScale: scale };
      let prevRecords = 0;
      const built = buildJob(cfg, {
        partitioner: (clock, numKeys): Partitioner => {
          const inner = createSasPartitioner({ numWorkers: cfg.workers, seed: cfg.seed, numKeys, slideMs: cfg.slideMs, clock }, p, pol);
          return {
            ...inner,
            route: inner.route,
            onSlide(report) {
              const records = report.partitioner.records;
              if (records === 0 || records < 0.5 * prevRecords) pol.breakChain();
              prevRecords = records;
              inner.onSlide!(report);
            },
          };
        },
      });
      await runJob(built, { onProgress: (f) => progress.update((run + f) / section.runs, `run ${run + 1}/${section.runs}, ${writer.size} transitions`) });
      pol.breakChain();
    }
    progress.stop();
    return writer.close();
  } catch (e) {
    progress.stop();
    writer.abort();
    throw e;
  }
}
