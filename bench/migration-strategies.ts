// Benchmark (self-contained virtual-time simulation): latency and duration of all-at-once, fluid, batched and chunked migrations.
// Writes results/bench/migration-strategies.json and per-strategy latency timeline / CCDF text files.
// Usage: npx tsx bench/migration-strategies.ts [--rate 20000] [--seconds 4] [--workers 8] [--kb-per-key 4]
//
// Model (not the real engine, which the integrator owns): one open-loop source at a constant rate routes
// Zipf keys through a BinMap; P single-server FIFO workers run the real MigrationEndpoint; state messages
// cost serialisation on the sender, transfer on the sender's link and deserialisation on the receiver;
// each key's state is modelled as `kbPerKey` KB. Latency = completion − scheduled input time (Megaphone).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/common/rng.js';
import {
  BinMap,
  type EndpointOutput,
  type Installed,
  KeyedStateStore,
  entryCount,
  LatencyTimeline,
  MigrationCoordinator,
  MigrationEndpoint,
  type StateMsg,
  type StrategyName,
  createBinning,
  planMigration,
  validatePlan,
  writeLatencyFiles,
} from '../src/engine/migration/index.js';
import type { TaskOperator } from '../src/tasks/types.js';
import { AliasTable, rankToKeyIds, zipfProbabilities } from '../src/tasks/workloads/zipf.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const RATE = arg('--rate', 20_000); // records/s, open loop
const SECONDS = arg('--seconds', 4);
const P = arg('--workers', 8);
const KB_PER_KEY = arg('--kb-per-key', 4); // modelled state size per key
const BIN_BITS = 8;
const NUM_KEYS = 50_000;
const ZIPF = 1.0;
const SERVICE_MS = 0.1; // per record (10k records/s per worker)
const SERIALIZE_KB_PER_MS = 1000; // 1 GB/s
const LINK_KB_PER_MS = 125; // 1 Gbit/s per sender
const NET_LATENCY_MS = 0.2;
const MIGRATE_AT_MS = 1500;
const SLIDE_MS = 250;

interface Count {
  n: number;
}
const count: TaskOperator<Count> = {
  name: 'bench-count',
  kind: 'global',
  cost: () => 1,
  create: () => ({ n: 0 }),
  add: (s) => {
    s.n++;
  },
  merge: (a, b) => {
    a.n += b.n;
  },
  encode: (s) => s.n,
  decode: (d) => ({ n: d as number }),
  output: (s) => s.n,
};

type Item = { kind: 'rec'; epoch: number; key: number; t: number } | { kind: 'marker'; epoch: number; moves: readonly { bin: number; from: number; to: number }[] };

/** A binary min-heap of events by (time, seq). */
class Events {
  private readonly h: { t: number; s: number; f: () => void }[] = [];
  private seq = 0;
  push(t: number, f: () => void): void {
    const h = this.h;
    h.push({ t, s: this.seq++, f });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  pop(): { t: number; f: () => void } | undefined {
    const h = this.h;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as (typeof h)[number];
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
function less(a: { t: number; s: number }, b: { t: number; s: number }): boolean {
  return a.t < b.t || (a.t === b.t && a.s < b.s);
}

function run(strategy: StrategyName | 'none', seed = 1) {
  const binning = createBinning({ binBits: BIN_BITS, seed: 0 });
  let map = BinMap.initial(binning.numBins, P);
  const rng = new Rng(seed);
  const table = new AliasTable(zipfProbabilities(NUM_KEYS, ZIPF));
  const ids = rankToKeyIds(NUM_KEYS, seed);
  const timeline = new LatencyTimeline({ slideMs: SLIDE_MS });
  const ev = new Events();
  const total = Math.floor((RATE * SECONDS) / 1);
  const interval = 1000 / RATE;
  const binRate = new Float64Array(binning.numBins);

  let now = 0;
  let pendingTags: number[] = [];
  const stores = Array.from({ length: P }, () => new KeyedStateStore(count, binning.binOf));
  const eps = stores.map(
    (store, w) => new MigrationEndpoint({ worker: w, initialMap: map, store, onApplied: (_k, _p, tag) => pendingTags.push(tag) }),
  );
  const queues: Item[][] = Array.from({ length: P }, () => []);
  const qHead = new Array<number>(P).fill(0);
  const inbox: StateMsg[][] = Array.from({ length: P }, () => []);
  const busy = new Array<boolean>(P).fill(false);
  const linkFree = new Array<number>(P).fill(0);
  let coord: MigrationCoordinator | undefined;
  let migStart = NaN;
  let migEnd = NaN;
  let modelledKB = 0;

  const kick = (w: number): void => {
    if (busy[w]) return;
    let cost = 0;
    let out: EndpointOutput | undefined;
    pendingTags = [];
    if (inbox[w].length > 0) {
      const msg = inbox[w].shift() as StateMsg;
      out = eps[w].onState(msg);
      cost += (entryCount(msg.entries) * KB_PER_KEY) / SERIALIZE_KB_PER_MS; // deserialise
    } else if (qHead[w] < queues[w].length) {
      const it = queues[w][qHead[w]++];
      if (it.kind === 'rec') {
        if (eps[w].onRecord(it.epoch, it.key, 0, it.t)) cost += 0; // applied: cost counted below
      } else out = eps[w].onEpochMarker(it.epoch, it.moves);
    } else return;
    cost += pendingTags.length * SERVICE_MS;
    const done = now + cost;
    for (const t of pendingTags) timeline.record(done, done - t);
    if (out !== undefined) {
      for (const m of out.outgoing) {
        const kb = entryCount(m.entries) * KB_PER_KEY;
        modelledKB += kb;
        const ser = kb / SERIALIZE_KB_PER_MS;
        const sendStart = Math.max(linkFree[w], done + ser);
        linkFree[w] = sendStart + kb / LINK_KB_PER_MS;
        const arrive = linkFree[w] + NET_LATENCY_MS;
        ev.push(arrive, () => {
          inbox[m.to].push(m);
          kick(m.to);
        });
      }
      // serialisation blocks the sender's worker thread too
      const serTotal = out.outgoing.reduce((s, m) => s + (entryCount(m.entries) * KB_PER_KEY) / SERIALIZE_KB_PER_MS, 0);
      const acks: Installed[] = out.installed;
      for (const a of acks) ev.push(done + NET_LATENCY_MS, () => onAck(a));
      busy[w] = true;
      ev.push(done + serTotal, () => {
        busy[w] = false;
        kick(w);
      });
      return;
    }
    busy[w] = true;
    ev.push(done, () => {
      busy[w] = false;
      kick(w);
    });
  };

  const onAck = (a: Installed): void => {
    (coord as MigrationCoordinator).onInstalled(a, now);
    if (coord?.done) migEnd = now;
    else maybeRelease();
  };

  /** The router releases the next step as soon as the coordinator allows (the real router does it before a batch). */
  const maybeRelease = (): void => {
    const moves = coord?.release(map.version + 1, now);
    if (moves === undefined) return;
    map = map.withMoves(moves);
    for (let w = 0; w < P; w++) {
      queues[w].push({ kind: 'marker', epoch: map.version, moves });
      kick(w);
    }
  };

  let emitted = 0;
  const emit = (): void => {
    if (strategy !== 'none' && coord === undefined && now >= MIGRATE_AT_MS) {
      // a seeded random half of the bins moves to a random other worker
      const pick = new Rng(seed + 99);
      const target = BinMap.fromOwners(
        Array.from(map.owners, (o) => (pick.int(2) === 0 ? (o + 1 + pick.int(P - 1)) % P : o)),
        P,
      );
      const plan = planMigration(map, target, strategy, { order: 'hot-first', chunkSize: 16 }, { binRate });
      validatePlan(plan, map, P, binning.numBins);
      coord = new MigrationCoordinator(plan);
      migStart = now;
    }
    maybeRelease();
    const key = ids[table.sample(rng)];
    const bin = binning.binOf(key);
    binRate[bin]++;
    const w = map.owners[bin];
    queues[w].push({ kind: 'rec', epoch: map.version, key, t: now });
    kick(w);
    if (++emitted < total) ev.push(emitted * interval, emit);
  };
  ev.push(0, emit);
  for (let e = ev.pop(); e !== undefined; e = ev.pop()) {
    now = e.t;
    e.f();
  }

  // exactness: every record counted once
  let counted = 0;
  for (const s of stores) for (const k of s.keys()) counted += s.get(k)?.n ?? 0;
  const summary = coord?.metrics.summary();
  const rows = timeline.rows();
  const during = rows.filter((r) => !Number.isNaN(migStart) && r.slideStartMs + SLIDE_MS > migStart && r.slideStartMs <= (Number.isNaN(migEnd) ? Infinity : migEnd) + 1000);
  const maxDuring = during.reduce((m, r) => Math.max(m, r.maxMs), 0);
  const p = timeline.total;
  return {
    strategy,
    exact: counted === total,
    records: total,
    steps: summary?.steps.length ?? 0,
    migrationDurationMs: summary?.durationMs ?? 0,
    migrationSpanMs: Number.isNaN(migEnd) ? null : migEnd - migStart,
    modelledMB: modelledKB / 1024,
    movedBins: summary?.moves ?? 0,
    replayedRecords: summary?.replayed ?? 0,
    maxBufferedPerWorker: Math.max(...eps.map((e) => e.maxBufferedRecords)),
    maxLatencyDuringMigrationMs: maxDuring,
    p50Ms: p.getValueAtPercentile(50) / 1000,
    p99Ms: p.getValueAtPercentile(99) / 1000,
    maxMs: p.maxValue / 1000,
    timeline,
  };
}

const outDir = 'results/bench';
mkdirSync(outDir, { recursive: true });
const results = [];
for (const s of ['none', 'all-at-once', 'batched', 'chunked', 'fluid'] as const) {
  const t0 = performance.now();
  const { timeline, ...r } = run(s);
  const files = writeLatencyFiles(outDir, `migration-${s}`, timeline);
  results.push({ ...r, files, wallMs: Math.round(performance.now() - t0) });
  console.log(
    `${s.padEnd(12)} exact=${r.exact} steps=${r.steps} duration=${r.migrationDurationMs.toFixed(1)}ms span=${r.migrationSpanMs?.toFixed(1) ?? '-'}ms ` +
      `maxLatDuring=${r.maxLatencyDuringMigrationMs.toFixed(1)}ms p99=${r.p99Ms.toFixed(2)}ms max=${r.maxMs.toFixed(1)}ms moved=${r.modelledMB.toFixed(0)}MB`,
  );
}
const out = join(outDir, 'migration-strategies.json');
writeFileSync(
  out,
  JSON.stringify(
    {
      params: { RATE, SECONDS, P, KB_PER_KEY, BIN_BITS, NUM_KEYS, ZIPF, SERVICE_MS, SERIALIZE_KB_PER_MS, LINK_KB_PER_MS, NET_LATENCY_MS, MIGRATE_AT_MS, SLIDE_MS },
      results,
    },
    null,
    2,
  ),
);
console.log(`wrote ${out}`);
