// Turns zod validation failures into ConfigErrors that name the field and what was expected.
import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** Formats one zod issue as "path: message". */
export function formatIssue(issue: z.core.$ZodIssue, prefix: string): string {
  const path = [prefix, ...issue.path.map(String)].filter((s) => s !== '').join('.');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') {
    msg = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${path || '(root)'}: ${msg}`;
}

/**
 * Validates `value` against `schema`; on failure throws a ConfigError listing every bad field with
 * its dotted path (`prefix` is prepended, e.g. "partitioner.params").
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = '', file?: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => formatIssue(i, prefix));
  const first = r.error.issues[0];
  const field = [prefix, ...(first?.path ?? []).map(String)].filter((s) => s !== '').join('.');
  throw new ConfigError(`invalid ${file ? `config ${file}` : 'config'}:\n  ${lines.join('\n  ')}`, {
    field,
    expected: first?.message,
    file,
  });
}
