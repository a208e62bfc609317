// parseOrThrow: every bad field named with its dotted path; unknown fields list the valid ones.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../src/common/errors.js';
import { parseOrThrow } from '../../src/common/validate.js';

const schema = z.strictObject({
  rate: z.number().positive().default(1),
  inner: z
    .strictObject({ a: z.number(), b: z.string().optional() })
    .refine((v) => v.a >= 0, { message: 'a must be ≥ 0' })
    .default({ a: 0 }),
  list: z.array(z.strictObject({ x: z.number() })).default([]),
});

function messageOf(value: unknown): string {
  try {
    parseOrThrow(schema, value, 'job');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseOrThrow', () => {
  it('an unknown field lists the valid fields of its object, at any depth (through default, refine and arrays)', () => {
    expect(messageOf({ bogus: 1 })).toContain('job: unknown field(s) "bogus"; valid fields: rate, inner, list');
    expect(messageOf({ inner: { a: 1, c: 2 } })).toContain('job.inner: unknown field(s) "c"; valid fields: a, b');
    expect(messageOf({ list: [{ x: 1 }, { x: 2, y: 3 }] })).toContain('job.list.1: unknown field(s) "y"; valid fields: x');
  });

  it('other errors name the field and what was expected', () => {
    expect(messageOf({ rate: -1 })).toMatch(/job\.rate: .*>0/);
    expect(messageOf({ inner: { a: 'x' } })).toMatch(/job\.inner\.a: .*number/);
    expect(parseOrThrow(schema, {}, 'job')).toEqual({ rate: 1, inner: { a: 0 }, list: [] });
  });
});
