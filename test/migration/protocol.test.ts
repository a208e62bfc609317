// MigrationEndpoint: hand-over scenarios step by step (buffering, early state, move back, deferred export) and misuse.
import { describe, expect, it } from 'vitest';
import { InvariantError, PlanError } from '../../src/common/errors.js';
import { BinMap, KeyedStateStore, MigrationEndpoint, type StateMsg, createBinning } from '../../src/engine/migration/index.js';
import { type CountState, keyedCount } from './keyed-count.js';

const binning = createBinning({ binBits: 2 }); // 4 bins
/** Keys of `bin`, ascending. */
const keysOf = (bin: number, n: number): number[] => {
  const out: number[] = [];
  for (let k = 0; out.length < n; k++) if (binning.binOf(k) === bin) out.push(k);
  return out;
};

function setup(P: number) {
  const map = BinMap.initial(binning.numBins, P);
  const applied: [number, number, number][] = []; // [worker, key, tag]
  const stores = Array.from({ length: P }, () => new KeyedStateStore<CountState>(keyedCount, binning.binOf));
  const eps = stores.map(
    (store, w) => new MigrationEndpoint({ worker: w, initialMap: map, store, onApplied: (k, _p, tag) => applied.push([w, k, tag]) }),
  );
  return { map, stores, eps, applied };
}

describe('MigrationEndpoint', () => {
  it('buffers records of an incoming bin until its state arrives, then replays them in order; other bins flow', () => {
    const { stores, eps, applied } = setup(2);
    const [k0, k1] = keysOf(0, 2); // bin 0 owned by worker 0
    const kb1 = keysOf(1, 1)[0]; // bin 1 owned by worker 1
    expect(eps[0].onRecord(0, k0, 1, 100)).toBe(true);
    expect(eps[0].onRecord(0, k1, 2, 101)).toBe(true);
    const move = [{ bin: 0, from: 0, to: 1 }];
    const o1 = eps[1].onEpochMarker(1, move); // destination sees the marker first
    expect(o1).toEqual({ outgoing: [], installed: [] });
    expect(eps[1].onRecord(1, k0, 5, 102)).toBe(false);
    expect(eps[1].onRecord(1, kb1, 7, 103)).toBe(true); // bin 1 is not blocked
    expect(eps[1].onRecord(1, k0, 6, 104)).toBe(false);
    expect(eps[1].bufferedRecords).toBe(2);
    expect(eps[1].awaitedBins()).toEqual([0]);
    const o0 = eps[0].onEpochMarker(1, move);
    expect(o0.outgoing).toHaveLength(1);
    const msg = o0.outgoing[0];
    expect(msg).toMatchObject({ type: 'migration.state', epoch: 1, bin: 0, from: 0, to: 1 });
    expect(msg.entries).toEqual([
      [k0, [1, 1]],
      [k1, [1, 2]],
    ]);
    expect(stores[0].size).toBe(0);
    const o2 = eps[1].onState(structuredClone(msg));
    expect(o2.installed).toEqual([{ type: 'migration.installed', epoch: 1, bin: 0, from: 0, to: 1, bytes: msg.bytes, replayed: 2 }]);
    expect(o2.outgoing).toEqual([]);
    expect(stores[1].get(k0)).toEqual({ n: 3, sum: 12 });
    expect(stores[1].get(k1)).toEqual({ n: 1, sum: 2 });
    expect(applied.map((a) => a[2])).toEqual([100, 101, 103, 102, 104]);
    expect(eps[0].idle && eps[1].idle).toBe(true);
    expect(eps[1].maxBufferedRecords).toBe(2);
    expect(eps[1].bufferedRecords).toBe(0);
  });

  it('standby copy: a snapshot at the first marker, then only the keys changed since travel with the move; a delta waits for its snapshot', () => {
    const { stores, eps } = setup(2);
    const [k0, k1, k2] = keysOf(0, 3); // bin 0 owned by worker 0
    eps[0].onRecord(0, k0, 1, 1);
    eps[0].onRecord(0, k1, 2, 2);
    // marker 1: no move yet, a standby copy of bin 0 on worker 1
    const r0 = eps[0].onEpochMarker(1, [], [{ bin: 0, worker: 1 }]);
    const r1 = eps[1].onEpochMarker(1, [], [{ bin: 0, worker: 1 }]);
    expect(r1.outgoing).toEqual([]); // worker 1 does not own bin 0
    expect(r0.outgoing).toHaveLength(1);
    const replica = r0.outgoing[0];
    expect(replica).toMatchObject({ type: 'migration.state', kind: 'replica', epoch: 1, bin: 0, from: 0, to: 1 });
    expect(replica.entries).toEqual([
      [k0, [1, 1]],
      [k1, [1, 2]],
    ]);
    expect(stores[0].size).toBe(2); // a copy: the owner keeps the bin
    // after the snapshot, k1 changes and k2 appears; k0 does not change
    eps[0].onRecord(1, k1, 10, 3);
    eps[0].onRecord(1, k2, 20, 4);
    const move = [{ bin: 0, from: 0, to: 1 }];
    const d0 = eps[0].onEpochMarker(2, move);
    expect(d0.outgoing).toHaveLength(1);
    const delta = d0.outgoing[0];
    expect(delta).toMatchObject({ kind: 'delta', epoch: 2, bin: 0, from: 0, to: 1 });
    expect(delta.entries).toEqual([
      [k1, [2, 12]],
      [k2, [1, 20]],
    ]);
    expect(stores[0].size).toBe(0);
    eps[1].onEpochMarker(2, move);
    expect(eps[1].onRecord(2, k0, 5, 5)).toBe(false); // buffered until the state is complete
    // the delta overtakes the snapshot: nothing is installed until the snapshot is there
    expect(eps[1].onState(structuredClone(delta))).toEqual({ outgoing: [], installed: [] });
    expect(eps[1].awaitedBins()).toEqual([0]);
    const done = eps[1].onState(structuredClone(replica));
    expect(done.installed).toEqual([{ type: 'migration.installed', epoch: 2, bin: 0, from: 0, to: 1, bytes: delta.bytes, replayed: 1, replicaBytes: replica.bytes }]);
    expect(stores[1].get(k0)).toEqual({ n: 2, sum: 6 }); // snapshot entry + the replayed record
    expect(stores[1].get(k1)).toEqual({ n: 2, sum: 12 }); // the delta's state replaced the snapshot's, not merged into it
    expect(stores[1].get(k2)).toEqual({ n: 1, sum: 20 });
    expect(eps[0].idle && eps[1].idle).toBe(true);
    expect(eps[1].replicaBins()).toEqual([]);
  });

  it('keeps a state message that arrives before its marker and installs it at the marker', () => {
    const { stores, eps } = setup(2);
    const k = keysOf(0, 1)[0];
    eps[0].onRecord(0, k, 3);
    const move = [{ bin: 0, from: 0, to: 1 }];
    const msg = eps[0].onEpochMarker(1, move).outgoing[0];
    expect(eps[1].onState(msg)).toEqual({ outgoing: [], installed: [] });
    expect(eps[1].idle).toBe(false);
    expect(stores[1].get(k)).toBeUndefined();
    const o = eps[1].onEpochMarker(1, move);
    expect(o.installed).toHaveLength(1);
    expect(eps[1].onRecord(1, k, 4)).toBe(true);
    expect(stores[1].get(k)).toEqual({ n: 2, sum: 7 });
    expect(eps[1].idle).toBe(true);
  });

  it('move back A→B→A in consecutive epochs before the first state arrived: B exports after installing', () => {
    const { stores, eps, applied } = setup(2);
    const k = keysOf(0, 1)[0];
    eps[0].onRecord(0, k, 1, 1);
    const m1 = [{ bin: 0, from: 0, to: 1 }];
    const m2 = [{ bin: 0, from: 1, to: 0 }];
    // B (worker 1) sees both markers and an epoch-1 record before any state arrives.
    eps[1].onEpochMarker(1, m1);
    expect(eps[1].onRecord(1, k, 10, 2)).toBe(false);
    expect(eps[1].onEpochMarker(2, m2)).toEqual({ outgoing: [], installed: [] }); // export deferred
    // A exports at 1, then at 2 waits for the bin to come back and buffers epoch-2 records.
    const s1 = eps[0].onEpochMarker(1, m1).outgoing;
    expect(s1).toHaveLength(1);
    eps[0].onEpochMarker(2, m2);
    expect(eps[0].onRecord(2, k, 100, 3)).toBe(false);
    // B gets the state: installs, replays its epoch-1 record, then exports for epoch 2.
    const ob = eps[1].onState(s1[0]);
    expect(ob.installed.map((i) => [i.epoch, i.replayed])).toEqual([[1, 1]]);
    expect(ob.outgoing.map((m) => [m.epoch, m.from, m.to])).toEqual([[2, 1, 0]]);
    expect(ob.outgoing[0].entries).toEqual([[k, [2, 11]]]);
    const oa = eps[0].onState(ob.outgoing[0]);
    expect(oa.installed.map((i) => [i.epoch, i.replayed])).toEqual([[2, 1]]);
    expect(stores[0].get(k)).toEqual({ n: 3, sum: 111 });
    expect(stores[1].size).toBe(0);
    expect(applied.map((a) => a[2])).toEqual([1, 2, 3]);
    expect(eps.every((e) => e.idle)).toBe(true);
  });

  it('rejects misrouted records, stale epochs, non-increasing markers, bad moves and misaddressed or duplicate state', () => {
    const { eps } = setup(2);
    const k0 = keysOf(0, 1)[0]; // owned by worker 0
    expect(() => eps[1].onRecord(0, k0, 1)).toThrow(InvariantError);
    expect(() => eps[0].onRecord(1, k0, 1)).toThrow(InvariantError);
    expect(() => eps[0].onEpochMarker(0, [])).toThrow(InvariantError);
    try {
      eps[0].onEpochMarker(1, [{ bin: 1, from: 0, to: 1 }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).context).toMatchObject({ step: 1, bin: 1, reason: 'not-owner' });
    }
    expect(eps[0].epoch).toBe(0); // a rejected marker changes nothing
    const msg: StateMsg = { type: 'migration.state', epoch: 1, bin: 0, from: 0, to: 1, entries: [], bytes: 8 };
    expect(() => eps[0].onState(msg)).toThrow(InvariantError);
    eps[1].onState(msg);
    expect(() => eps[1].onState(msg)).toThrow(InvariantError);
  });

  it('rejects state from the wrong sender when its marker is processed', () => {
    const { eps } = setup(3);
    eps[1].onState({ type: 'migration.state', epoch: 1, bin: 0, from: 2, to: 1, entries: [], bytes: 8 });
    expect(() => eps[1].onEpochMarker(1, [{ bin: 0, from: 0, to: 1 }])).toThrow(InvariantError);
  });
});
