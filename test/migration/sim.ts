// In-memory driver of the migration protocol: one router, P endpoints, FIFO data channels, state and ack
// messages delivered in random order, all chosen by a seeded RNG. Checks exactness against a run without migration.
import { Rng } from '../../src/common/rng.js';
import {
  BinMap,
  type BinMove,
  EpochAligner,
  type Installed,
  KeyedStateStore,
  MigrationEndpoint,
  MigrationRouter,
  type MigrationPlan,
  type Replica,
  type StateMsg,
  type StrategyName,
  createBinning,
  planMigration,
  validatePlan,
} from '../../src/engine/migration/index.js';
import { keyedCount, keyedSum } from './keyed-count.js';
import type { TaskOperator } from '../../src/tasks/types.js';

/** How the plans of a run are made. */
export type PlanSource = StrategyName | 'walk';

/** Parameters of one simulated run. */
export interface SimConfig {
  readonly seed: number;
  readonly P: number;
  readonly binBits: number;
  readonly numKeys: number;
  readonly records: number;
  /** Plans run one after another; each a random target map planned with the strategy, or a random walk. */
  readonly plans: number;
  readonly source: PlanSource;
  /** Steps of a plan in flight at once (1 = Megaphone's rule; Infinity = overlapping configurations). */
  readonly maxInFlight: number;
  /** Stop creating plans once this many moves were planned. */
  readonly maxMoves: number;
  /** Input channels per worker (parallel source partitions); > 1 needs marker alignment (EpochAligner). Default 1. */
  readonly inputs?: number;
  /** Give the hot keys a bin of their own (Binning `isolate`). Default false. */
  readonly isolateHot?: boolean;
  /** Standby copies: the share of each plan's moves that get one (planner `replicate`; walk plans: random bins). Default 0. */
  readonly replicate?: number;
  /** Steps before its bin's move at which a standby copy is made (coordinator `replicaLeadSteps`). Default 1. */
  readonly replicaLead?: number;
  /** Use `keyedSum`, whose stores hold numbers (`TaskOperator.numeric`), instead of `keyedCount`. Default false. */
  readonly numeric?: boolean;
  /** Test hook: drop the n-th state message (to show the oracle catches a loss). */
  readonly dropStateMsg?: number;
  /** Test hook: duplicate the n-th record on its channel (to show the oracle catches a duplicate). */
  readonly duplicateRecord?: number;
}

/** What a run observed. `problems` is empty when the run was exact. */
export interface SimResult {
  readonly problems: string[];
  readonly moves: number;
  readonly steps: number;
  readonly epochs: number;
  readonly stateMsgs: number;
  readonly replayed: number;
  readonly maxBuffered: number;
  /** Exports that waited for the bin's own incoming state (a bin moved on before its state arrived). */
  readonly deferredExports: number;
  /** State messages delivered before the destination processed their marker. */
  readonly earlyStates: number;
  /** Standby copies shipped, and moves that sent only the keys changed since one (deltas). */
  readonly replicaMsgs: number;
  readonly deltas: number;
  /** Deltas delivered before the standby copy they complete (the destination must wait for it). */
  readonly deltasBeforeReplica: number;
}

type DataItem =
  | { kind: 'rec'; epoch: number; key: number; payload: number; tag: number }
  | { kind: 'marker'; epoch: number; moves: readonly BinMove[]; replicas: readonly Replica[] };

/** A random walk plan: `steps` steps, each moving a few distinct bins to a random other worker (bins may move back and forth). */
function walkPlan(rng: Rng, map: BinMap, steps: number, maxPerStep: number, replicate: number): MigrationPlan {
  const owners = map.owners.slice();
  const out: { moves: BinMove[] }[] = [];
  for (let s = 0; s < steps; s++) {
    const n = 1 + rng.int(maxPerStep);
    const bins = new Set<number>();
    for (let i = 0; i < n; i++) bins.add(rng.int(owners.length));
    const moves: BinMove[] = [];
    for (const bin of bins) {
      const from = owners[bin];
      const to = (from + 1 + rng.int(map.numWorkers - 1)) % map.numWorkers;
      moves.push({ bin, from, to });
      owners[bin] = to;
    }
    out.push({ moves });
  }
  // standby copies of some moved bins, each on the worker the plan first moves it to
  const replicas: Replica[] = [];
  const seen = new Set<number>();
  for (const st of out) {
    for (const m of st.moves) {
      if (seen.has(m.bin)) continue;
      seen.add(m.bin);
      if (rng.next() < replicate) replicas.push({ bin: m.bin, worker: m.to });
    }
  }
  return { steps: out, replicas };
}

/** Runs one simulation. Never throws for protocol mismatches it can detect; returns them as problems. */
export function simulate(cfg: SimConfig): SimResult {
  const rng = new Rng(cfg.seed);
  const hotRng = new Rng(cfg.seed ^ 0x51ab);
  const hot = [...new Set(Array.from({ length: 4 }, () => hotRng.int(cfg.numKeys)))];
  const binning = createBinning({ binBits: cfg.binBits, seed: cfg.seed & 0xff, isolate: cfg.isolateHot ? hot : [] });
  const P = cfg.P;
  const router = new MigrationRouter(binning, P);
  const initialMap = router.map;
  const problems: string[] = [];

  // oracle: the same records applied to one store without migration, and per-key apply order
  const op = (cfg.numeric ? keyedSum : keyedCount) as TaskOperator<unknown>;
  const reference = new KeyedStateStore(op, binning.binOf);
  const lastTag = new Map<number, number>();
  const stores = Array.from({ length: P }, () => new KeyedStateStore(op, binning.binOf));
  const eps = stores.map(
    (store, w) =>
      new MigrationEndpoint({
        worker: w,
        initialMap,
        store,
        onApplied: (key, _payload, tag) => {
          const prev = lastTag.get(key) ?? -1;
          if (tag <= prev) problems.push(`key ${key}: record ${tag} applied after ${prev}`);
          lastTag.set(key, tag);
        },
      }),
  );

  const C = cfg.inputs ?? 1;
  const data: DataItem[][] = Array.from({ length: P * C }, () => []); // channel w*C + c
  const dataHead = new Array<number>(P * C).fill(0);
  type Rec = Extract<DataItem, { kind: 'rec' }>;
  const aligners = Array.from({ length: P }, () => new EpochAligner<Rec>(C, initialMap.version));
  const states: StateMsg[] = [];
  const acks: Installed[] = [];
  let stateCount = 0;
  let recordsLeft = cfg.records;
  let plansLeft = cfg.plans;
  let movesPlanned = 0;
  let steps = 0;
  let replayed = 0;
  let now = 0;
  let tag = 0;
  // per-run action weights, so some runs deliver state late (much buffering) and others early
  const weight = () => 1 << rng.int(6); // 1..32
  const wRecord = weight();
  const wData = weight();
  const wState = weight();
  const wAck = weight();
  const wRelease = weight();
  let deferredExports = 0;
  let earlyStates = 0;
  let replicaMsgs = 0;
  let deltas = 0;
  let deltasBeforeReplica = 0;

  const emit = (out: { outgoing: StateMsg[]; installed: Installed[] }) => {
    for (const m of out.outgoing) {
      stateCount++;
      if (m.kind === 'replica') replicaMsgs++;
      if (m.kind === 'delta') deltas++;
      if (cfg.dropStateMsg === stateCount) continue;
      states.push(m);
    }
    for (const i of out.installed) {
      replayed += i.replayed;
      acks.push(i);
    }
  };

  const newPlan = (): void => {
    if (plansLeft === 0 || movesPlanned >= cfg.maxMoves) {
      plansLeft = 0;
      return;
    }
    plansLeft--;
    const map = router.map;
    let plan: MigrationPlan;
    if (cfg.source === 'walk' || P === 1) {
      plan = P === 1 ? { steps: [{ moves: [] }], replicas: [] } : walkPlan(rng, map, 1 + rng.int(12), 1 + rng.int(Math.max(1, binning.numBins >> 1)), cfg.replicate ?? 0);
    } else {
      const target = BinMap.fromOwners(
        Array.from({ length: binning.numBins }, (_, b) => (rng.int(3) === 0 ? map.owners[b] : rng.int(P))),
        P,
      );
      const binRate = Array.from({ length: binning.numBins }, () => rng.int(100));
      const order = (['hot-first', 'bin', 'random'] as const)[rng.int(3)];
      plan = planMigration(map, target, cfg.source, { order, seed: rng.int(1000), chunkSize: 1 + rng.int(8), replicate: cfg.replicate ?? 0 }, { binRate });
    }
    validatePlan(plan, map, P, binning.numBins);
    movesPlanned += plan.steps.reduce((n, s) => n + s.moves.length, 0);
    router.start(plan, { maxInFlight: cfg.maxInFlight, replicaLeadSteps: cfg.replicaLead ?? 1 });
  };

  for (let iter = 0; ; iter++) {
    now = iter;
    while (!router.migrating && plansLeft > 0) newPlan();
    const canRecord = recordsLeft > 0;
    const canRelease = router.ready(now);
    const channels: number[] = [];
    for (let ch = 0; ch < P * C; ch++) if (dataHead[ch] < data[ch].length) channels.push(ch);
    const total =
      (canRecord ? wRecord + 1 : 0) + (canRelease ? wRelease : 0) + (channels.length > 0 ? wData : 0) + (states.length > 0 ? wState : 0) + (acks.length > 0 ? wAck : 0);
    if (total === 0) {
      if (router.migrating || plansLeft > 0) problems.push('stuck: a migration cannot complete');
      break;
    }
    let r = rng.int(total);
    if (canRecord && (r -= wRecord) < 0) {
      const key = rng.int(3) === 0 ? hot[rng.int(hot.length)] : rng.int(cfg.numKeys);
      const payload = rng.int(1000);
      const w = router.route(key);
      const item: DataItem = { kind: 'rec', epoch: router.epoch, key, payload, tag: tag++ };
      const ch = w * C + (key % C); // a key always uses one input (as a keyed source partition), so its order is defined
      data[ch].push(item);
      if (cfg.duplicateRecord === item.tag) data[ch].push(item);
      reference.add(key, payload);
      recordsLeft--;
    } else if (canRecord && (r -= 1) < 0) {
      // an epoch change that is not a migration step (e.g. a partitioner table version)
      const marker = router.advance();
      for (let ch = 0; ch < P * C; ch++) data[ch].push({ kind: 'marker', epoch: marker.epoch, moves: marker.moves, replicas: [] });
    } else if (canRelease && (r -= wRelease) < 0) {
      const marker = router.poll(now);
      if (marker === undefined) throw new Error('poll released nothing although ready');
      steps++;
      for (let ch = 0; ch < P * C; ch++) data[ch].push({ kind: 'marker', epoch: marker.epoch, moves: marker.moves, replicas: marker.replicas ?? [] });
    } else if (channels.length > 0 && (r -= wData) < 0) {
      const ch = channels[rng.int(channels.length)];
      const w = Math.floor(ch / C);
      const item = data[ch][dataHead[ch]++];
      if (item.kind === 'rec') {
        if (aligners[w].record(ch % C, item)) eps[w].onRecord(item.epoch, item.key, item.payload, item.tag);
      } else {
        for (const it of aligners[w].marker(ch % C, item.epoch, item.moves, item.replicas)) {
          if (it.kind === 'record') eps[w].onRecord(it.record.epoch, it.record.key, it.record.payload, it.record.tag);
          else emit(eps[w].onEpochMarker(it.epoch, it.moves, it.replicas));
        }
      }
    } else if (states.length > 0 && (r -= wState) < 0) {
      const i = rng.int(states.length);
      const m = states[i];
      states[i] = states[states.length - 1];
      states.pop();
      if (m.epoch > eps[m.to].epoch) earlyStates++;
      if (m.kind === 'delta' && !eps[m.to].replicaBins().includes(m.bin)) deltasBeforeReplica++;
      const out = eps[m.to].onState(structuredClone(m));
      deferredExports += out.outgoing.length;
      emit(out);
    } else {
      const i = rng.int(acks.length);
      const a = acks[i];
      acks[i] = acks[acks.length - 1];
      acks.pop();
      router.onInstalled(a, now);
    }
  }

  // final-state checks: every key in exactly one store, at its bin's final owner, equal to the reference
  const map = router.map;
  const seen = new Map<number, number>();
  stores.forEach((s, w) => {
    for (const k of s.keys()) {
      if (seen.has(k)) problems.push(`key ${k} held by workers ${seen.get(k)} and ${w}`);
      seen.set(k, w);
      if (map.ownerOf(binning.binOf(k)) !== w) problems.push(`key ${k} held by ${w}, owner is ${map.ownerOf(binning.binOf(k))}`);
    }
  });
  const merged = new Map<number, unknown>();
  for (const s of stores) for (const [k, v] of s.snapshot()) merged.set(k, v);
  const ref = reference.snapshot();
  for (const [k, v] of ref) {
    const got = merged.get(k);
    if (JSON.stringify(got) !== JSON.stringify(v)) problems.push(`key ${k}: expected ${JSON.stringify(v)}, got ${JSON.stringify(got)}`);
  }
  for (const k of merged.keys()) if (!ref.has(k)) problems.push(`key ${k} appeared from nowhere`);
  eps.forEach((e, w) => {
    if (!e.idle) problems.push(`worker ${w} not idle: awaiting bins ${e.awaitedBins().join(',')}`);
    if (e.epoch !== map.version) problems.push(`worker ${w} at epoch ${e.epoch}, router at ${map.version}`);
    if (aligners[w].heldItems !== 0) problems.push(`worker ${w}: aligner still holds ${aligners[w].heldItems} items`);
    if (e.replicaBins().length > 0) problems.push(`worker ${w} still holds standby copies of bins ${e.replicaBins().join(',')}`);
  });
  return {
    problems,
    moves: movesPlanned,
    steps,
    epochs: map.version,
    stateMsgs: stateCount,
    replayed,
    maxBuffered: Math.max(...eps.map((e) => e.maxBufferedRecords)),
    deferredExports,
    earlyStates,
    replicaMsgs,
    deltas,
    deltasBeforeReplica,
  };
}
