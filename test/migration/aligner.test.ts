// EpochAligner: markers released only when every input delivered them; records stay between their markers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/common/errors.js';
import { type BinMove, EpochAligner } from '../../src/engine/migration/index.js';

interface R {
  input: number;
  epoch: number;
  seq: number;
}

describe('EpochAligner', () => {
  it('holds items of an input that is ahead until every input delivered the marker', () => {
    const a = new EpochAligner<string>(2);
    const moves: BinMove[] = [{ bin: 0, from: 0, to: 1 }];
    expect(a.record(0, 'a0')).toBe(true);
    expect(a.marker(0, 1, moves)).toEqual([]);
    expect(a.record(0, 'b1')).toBe(false);
    expect(a.marker(0, 2, [])).toEqual([]);
    expect(a.record(0, 'c2')).toBe(false);
    expect(a.heldItems).toBe(3);
    expect(a.record(1, 'd0')).toBe(true);
    expect(a.marker(1, 1, [...moves])).toEqual([
      { kind: 'marker', epoch: 1, moves, replicas: [] },
      { kind: 'record', record: 'b1' },
    ]);
    expect(a.alignedEpoch).toBe(1);
    expect(a.record(1, 'e1')).toBe(true);
    expect(a.marker(1, 2, [])).toEqual([
      { kind: 'marker', epoch: 2, moves: [], replicas: [] },
      { kind: 'record', record: 'c2' },
    ]);
    expect(a.heldItems).toBe(0);
  });

  it('with one input passes everything through', () => {
    const a = new EpochAligner<number>(1);
    expect(a.record(0, 1)).toBe(true);
    expect(a.marker(0, 1, [])).toEqual([{ kind: 'marker', epoch: 1, moves: [], replicas: [] }]);
  });

  it('rejects inputs that disagree on the marker', () => {
    const a = new EpochAligner<number>(2);
    a.marker(0, 1, [{ bin: 0, from: 0, to: 1 }]);
    expect(() => a.marker(1, 1, [{ bin: 0, from: 0, to: 2 }])).toThrow(InvariantError);
    const b = new EpochAligner<number>(2);
    b.marker(0, 1, []);
    expect(() => b.marker(1, 2, [])).toThrow(InvariantError);
    expect(() => new EpochAligner<number>(0)).toThrow(InvariantError);
  });

  it('any interleaving: markers in order, each record between its markers, per-input order kept, nothing lost', () => {
    const scenario = fc.record({
      inputs: fc.integer({ min: 1, max: 5 }),
      epochs: fc.integer({ min: 0, max: 6 }),
      seed: fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
    });
    fc.assert(
      fc.property(scenario, ({ inputs, epochs, seed }) => {
        // each input: per epoch e, a few records of epoch e, then marker e+1 (except after the last epoch)
        let s = 0;
        const next = () => seed[s++ % seed.length];
        const streams: ({ kind: 'rec'; r: R } | { kind: 'marker'; epoch: number })[][] = [];
        let total = 0;
        for (let i = 0; i < inputs; i++) {
          const st: (typeof streams)[number] = [];
          let seq = 0;
          for (let e = 0; e <= epochs; e++) {
            const n = next() % 4;
            for (let k = 0; k < n; k++) st.push({ kind: 'rec', r: { input: i, epoch: e, seq: seq++ } });
            total += n;
            if (e < epochs) st.push({ kind: 'marker', epoch: e + 1 });
          }
          streams.push(st);
        }
        const a = new EpochAligner<R>(inputs);
        const out: ({ kind: 'rec'; r: R } | { kind: 'marker'; epoch: number })[] = [];
        const heads = new Array<number>(inputs).fill(0);
        for (;;) {
          const live = heads.map((h, i) => (h < streams[i].length ? i : -1)).filter((i) => i >= 0);
          if (live.length === 0) break;
          const i = live[next() % live.length];
          const it = streams[i][heads[i]++];
          if (it.kind === 'rec') {
            if (a.record(i, it.r)) out.push(it);
          } else {
            for (const x of a.marker(i, it.epoch, [])) out.push(x.kind === 'record' ? { kind: 'rec', r: x.record } : { kind: 'marker', epoch: x.epoch });
          }
        }
        expect(a.heldItems).toBe(0);
        let epoch = 0;
        const lastSeq = new Array<number>(inputs).fill(-1);
        let recs = 0;
        for (const x of out) {
          if (x.kind === 'marker') {
            expect(x.epoch).toBe(epoch + 1);
            epoch = x.epoch;
          } else {
            expect(x.r.epoch).toBe(epoch);
            expect(x.r.seq).toBe(lastSeq[x.r.input] + 1);
            lastSeq[x.r.input] = x.r.seq;
            recs++;
          }
        }
        expect(epoch).toBe(epochs);
        expect(recs).toBe(total);
      }),
      { numRuns: 300 },
    );
  });
});
