// Bins: top bits of murmur3, validation of binBits, the versioned BinMap and diffMaps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, PlanError } from '../../src/common/errors.js';
import { murmur3Int } from '../../src/common/hash.js';
import { BinMap, binOf, createBinning, diffMaps } from '../../src/engine/migration/index.js';

describe('binOf', () => {
  it('is the top binBits bits of murmur3Int(key, seed)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 1000 }), (k, bits, seed) => {
        const b = binOf(k, bits, seed);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(2 ** bits);
        expect(b).toBe(Math.floor(murmur3Int(k, seed) / 2 ** (32 - bits)));
      }),
    );
  });

  it('golden: key 0, seed 0 (murmur3 0x2362f9de) → 0x23 with 8 bits, 0x2362 with 16, 0 with 1', () => {
    expect(binOf(0, 8)).toBe(0x23);
    expect(binOf(0, 16)).toBe(0x2362);
    expect(binOf(0, 1)).toBe(0);
  });

  it('spreads dense keys evenly: 16 bins, 16000 keys, every bin within ±15% of the mean', () => {
    const c = new Array<number>(16).fill(0);
    for (let k = 0; k < 16000; k++) c[binOf(k, 4)]++;
    for (const x of c) expect(Math.abs(x - 1000)).toBeLessThan(150);
  });

  it.each([0, 17, 1.5, -1, Number.NaN])('rejects binBits=%s with a ConfigError naming binBits', (bits) => {
    try {
      binOf(1, bits);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).context.field).toBe('binBits');
    }
  });

  it('createBinning validates with zod, names the field, and matches binOf', () => {
    const b = createBinning({ binBits: 6, seed: 7 });
    expect(b.numBins).toBe(64);
    for (let k = 0; k < 100; k++) expect(b.binOf(k)).toBe(binOf(k, 6, 7));
    expect(createBinning().numBins).toBe(1024);
    for (const bad of [{ binBits: 0 }, { binBits: 17 }, { binBits: 'x' }]) {
      try {
        createBinning(bad);
        expect.unreachable();
      } catch (e) {
        expect((e as ConfigError).code).toBe('CONFIG_INVALID');
        expect((e as ConfigError).context.field).toBe('migration.binning.binBits');
      }
    }
  });
});

describe('isolated keys (bins of one)', () => {
  it('give each isolated key bin 2^binBits + i and leave the others hashed', () => {
    const b = createBinning({ binBits: 3, isolate: [42, 7] });
    expect(b.numBins).toBe(10);
    expect(b.isolated).toEqual([42, 7]);
    expect(b.binOf(42)).toBe(8);
    expect(b.binOf(7)).toBe(9);
    for (let k = 0; k < 200; k++) if (k !== 42 && k !== 7) expect(b.binOf(k)).toBe(binOf(k, 3));
    expect(BinMap.initial(b.numBins, 4).ownerOf(9)).toBe(1);
  });

  it('rejects repeated or negative keys naming migration.binning.isolate', () => {
    for (const bad of [[1, 1], [-1]]) {
      try {
        createBinning({ binBits: 3, isolate: bad });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect(String((e as ConfigError).context.field)).toMatch(/^migration\.binning\.isolate/);
      }
    }
  });
});

describe('BinMap', () => {
  it('initial owner of bin i is i mod P, version 0', () => {
    const m = BinMap.initial(10, 3);
    expect([...m.owners]).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    expect(m.version).toBe(0);
    expect(m.binsPerWorker()).toEqual([4, 3, 3]);
  });

  it('withMoves returns the next version and leaves the receiver unchanged', () => {
    const m = BinMap.initial(4, 2);
    const n = m.withMoves([{ bin: 0, from: 0, to: 1 }]);
    expect(n.version).toBe(1);
    expect([...n.owners]).toEqual([1, 1, 0, 1]);
    expect([...m.owners]).toEqual([0, 1, 0, 1]);
    expect(diffMaps(m, n)).toEqual([{ bin: 0, from: 0, to: 1 }]);
  });

  it('withMoves rejects a move whose from is not the owner', () => {
    expect(() => BinMap.initial(4, 2).withMoves([{ bin: 1, from: 0, to: 1 }])).toThrow(PlanError);
  });

  it('fromOwners rejects an owner outside [0, P) and bad sizes', () => {
    expect(() => BinMap.fromOwners([0, 2], 2)).toThrow(PlanError);
    expect(() => BinMap.initial(4, 0)).toThrow(ConfigError);
  });

  it('diffMaps lists exactly the bins whose owner differs, ascending', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), (P, raw) => {
        const a = BinMap.initial(raw.length, P);
        const b = BinMap.fromOwners(
          raw.map((x) => x % P),
          P,
        );
        const d = diffMaps(a, b);
        expect(a.withMoves(d).owners).toEqual(b.owners);
        expect(d.map((m) => m.bin)).toEqual([...d.map((m) => m.bin)].sort((x, y) => x - y));
        expect(d.every((m) => m.from !== m.to)).toBe(true);
      }),
    );
  });
});
