// Zod fragments shared by the windowed baselines' parameter schemas (window, slide, cold hash).
import { z } from 'zod';
import { DEFAULT_HASH_SEED } from './hashing.js';

/** `coldHash`: `murmur` (default, the fix) or `mod` (the originals' `key mod P` on ids; partitioners.md §1 pitfall 1). */
export const coldHashField = z.enum(['murmur', 'mod']).default('murmur');

/** Seed of the murmur cold hash. Default 38324 (= `hash`, so cold keys go where hash sends them). */
export const hashSeedField = z.number().int().default(DEFAULT_HASH_SEED);

/**
 * Window length in ms of event time. Default 10000. The Dalton originals measured windows in tuples
 * (event time = record index); SaS in ms.
 */
export const windowMsField = z.number().positive().default(10000);

/** Slide (and hot-key interval) in ms of event time. Default 1000. */
export const slideMsField = z.number().positive().default(1000);

/** Refinement: `windowMs` must be a whole multiple of `slideMs` (ADR 0001, window panes). */
export function windowMultipleOfSlide(o: { windowMs: number; slideMs: number }): boolean {
  const r = o.windowMs / o.slideMs;
  return Math.abs(r - Math.round(r)) < 1e-9 && r >= 1;
}

/** The zod issue options for {@link windowMultipleOfSlide}. */
export const windowMultipleMessage = { message: 'must be a positive whole multiple of slideMs', path: ['windowMs'] };
