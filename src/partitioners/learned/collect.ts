// Offline-data recorder: wraps dalton-offline, turns each slide into one transition (obs, action, reward, next obs, done).
import type { SlideReport } from '../../common/metrics.js';
import { Rng } from '../../common/rng.js';
import type { StepInfo } from '../../rl-agent/env-math.js';
import { maskActionDim } from '../../rl-agent/mask.js';
import type { LearnedPolicy } from './policy.js';
import type { ActionMode } from './prior.js';
import { actionFromCounts, type Mask } from '../../rl-agent/mask.js';
import { MetricWindow } from '../../rl-agent/metric-window.js';
import type { DaltonOfflinePartitioner } from '../dalton-offline.js';
import type { Partitioner } from '../types.js';

/** One recorded transition (research/saspartitioner.md §2.8). */
export interface RecordedTransition {
  readonly obs: Float32Array;
  readonly action: Float32Array;
  readonly reward: number;
  readonly nextObs: Float32Array;
  readonly done: boolean;
}

/**
 * Wraps a `dalton-offline` partitioner (unchanged: it already takes its hot keys from a SpaceSaving
 * top-k, not from key id = rank). Per slide it counts each true-hot rank slot's records per worker
 * (the slot of a record is looked up in the wrapped partitioner's `hotKeys` at routing time), and in
 * `onSlide` emits the transition (obs of slide i−1, action of slide i, reward of slide i, obs of
 * slide i), the action being rl-agent `actionFromCounts` (counts inside the mask, divided by each
 * key's max), optionally squeezed into [m, 1 − m] by `actionMargin` m. The first slide only fills the metric window; a slide with no records or
 * fewer than half the previous slide's (the drain after the source stopped) is skipped and breaks the chain. `done` every `episodeLength` transitions.
 */
export function recordingPartitioner(
  inner: DaltonOfflinePartitioner,
  opts: { rewardBase: number; episodeLength: number; metricWindowSlides: number; actionMargin?: number; onTransition: (t: RecordedTransition) => void },
): Partitioner & { readonly mask: Mask } {
  const n = inner.numWorkers;
  const mask: Mask = inner.mask.map((r) => ({ start: r.lo, end: r.hi }));
  const T = mask.length;
  const H = inner.hotKeys.length;
  const counts = new Float64Array(T * n);
  const window = new MetricWindow(n, opts.metricWindowSlides);
  let prevObs: Float32Array | undefined;
  let written = 0;
  let prevRecords = 0;
  const margin = opts.actionMargin ?? 0;
  return {
    name: 'dalton-offline',
    numWorkers: n,
    splitsKeys: inner.splitsKeys,
    mask,
    route(key: number): number {
      const w = inner.route(key);
      if (inner.lastRouteHot) {
        const hk = inner.hotKeys;
        for (let r = 0; r < T && r < H; r++) {
          if (hk[r] === key) {
            counts[r * n + w]++;
            break;
          }
        }
      }
      return w;
    },
    onSlide(report: SlideReport): void {
      inner.onSlide?.(report);
      window.push(report);
      const action = actionFromCounts(mask, (k, w) => counts[k * n + w]);
      if (margin > 0) for (let i = 0; i < action.length; i++) action[i] = margin + (1 - 2 * margin) * action[i];
      counts.fill(0);
      const records = report.partitioner.records;
      const partial = records === 0 || records < 0.5 * prevRecords;
      prevRecords = records;
      if (partial) {
        // the drain after the source stopped (or a stall): not a step of the controlled system
        prevObs = undefined;
        return;
      }
      if (!window.ready) return;
      const obs = window.observation();
      const reward = window.reward(opts.rewardBase);
      if (prevObs) {
        written++;
        opts.onTransition({ obs: prevObs, action, reward, nextObs: obs, done: written % opts.episodeLength === 0 });
      }
      prevObs = obs;
    },
    stats: () => inner.stats(),
  };
}

/**
 * Behaviour policy for residual-mode data (ours; SaS collects with dalton-offline, whose logged
 * actions are direct-mode tables): every step draws a fresh action `clip(0.5 + σ·N(0, 1))` per pair,
 * σ itself uniform in [0, `sigma`] per step so the data covers the prior (σ ≈ 0) and large
 * corrections, and emits the transition (previous obs, previous action, reward, obs, done). Call
 * `breakChain()` to drop the pending step (a partial slide: the run's start or the drain).
 */
export function explorationPolicy(
  mask: Mask,
  opts: { sigma: number; seed: number; actionMode: ActionMode; residualScale?: number; onTransition: (t: RecordedTransition) => void },
): LearnedPolicy & { breakChain(): void; readonly transitions: number } {
  const dim = maskActionDim(mask);
  const rng = new Rng(opts.seed);
  let prevObs: Float32Array | undefined;
  let prevAction: Float32Array | undefined;
  let transitions = 0;
  return {
    mask,
    actionDim: dim,
    actionMode: opts.actionMode,
    residualScale: opts.residualScale,
    describe: `exploration σ ≤ ${opts.sigma}`,
    learning: true, // its transitions must record the actions installed: no guard (learned/guard.ts)
    get transitions() {
      return transitions;
    },
    breakChain(): void {
      prevObs = undefined;
      prevAction = undefined;
    },
    step(obs: Float32Array, reward: number, _info: StepInfo, done: boolean): Float32Array {
      const o = Float32Array.from(obs);
      if (prevObs && prevAction) {
        transitions++;
        opts.onTransition({ obs: prevObs, action: prevAction, reward, nextObs: o, done });
      }
      const sigma = opts.sigma * rng.next();
      const a = new Float32Array(dim);
      for (let i = 0; i < dim; i++) a[i] = Math.min(1, Math.max(0, 0.5 + sigma * rng.normal()));
      prevObs = done ? undefined : o;
      prevAction = done ? undefined : a;
      return a;
    },
  };
}
