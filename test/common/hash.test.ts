import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
// @ts-expect-error no types shipped
import mm from 'murmurhash3js-revisited';
import { murmur3Int, murmur3String } from '../../src/common/hash.js';

function leBytes(k: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, k, true);
  return b;
}

describe('murmur3', () => {
  it('matches the reference x86_32 on 4-byte little-endian ints', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (k, seed) => {
        expect(murmur3Int(k, seed)).toBe(mm.x86.hash32(leBytes(k), seed) >>> 0);
      }),
    );
  });
  it('matches the reference on UTF-8 strings of every tail length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 1000 }), (s, seed) => {
        expect(murmur3String(s, seed)).toBe(mm.x86.hash32(new Uint8Array(Buffer.from(s, 'utf8')), seed) >>> 0);
      }),
    );
  });
  it('golden: four zero bytes, seed 0, hash to 0x2362f9de', () => {
    // Known value: MurmurHash3_x86_32 of four zero bytes with seed 0.
    expect(murmur3Int(0, 0).toString(16)).toBe('2362f9de');
  });
});
