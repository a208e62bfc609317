// The reward guard (ours): measures each way of routing by the reward of the slides it routed and keeps the best.
import { z } from 'zod';
import { ConfigError } from '../../common/errors.js';
import type { SlideReport } from '../../common/metrics.js';
import { rewardFromBusy } from '../../rl-agent/env-math.js';

/**
 * Reward of a perfectly balanced slide (perf 0 → f = 1 → r = 2f + f² = 3, research/saspartitioner.md
 * §2.4). A slide's *regret* is `PERFECT_REWARD − reward` ≥ 0, ≈ 4·perf/rewardBase for perf ≪ base.
 */
export const PERFECT_REWARD = 3;

/** Floor added to regrets before their ratio is taken (a slide with exactly equal busy times has regret 0). */
const REGRET_FLOOR = 1e-6;
/** A single paired sample's log regret ratio is clamped to ±this (one odd slide moves the mean by at most this·weight). */
const LOG_RATIO_CLAMP = 3;
/** An arm at least this many times worse than the current one (measured) is probed less often (back-off). */
const BACKOFF_RATIO = Math.log(2);
/** An arm measured this many times worse goes straight to `maxProbeEvery`, from its first sample (each of its probes is a very bad slide, and its backlog spills into the next ones). */
const CATASTROPHIC_RATIO = Math.log(4);
/** Standard errors an arm must be better by, beyond the margin, before the guard switches to it (identical arms then stay put). */
const SWITCH_Z = 2;
/** Slides between two probes while an arm has fewer than `minSamples` samples (every other slide). */
const WARMUP_INTERVAL = 2;

/** The guard's parameters (`partitioner.params.guard` as an object). */
export const guardOptionsSchema = z.strictObject({
  /** Slides between two probes of an arm once it has `minSamples` samples. Default 8 (ours: 1/8 of the slides measure the alternative). */
  probeEvery: z.number().int().min(2).max(4096).default(8),
  /** Longest interval the back-off stretches a much worse arm's probes to (doubling from probeEvery). Default 64. */
  maxProbeEvery: z.number().int().min(2).max(65536).default(64),
  /** Relative margin: switch to another arm when its measured regret is below the current's by more than this factor (1 + margin). Default 0.1. */
  margin: z.number().min(0).max(10).default(0.1),
  /** Paired samples an arm needs before it can be switched to or away from. Default 3. */
  minSamples: z.number().int().min(1).max(1000).default(3),
  /** Weight of the newest paired sample in an arm's exponential mean (after the first 1/smoothing, which are averaged plainly). Default 0.25. */
  smoothing: z.number().gt(0).max(1).default(0.25),
  /**
   * A slide counts (and the next slide may be a probe) only when it routed at least this many records per
   * worker: below, its busy times are mostly per-record cost noise (a word-count record costs 1–10 words,
   * ≈ 0.5/√n relative spread per worker over n records), and probing would cost slides for nothing. Default 16.
   */
  minRecordsPerWorker: z.number().min(0).max(1e6).default(16),
});

/** Validated guard parameters. */
export type GuardOptions = z.infer<typeof guardOptionsSchema>;

/** The defaults of every guard parameter. */
export const DEFAULT_GUARD_OPTIONS: GuardOptions = guardOptionsSchema.parse({});

/**
 * `partitioner.params.guard`: `true` (the defaults), `false` (off) or an object of parameters (on).
 * Absent: on unless the policy learns from its steps or is remote (see {@link resolveGuard}).
 */
export const guardParam = z.union([z.boolean(), guardOptionsSchema]).optional();

/** What decides whether a guard runs by default. */
export interface GuardDefaults {
  /** There is something to guard (a policy, or more than one arm). */
  readonly hasArms: boolean;
  /** The policy learns from the steps it is given (inline `learn`, an exploring collector). */
  readonly learning: boolean;
  /** The policy is remote (its agent may be learning from the transitions). */
  readonly remote: boolean;
}

/**
 * The guard's options for a job, or undefined when it is off. Default (param absent): on when there is
 * something to guard and the policy neither learns nor is remote. A learning policy's transitions would
 * be mislabelled by probe and fallback slides (the table installed would not be its action), so an
 * explicit guard with a learning policy is a ConfigError naming `field`; a remote policy may opt in
 * (an agent serving with --evaluate).
 */
export function resolveGuard(param: z.infer<typeof guardParam>, d: GuardDefaults, field = 'partitioner.params.guard'): GuardOptions | undefined {
  if (param === false || !d.hasArms) return undefined;
  if (param === undefined) return d.learning || d.remote ? undefined : DEFAULT_GUARD_OPTIONS;
  if (d.learning) {
    throw new ConfigError(`${field}: the guard routes some slides by the prior, which would mislabel a learning policy's transitions; set ${field}: false with learn: true`, { field, got: param === true ? true : 'object' });
  }
  const o = param === true ? DEFAULT_GUARD_OPTIONS : param;
  if (o.maxProbeEvery < o.probeEvery) throw new ConfigError(`${field}.maxProbeEvery: must be ≥ probeEvery (${o.probeEvery}), got ${o.maxProbeEvery}`, { field: `${field}.maxProbeEvery`, got: o.maxProbeEvery });
  return o;
}

/** One context's state (saspartitioner has one; adaptive one per α-matched model). */
interface ContextState {
  /** The arm the guard holds (routes every slide that is not a probe); −1 until the first decision. */
  current: number;
  /** Decisions made in this context. */
  t: number;
  /** Decision index of the last probe. */
  lastProbe: number;
  /** Regret sum and count of the current arm's valid slides since the last probe (the probe's pair). */
  refSum: number;
  refN: number;
  /** Per arm: paired probes measured (against the current arm, or carried over a switch). */
  n: Int32Array;
  /** Per arm: means of its probes' regret and of their paired reference regrets (exponential after 1/smoothing samples). */
  probeRegret: Float64Array;
  refRegret: Float64Array;
  /** Per arm: means of the per-probe log ratio and of its square (the ratio's spread). */
  logMean: Float64Array;
  logSq: Float64Array;
  /** Per arm: probe interval (probeEvery, doubled by the back-off) and the decision index of its next probe. */
  interval: Int32Array;
  nextProbe: Float64Array;
  /** Per arm: exponential mean of the raw reward of the slides it routed (for the metrics); NaN before any. */
  reward: Float64Array;
}

/** The guard's public state (`partitioner.guard_*` metrics, docs/metrics.md). */
export interface GuardSnapshot {
  /** Arm the guard holds in the current context. */
  readonly current: number;
  /** Arm that routes the slide now running (the current arm, or a probe). */
  readonly routing: number;
  /** Whether the slide now running is a probe. */
  readonly probe: boolean;
  /** Mean reward of the slides each arm routed in the current context (NaN before any). */
  readonly rewards: readonly number[];
  /** Measured regret of each arm over the current arm's (paired probes; 1 for the current arm, NaN before a sample). */
  readonly ratios: readonly number[];
  /** Paired samples per arm. */
  readonly samples: readonly number[];
}

/**
 * The reward guard (ours, not in SaSPartitioner). It chooses, once per slide, which of `numArms` ways of
 * routing (arms: a policy, the water-filling prior alone, another model) routes the next slide, by the
 * reward of the slides each arm routed (`rewardFromBusy`, the agent's reward, research/saspartitioner.md
 * §2.4):
 *
 * - Per context (the α-matched model of `saspartitioner-adaptive`; one for `saspartitioner`) it holds a
 *   current arm, starting at the context's default arm, and routes every slide by it except **probes**:
 *   one slide routed by another arm, every `probeEvery` slides per arm (every other slide while the arm has
 *   fewer than `minSamples` samples; never two probes in a row); among the arms due, unmeasured ones first,
 *   then the most promising (lowest measured ratio), then the most overdue.
 * - A probe is **paired**: its regret (`PERFECT_REWARD − reward`) is set against the mean regret of the
 *   current arm's slides since the previous probe, so a rising input rate or a slow drift, which moves every
 *   arm's regret, cancels out. Per arm the guard keeps the mean probe regret and the mean paired regret; their
 *   quotient is the arm's measured regret **ratio** against the current arm (a ratio of means: a mean of
 *   per-slide log ratios would favour the noisier single slide by Jensen's inequality), and the spread of the
 *   per-probe log ratios gives its standard error.
 * - Switch: back to the default arm as soon as its ratio is ≤ 1 (the comparison flipped); to another arm when
 *   its log ratio plus two standard errors is below −log(1 + `margin`), i.e. it is better by more than the
 *   margin and the noise (two arms that route alike then stay put). Both need `minSamples` samples. On a
 *   switch every ratio is re-expressed against the new current arm; the old current arm's is the inverse of
 *   the new one's, every other arm's is chained through the new arm's. Both are noisier than a direct
 *   measurement, so they count as at most `minSamples − 1` samples: one fresh probe re-confirms each.
 * - Back-off: an arm measured at least 2× worse (beyond its standard error) is probed at twice its previous
 *   interval, up to `maxProbeEvery`, since each probe of it costs a bad slide; one measured 4× worse (any
 *   sample, no warm-up) at `maxProbeEvery` at once, since its backlog spills into the next slides too.
 * - A slide counts only when it routed at least `minRecordsPerWorker` records per worker and at least half
 *   the previous slide's (not the start or the drain); after a slide that did not count, no probe. It is
 *   credited to the context of its decision (a context that flips with the noise of the top-k counts,
 *   as the α-match does at low rates, would otherwise lose most samples).
 *
 * Deterministic: it reads only the slide reports, so the same run makes the same decisions on the virtual
 * clock. Allocates only at construction (and in `snapshot`).
 */
export class RewardGuard {
  private readonly contexts: ContextState[];
  private pendingArm = -1;
  private pendingContext = -1;
  private pendingProbe = false;
  private prevRecords = 0;
  /** The last observed slide counted (enough records): only then may the next slide be a probe. */
  private lastValid = false;
  private readonly numWorkers: number;
  private lastContext = 0;
  private readonly busy: Float64Array;

  /**
   * @param numArms arms to choose from (≥ 1)
   * @param numContexts contexts with separate statistics (≥ 1)
   * @param numWorkers P (the reports' worker count)
   * @param rewardBase the reward's fixed base (the partitioner's `rewardBase`)
   */
  constructor(
    readonly numArms: number,
    readonly numContexts: number,
    numWorkers: number,
    readonly rewardBase: number,
    readonly options: GuardOptions = DEFAULT_GUARD_OPTIONS,
  ) {
    this.busy = new Float64Array(numWorkers);
    this.numWorkers = numWorkers;
    const f64 = () => new Float64Array(numArms);
    this.contexts = Array.from({ length: numContexts }, () => ({
      current: -1,
      t: 0,
      lastProbe: -Infinity,
      refSum: 0,
      refN: 0,
      n: new Int32Array(numArms),
      probeRegret: f64(),
      refRegret: f64(),
      logMean: f64(),
      logSq: f64(),
      interval: new Int32Array(numArms).fill(options.probeEvery),
      nextProbe: f64(),
      reward: f64().fill(Number.NaN),
    }));
  }

  /**
   * Credits the slide of `report` to the arm (and context) chosen for it by the last `decide`, if any.
   * Call once per slide, before `decide`.
   */
  observe(report: SlideReport): void {
    const records = report.partitioner.records;
    const valid = records > 0 && records >= this.options.minRecordsPerWorker * this.numWorkers && records >= 0.5 * this.prevRecords;
    this.prevRecords = records;
    this.lastValid = valid;
    const arm = this.pendingArm;
    const c = this.pendingContext;
    this.pendingArm = -1;
    if (arm < 0) return;
    const s = this.contexts[c];
    if (!valid) {
      if (this.pendingProbe) s.nextProbe[arm] = s.t + WARMUP_INTERVAL - 1; // probe it again soon
      return;
    }
    for (const w of report.workers) this.busy[w.worker] = w.busyMs;
    const reward = rewardFromBusy(this.busy, this.rewardBase);
    const regret = Math.max(0, PERFECT_REWARD - reward);
    const o = this.options;
    s.reward[arm] = Number.isNaN(s.reward[arm]) ? reward : s.reward[arm] + o.smoothing * (reward - s.reward[arm]);
    if (!this.pendingProbe) {
      s.refSum += regret;
      s.refN++;
      return;
    }
    const ref = s.refSum / s.refN; // decide probes only with refN ≥ 1
    s.refSum = 0;
    s.refN = 0;
    const x = Math.max(-LOG_RATIO_CLAMP, Math.min(LOG_RATIO_CLAMP, Math.log((regret + REGRET_FLOOR) / (ref + REGRET_FLOOR))));
    s.n[arm]++;
    const a = Math.max(o.smoothing, 1 / s.n[arm]);
    s.probeRegret[arm] += a * (regret - s.probeRegret[arm]);
    s.refRegret[arm] += a * (ref - s.refRegret[arm]);
    s.logMean[arm] += a * (x - s.logMean[arm]);
    s.logSq[arm] += a * (x * x - s.logSq[arm]);
    const r = this.rel(s, arm);
    if (r > CATASTROPHIC_RATIO) s.interval[arm] = o.maxProbeEvery;
    else if (s.n[arm] >= o.minSamples && r - this.stdErr(s, arm) > BACKOFF_RATIO) s.interval[arm] = Math.min(o.maxProbeEvery, Math.max(o.probeEvery, 2 * s.interval[arm]));
    else if (s.n[arm] < o.minSamples) s.interval[arm] = WARMUP_INTERVAL;
    else s.interval[arm] = o.probeEvery;
    s.nextProbe[arm] = s.t - 1 + s.interval[arm];
  }

  /** Forget the pending decision (a slide the guard does not choose, e.g. before the metric window is full). */
  hold(): void {
    this.pendingArm = -1;
  }

  /**
   * The arm that routes the next slide in `context`, whose default arm is `defaultArm`: applies the
   * switching rule, then returns the current arm or a due probe. Deterministic.
   */
  decide(context: number, defaultArm: number): number {
    const s = this.contexts[context];
    this.lastContext = context;
    if (s.current < 0) s.current = defaultArm;
    const o = this.options;
    const cur = s.current;
    if (cur !== defaultArm && s.n[defaultArm] >= o.minSamples && this.rel(s, defaultArm) <= 0) this.switchTo(s, defaultArm);
    else {
      let best = -1;
      let bestScore = Infinity;
      for (let a = 0; a < this.numArms; a++) {
        if (a === cur || s.n[a] < o.minSamples) continue;
        const score = this.rel(s, a) + SWITCH_Z * this.stdErr(s, a);
        if (score < bestScore) {
          best = a;
          bestScore = score;
        }
      }
      if (best >= 0 && bestScore < -Math.log(1 + o.margin)) this.switchTo(s, best);
    }
    const t = s.t++;
    let probe = -1;
    if (this.lastValid && s.refN > 0 && t - s.lastProbe >= 2) {
      // among the due arms: unmeasured first, then the most promising (lowest ratio), then the most overdue
      let key = Infinity;
      for (let a = 0; a < this.numArms; a++) {
        if (a === s.current || s.nextProbe[a] > t) continue;
        const k = s.n[a] === 0 ? -Infinity : this.rel(s, a);
        if (probe < 0 || k < key || (k === key && s.nextProbe[a] < s.nextProbe[probe])) {
          probe = a;
          key = k;
        }
      }
    }
    this.pendingContext = context;
    this.pendingProbe = probe >= 0;
    if (probe >= 0) s.lastProbe = t;
    this.pendingArm = probe >= 0 ? probe : s.current;
    return this.pendingArm;
  }

  /** The arm the guard holds in `context` (−1 before its first decision there). */
  current(context = 0): number {
    return this.contexts[context].current;
  }

  /** The state of the last decision's context, for the metrics. */
  snapshot(): GuardSnapshot {
    const s = this.contexts[this.lastContext];
    const ratios = Array.from({ length: this.numArms }, (_, a) => (a === s.current ? 1 : s.n[a] > 0 ? Math.exp(this.rel(s, a)) : Number.NaN));
    return {
      current: s.current,
      routing: this.pendingArm >= 0 ? this.pendingArm : s.current,
      probe: this.pendingArm >= 0 && this.pendingProbe,
      rewards: Array.from(s.reward),
      ratios,
      samples: Array.from(s.n),
    };
  }

  /** log(arm's regret / the current arm's), measured; 0 for the current arm. */
  private rel(s: ContextState, a: number): number {
    if (a === s.current) return 0;
    return Math.log((s.probeRegret[a] + REGRET_FLOOR) / (s.refRegret[a] + REGRET_FLOOR));
  }

  /** Standard error of `rel` from the spread of the per-probe log ratios (effective samples of the exponential mean). */
  private stdErr(s: ContextState, a: number): number {
    const n = s.n[a];
    if (n < 2) return Infinity;
    const alpha = this.options.smoothing;
    const nEff = Math.min(n, (2 - alpha) / alpha);
    const v = Math.max(0, s.logSq[a] - s.logMean[a] * s.logMean[a]) * (n / (n - 1));
    return Math.sqrt(v / nEff);
  }

  private switchTo(s: ContextState, arm: number): void {
    const prev = s.current;
    const shift = this.rel(s, arm);
    // The new current arm's regret level as its probes measured it: every ratio is re-based onto it, so
    // fresh probes (paired with the new current arm's slides) average in on the same scale.
    const level = s.probeRegret[arm];
    const keep = Math.max(1, this.options.minSamples - 1);
    for (let a = 0; a < this.numArms; a++) {
      if (a === prev || a === arm) continue;
      const r = this.rel(s, a) - shift; // chained: a against prev, prev against arm
      s.refRegret[a] = level;
      s.probeRegret[a] = (level + REGRET_FLOOR) * Math.exp(r) - REGRET_FLOOR;
      // measured against another arm and chained through the new one: noisier, so one fresh probe must confirm it
      s.n[a] = Math.min(s.n[a], keep);
    }
    // the old current arm: the inverse of the new one's ratio, from the same samples
    s.n[prev] = Math.min(s.n[arm], keep);
    s.probeRegret[prev] = s.refRegret[arm];
    s.refRegret[prev] = level;
    s.logMean[prev] = -s.logMean[arm];
    s.logSq[prev] = s.logSq[arm];
    s.n[arm] = 0;
    s.probeRegret[arm] = 0;
    s.refRegret[arm] = 0;
    s.logMean[arm] = 0;
    s.logSq[arm] = 0;
    s.current = arm;
    const o = this.options;
    const back = this.rel(s, prev);
    s.interval[prev] = back > CATASTROPHIC_RATIO ? o.maxProbeEvery : back > BACKOFF_RATIO ? Math.min(o.maxProbeEvery, 2 * o.probeEvery) : o.probeEvery;
    s.nextProbe[prev] = s.t + s.interval[prev];
    s.refSum = 0;
    s.refN = 0;
  }
}
