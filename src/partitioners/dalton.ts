// Dalton: an ε-greedy contextual bandit per hot key, single or cooperative multi-instance (Zapridou et al., PVLDB 2022).
import { z } from 'zod';
import { Rng } from '../common/rng.js';
import { murmurWorker, type ColdHashMode } from './shared/hashing.js';
import { IntervalHotDetector, resolveCounter } from './shared/hot-keys.js';
import { coldHashField, hashSeedField, slideMsField, windowMsField, windowMultipleMessage, windowMultipleOfSlide } from './shared/params.js';
import { mergeQTables, type MergedQTable, type QSnapshot } from './shared/q-merge.js';
import { TrackedKeys } from './shared/tracked.js';
import { WindowedLoads } from './shared/window.js';
import type { Partitioner, PartitionerContext } from './types.js';

/** The original's hard-coded ε and learning rate (used when `honourRates` is false). */
export const DALTON_HARDCODED_RATE = 0.1;

/** Fields shared by `dalton` and `dalton-metrics`. */
export const daltonBaseFields = {
  windowMs: windowMsField,
  /** Load-window slide and hot-key interval H = S. */
  slideMs: slideMsField,
  /** Exploration probability ε. Default 0.1 (Dalton). */
  epsilon: z.number().min(0).max(1).default(0.1),
  /** Constant step size a of Q ← (1 − a)Q + a·r. Default 0.1 (Dalton). */
  learningRate: z.number().gt(0).max(1).default(0.1),
  /**
   * Use the configured `epsilon`/`learningRate` (default true, the fix). false = the original, which
   * ignores them and hard-codes 0.1 / 0.1 (saspartitioner.md §4.5).
   */
  honourRates: z.boolean().default(true),
  /** Initial Q value (pessimistic, below any reward). Default −2 (Dalton). */
  q0: z.number().default(-2),
  /** Initial split cap. Default 2. */
  maxSplitStart: z.number().int().min(1).default(2),
  /** Largest split cap. Default 6 (Dalton Flink; the Trident version grows to P). */
  maxSplitLimit: z.number().int().min(1).default(6),
  /** The cap grows when at least this share of the Q-table reached it. Default 0.7 (Dalton). */
  splitCapRatio: z.number().gt(0).max(1).default(0.7),
  /**
   * How the cap binds: `strict` (default, ours) = once |frag(k)| reaches the cap both explore and
   * exploit stay within frag(k), so a key never exceeds the cap within the window; `explore` =
   * original Dalton (only exploration of keys in MaxSplitSet is restricted); `off` = SaS's copy (no cap).
   */
  capMode: z.enum(['strict', 'explore', 'off']).default('strict'),
  /** Hot-key counter: `auto` (default, the original: count-min when numKeys ≥ 10000, width = slideMs, depth 4), `exact`, `count-min`. */
  counter: z.enum(['auto', 'exact', 'count-min']).default('auto'),
  coldHash: coldHashField,
  seed: hashSeedField,
};

/** Parameters of `dalton`. */
export const daltonParams = z
  .strictObject({
    ...daltonBaseFields,
    /** Cooperative instances m; record i is routed by instance i mod m (each with its own loads and table). Default 1. */
    instances: z.number().int().min(1).max(256).default(1),
    /** Q-table merge period in ms when instances > 1. Default = slideMs (Dalton's initial sync interval). */
    syncMs: z.number().positive().optional(),
  })
  .refine(windowMultipleOfSlide, windowMultipleMessage);

/** Resolved options of one Dalton instance. */
export interface DaltonCoreOptions {
  readonly numWorkers: number;
  readonly numKeys: number;
  readonly seed: number;
  readonly windowMs: number;
  readonly slideMs: number;
  readonly epsilon: number;
  readonly learningRate: number;
  readonly q0: number;
  readonly maxSplitStart: number;
  readonly maxSplitLimit: number;
  readonly splitCapRatio: number;
  readonly capMode: 'strict' | 'explore' | 'off';
  readonly counter: 'exact' | 'count-min';
  readonly coldHash: ColdHashMode;
  readonly hashSeed: number;
  /** `cost`: Dalton's reward from window loads and frag; `metrics`: per-worker rewards set by `setWorkerRewards`. */
  readonly reward: 'cost' | 'metrics';
}

/** Resolves the shared fields of a parsed `dalton`/`dalton-metrics` config into core options. */
export function daltonCoreOptions(
  ctx: PartitionerContext,
  p: z.infer<z.ZodObject<typeof daltonBaseFields>>,
  reward: 'cost' | 'metrics',
  instance = 0,
): DaltonCoreOptions {
  return {
    numWorkers: ctx.numWorkers,
    numKeys: ctx.numKeys,
    seed: (ctx.seed ^ Math.imul(instance + 1, 0x9e3779b1)) >>> 0,
    windowMs: p.windowMs,
    slideMs: p.slideMs,
    epsilon: p.honourRates ? p.epsilon : DALTON_HARDCODED_RATE,
    learningRate: p.honourRates ? p.learningRate : DALTON_HARDCODED_RATE,
    q0: p.q0,
    maxSplitStart: p.maxSplitStart,
    maxSplitLimit: Math.max(p.maxSplitStart, p.maxSplitLimit),
    splitCapRatio: p.splitCapRatio,
    capMode: p.capMode,
    counter: resolveCounter(p.counter, ctx.numKeys),
    coldHash: p.coldHash,
    hashSeed: p.seed,
    reward,
  };
}

/** `capMode` as a small integer for the per-record path. */
const CAP_STRICT = 0;
const CAP_EXPLORE = 1;
const CAP_OFF = 2;

/**
 * One Dalton instance (partitioners.md §6.1–6.2, saspartitioner.md §4.5). Per record: advance the
 * load window and hot interval; cold keys → cold hash (never split); a hot key (count in the interval
 * > previous total / P, hot until the end of the next interval) gets a Q row of q0 on first sight;
 * with probability 1 − ε exploit `argmax_j Q[k][j]` (incumbent = the cold worker, strict `>`), else
 * explore a uniform worker (within frag(k) when capped, see `capMode`). Then
 * r = −(0.5·(L_w − avg)/max(L_w, avg) + 0.5·|frag(k)|/P) (or the metrics reward) and
 * Q[k][w] ← (1 − a)Q[k][w] + a·r. The cap starts at `maxSplitStart` and grows by one (up to
 * `maxSplitLimit`) when ≥ splitCapRatio of the Q-table reached it. Q entries are dropped the first
 * time their key is seen cold. Allocation-free per record except when the slot table doubles.
 *
 * Per-record cost (issue #3): options are resolved once into numeric fields, the window and
 * interval are rolled only when the clock crosses the earlier of their boundaries, a hot key's cold
 * worker is cached per slot, |frag|/P is a table lookup, and the ε test compares the raw uint32 draw
 * with (1 − ε)·2^32 (the same test as `next() < 1 − ε`: both sides are scaled by 2^32, exactly).
 */
export class DaltonCore {
  readonly n: number;
  readonly opts: DaltonCoreOptions;
  readonly loads: WindowedLoads;
  readonly det: IntervalHotDetector;
  readonly tracked: TrackedKeys;
  /** Current split cap. */
  maxSplit: number;
  /** True when the last `route` took the hot path. */
  lastRouteHot = false;
  /** Per-worker reward used in `metrics` mode (length P, default 0). */
  readonly workerReward: Float64Array;
  private q: Float64Array;
  /** Per slot the cached full-row argmax (incumbent rule), or −1 when it must be recomputed. */
  private best: Int32Array;
  /** Per slot the cold worker of its key (set when the slot is activated). */
  private coldOfSlot: Int32Array;
  private inMaxSet: Uint8Array;
  private maxSetCount = 0;
  private readonly rng: Rng;
  private readonly now: { readonly nowMs: number };
  /** The clock time at which the load window or the hot interval next rolls over. */
  private rollAt = -Infinity;
  /** A uniform uint32 draw below this exploits: (1 − ε)·2^32. */
  private readonly exploitBelow: number;
  private readonly capMode: number;
  /** 1 for the cost reward, 0 for the metrics reward (a number: cheaper to test per record than a boolean field). */
  private readonly costReward: number;
  private readonly rate: number;
  private readonly keep: number;
  /** 0.5·(f / P) for f = 0..P: the splitting term of the cost reward. */
  private readonly fragTerm: Float64Array;
  private readonly modHash: boolean;
  private readonly hashSeed: number;

  constructor(opts: DaltonCoreOptions, clock: { readonly nowMs: number }) {
    this.opts = opts;
    this.n = opts.numWorkers;
    this.now = clock;
    this.loads = new WindowedLoads(this.n, { windowMs: opts.windowMs, slideMs: opts.slideMs });
    this.det = new IntervalHotDetector({
      numKeys: opts.numKeys,
      intervalMs: opts.slideMs,
      counter: opts.counter,
      numWorkers: this.n,
      seed: opts.seed,
    });
    this.tracked = new TrackedKeys(opts.numKeys, this.n, this.loads.numSlides);
    this.maxSplit = opts.maxSplitStart;
    this.workerReward = new Float64Array(this.n);
    this.q = new Float64Array(64 * this.n);
    this.best = new Int32Array(64).fill(-1);
    this.coldOfSlot = new Int32Array(64);
    this.inMaxSet = new Uint8Array(64);
    this.rng = new Rng(opts.seed);
    this.exploitBelow = (1 - opts.epsilon) * 4294967296;
    this.capMode = opts.capMode === 'strict' ? CAP_STRICT : opts.capMode === 'explore' ? CAP_EXPLORE : CAP_OFF;
    this.costReward = opts.reward === 'cost' ? 1 : 0;
    this.rate = opts.learningRate;
    this.keep = 1 - opts.learningRate;
    this.fragTerm = new Float64Array(this.n + 1);
    for (let f = 0; f <= this.n; f++) this.fragTerm[f] = 0.5 * (f / this.n);
    this.modHash = opts.coldHash === 'mod';
    this.hashSeed = opts.hashSeed;
  }

  /** Number of keys in the Q-table (= keys treated as hot). */
  get qSize(): number {
    return this.tracked.activeCount;
  }

  /** Q row of `key` (a copy), or null when the key has no entry. */
  qRow(key: number): Float64Array | null {
    const s = this.tracked.slots.slotOf(key);
    if (s < 0 || this.tracked.active[s] === 0) return null;
    return this.q.slice(s * this.n, (s + 1) * this.n);
  }

  /** Advances the load window and hot interval to `nowMs`. */
  roll(nowMs: number): void {
    if (this.loads.advance(nowMs) > 0) this.tracked.expire(this.loads.slideIndex);
    this.det.advance(nowMs);
    const a = this.loads.slideEndMs;
    const b = this.det.counts.intervalEndMs;
    this.rollAt = a < b ? a : b;
  }

  /** The cold worker of `key` (`coldHash`). */
  private coldOf(key: number): number {
    return this.modHash ? key % this.n : murmurWorker(key, this.hashSeed, this.n);
  }

  private ensureCapacity(): void {
    const cap = this.tracked.slots.capacity;
    if (this.inMaxSet.length < cap) {
      const q = new Float64Array(cap * this.n);
      q.set(this.q);
      this.q = q;
      const m = new Uint8Array(cap);
      m.set(this.inMaxSet);
      this.inMaxSet = m;
      const b = new Int32Array(cap).fill(-1);
      b.set(this.best);
      this.best = b;
      const c = new Int32Array(cap);
      c.set(this.coldOfSlot);
      this.coldOfSlot = c;
    }
  }

  /** Activates a Q entry for `key` (row = `row` or q0). Returns its slot. */
  private activate(key: number, cw: number, slide: number, row: ArrayLike<number> | null, offset = 0): number {
    const t = this.tracked;
    const slot = t.acquire(key, cw, slide);
    this.ensureCapacity();
    this.coldOfSlot[slot] = cw;
    if (t.active[slot] === 0 || row !== null) {
      const base = slot * this.n;
      for (let w = 0; w < this.n; w++) this.q[base + w] = row === null ? this.opts.q0 : row[offset + w];
      this.best[slot] = row === null ? cw : -1; // a constant row: the incumbent wins
      if (t.active[slot] === 0) this.inMaxSet[slot] = 0;
      t.setActive(slot, true);
    }
    return slot;
  }

  private deactivate(slot: number): void {
    if (this.tracked.active[slot] === 0) return;
    if (this.inMaxSet[slot] === 1) {
      this.inMaxSet[slot] = 0;
      this.maxSetCount--;
    }
    this.tracked.setActive(slot, false);
  }

  /** Routes one record of `key` at the clock's current time. */
  route(key: number): number {
    const nowMs = this.now.nowMs;
    if (!(nowMs < this.rollAt)) this.roll(nowMs);
    if (this.det.offer(key, nowMs)) return this.routeHot(key);
    const cw = this.coldOf(key);
    const t = this.tracked;
    const s = t.slots.slotOf(key);
    if (s >= 0) this.deactivate(s);
    t.cold(key, cw, this.loads.slideIndex);
    this.loads.add(cw);
    this.lastRouteHot = false;
    return cw;
  }

  /** A record of a hot key: ε-greedy choice, then the Q update and the split cap. */
  private routeHot(key: number): number {
    this.lastRouteHot = true;
    const n = this.n;
    const t = this.tracked;
    const slide = this.loads.slideIndex;
    let slot = t.slots.slotOf(key);
    if (slot < 0 || t.active[slot] === 0) slot = this.activate(key, this.coldOf(key), slide, null);
    const base = slot * n;
    const q = this.q;
    const fs = t.frag.size(slot);
    const mode = this.capMode;
    const capped = fs > 0 && (mode === CAP_STRICT ? fs >= this.maxSplit : mode === CAP_EXPLORE && this.inMaxSet[slot] === 1);
    let w: number;
    if (this.rng.nextU32() < this.exploitBelow) {
      if (capped && mode === CAP_STRICT) {
        w = this.argmaxInFrag(slot);
      } else {
        w = this.best[slot];
        if (w < 0) w = this.argmaxRow(slot);
      }
    } else if (capped) {
      w = t.frag.list[t.membersBase(slot) + this.rng.int(fs)];
    } else {
      w = this.rng.int(n);
    }
    const loads = this.loads;
    loads.add(w);
    t.frag.touch(slot, w, slide);
    const fragSize = t.frag.size(slot);
    let r: number;
    if (this.costReward === 1) {
      const lw = loads.load[w];
      const avg = loads.total / n;
      const mx = lw > avg ? lw : avg;
      const costMap = mx > 0 ? (lw - avg) / mx : 0;
      r = -(0.5 * costMap + this.fragTerm[fragSize]);
    } else {
      r = this.workerReward[w];
    }
    const old = q[base + w];
    const nq = this.keep * old + this.rate * r;
    q[base + w] = nq;
    // Keep the cached argmax valid: it survives unless the best's value fell or a tie appeared.
    const best = this.best;
    const b = best[slot];
    if (b >= 0) {
      if (w === b) {
        if (nq < old) best[slot] = -1;
      } else if (nq > q[base + b]) {
        best[slot] = w;
      } else if (nq === q[base + b]) {
        best[slot] = -1;
      }
    }
    if (fragSize >= this.maxSplit && this.inMaxSet[slot] === 0) this.reachedCap(slot);
    return w;
  }

  /** argmax of `slot`'s Q row over frag(k) only; the same result as an ascending strict-'>' scan with incumbent the cold worker. */
  private argmaxInFrag(slot: number): number {
    const t = this.tracked;
    const q = this.q;
    const base = slot * this.n;
    const fs = t.frag.size(slot);
    const cw = this.coldOfSlot[slot];
    const list = t.frag.list;
    const mb = t.membersBase(slot);
    let w = list[mb];
    for (let i = 0; i < fs; i++) if (list[mb + i] === cw) w = cw;
    let bv = q[base + w];
    for (let i = 0; i < fs; i++) {
      const j = list[mb + i];
      const v = q[base + j];
      if (v > bv || (v === bv && j < w && w !== cw)) {
        bv = v;
        w = j;
      }
    }
    return w;
  }

  /** argmax of `slot`'s full Q row (incumbent the cold worker, strict `>`); caches it in `best`. */
  private argmaxRow(slot: number): number {
    const q = this.q;
    const n = this.n;
    const base = slot * n;
    const cw = this.coldOfSlot[slot];
    let w = cw;
    let bv = q[base + cw];
    for (let j = 0; j < n; j++) if (q[base + j] > bv) { bv = q[base + j]; w = j; }
    this.best[slot] = w;
    return w;
  }

  /** `slot`'s |frag| reached the cap: it joins MaxSplitSet; the cap grows when enough of the table is there. */
  private reachedCap(slot: number): void {
    this.inMaxSet[slot] = 1;
    this.maxSetCount++;
    if (this.maxSetCount >= this.opts.splitCapRatio * this.tracked.activeCount && this.maxSplit < this.opts.maxSplitLimit) {
      this.inMaxSet.fill(0);
      this.maxSetCount = 0;
      this.maxSplit++;
    }
  }

  /** This instance's state for a cooperative merge (§6.3): Q-table, interval counts, frequent keys. */
  snapshot(): QSnapshot {
    const t = this.tracked;
    const n = this.n;
    const keys: number[] = [];
    const counts: number[] = [];
    const rows: number[] = [];
    const counter = this.det.counts;
    t.slots.forEach((slot, key) => {
      if (t.active[slot] === 0) return;
      keys.push(key);
      counts.push(counter.estimate(key));
      for (let w = 0; w < n; w++) rows.push(this.q[slot * n + w]);
    });
    const extraKeys: number[] = [];
    const extraCounts: number[] = [];
    const bar = counter.total / n;
    counter.forEachExact((key, c) => {
      if (c > bar) {
        const s = t.slots.slotOf(key);
        if (s < 0 || t.active[s] === 0) {
          extraKeys.push(key);
          extraCounts.push(c);
        }
      }
    });
    return {
      keys: Int32Array.from(keys),
      q: Float64Array.from(rows),
      counts: Float64Array.from(counts),
      extraKeys: Int32Array.from(extraKeys),
      extraCounts: Float64Array.from(extraCounts),
      total: counter.total,
    };
  }

  /**
   * Adopts a merged table (call `roll(now)` first): every merged key becomes hot with the merged row;
   * the next hot threshold uses `previousTotal` (the global total's per-instance share).
   */
  adopt(merged: MergedQTable, previousTotal: number): void {
    const slide = this.loads.slideIndex;
    for (let i = 0; i < merged.keys.length; i++) {
      const key = merged.keys[i];
      this.activate(key, this.coldOf(key), slide, merged.q, i * this.n);
      this.det.markHot(key);
    }
    this.det.setPreviousTotal(previousTotal);
  }
}

/** A Dalton partitioner (single or cooperative). */
export interface DaltonPartitioner extends Partitioner {
  /** The instances (one unless cooperative). */
  readonly cores: readonly DaltonCore[];
  /** True when the last `route` took the hot path. */
  readonly lastRouteHot: boolean;
  /** Number of cooperative merges done. */
  readonly merges: number;
}

/**
 * Builds a Dalton partitioner over `cores` (record i → core i mod m). With m > 1, every `syncMs`
 * of event time the cores' Q-tables are merged by {@link mergeQTables} and adopted by every core,
 * synchronously (in-process, so the original's adaptive sync interval and reward buffering, which
 * exist to hide message latency, are not needed). The next hot threshold is (global total / m) / P,
 * i.e. the global total scaled to one instance's share of the stream (our reading).
 */
export function daltonGroup(name: string, cores: DaltonCore[], syncMs: number, clock: { readonly nowMs: number }): DaltonPartitioner {
  const m = cores.length;
  const n = cores[0].n;
  let next = 0;
  let nextSync = -Infinity;
  let merges = 0;
  let lastCore = cores[0];
  function sync(now: number): void {
    const idx = Math.floor(now / syncMs);
    if (nextSync !== -Infinity) {
      const merged = mergeQTables(cores.map((c) => c.snapshot()), n, cores[0].opts.q0);
      for (const c of cores) {
        c.roll(now);
        c.adopt(merged, merged.total / m);
      }
      merges++;
    }
    nextSync = (idx + 1) * syncMs;
  }
  function routeCooperative(key: number): number {
    if (clock.nowMs >= nextSync) sync(clock.nowMs);
    const c = cores[next];
    next = next + 1 === m ? 0 : next + 1;
    lastCore = c;
    return c.route(key);
  }
  const first = cores[0];
  return {
    name,
    numWorkers: n,
    splitsKeys: n > 1,
    cores,
    get lastRouteHot() {
      return lastCore.lastRouteHot;
    },
    get merges() {
      return merges;
    },
    route: m === 1 ? (key: number): number => first.route(key) : routeCooperative,
    stats: () => {
      let hot = 0;
      for (const c of cores) hot = Math.max(hot, c.qSize);
      return { hotKeys: hot, tableVersion: 0 };
    },
  };
}

/** Creates `dalton` (cost reward; cooperative when `instances` > 1). */
export function createDalton(ctx: PartitionerContext, params: z.infer<typeof daltonParams>): DaltonPartitioner {
  const cores = Array.from({ length: params.instances }, (_, i) => new DaltonCore(daltonCoreOptions(ctx, params, 'cost', i), ctx.clock));
  return daltonGroup('dalton', cores, params.syncMs ?? params.slideMs, ctx.clock);
}
