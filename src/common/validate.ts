// Turns zod validation failures into ConfigErrors that name the field and what was expected.
import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** Minimal view of a zod schema's definition, enough to walk to an object's fields. */
interface SchemaNode {
  shape?: Record<string, unknown>;
  _zod?: { def?: { innerType?: unknown; in?: unknown; element?: unknown } };
}

/** The field names of the object schema at `path` inside `schema` (through optional, default, pipe and array), or undefined. */
function fieldsAt(schema: unknown, path: readonly PropertyKey[]): string[] | undefined {
  const unwrap = (s: unknown): SchemaNode | undefined => {
    let n = s as SchemaNode | undefined;
    for (let i = 0; i < 16 && n?._zod?.def && n.shape === undefined; i++) {
      const d = n._zod.def;
      const next = d.innerType ?? d.in;
      if (next === undefined) break;
      n = next as SchemaNode;
    }
    return n;
  };
  let node = unwrap(schema);
  for (const p of path) {
    if (node?.shape && typeof p === 'string') node = unwrap(node.shape[p]);
    else if (typeof p === 'number' && node?._zod?.def?.element) node = unwrap(node._zod.def.element);
    else return undefined;
  }
  return node?.shape ? Object.keys(node.shape) : undefined;
}

/** Formats one zod issue as "path: message"; an unknown field lists the valid ones when `schema` is given. */
export function formatIssue(issue: z.core.$ZodIssue, prefix: string, schema?: z.ZodType): string {
  const path = [prefix, ...issue.path.map(String)].filter((s) => s !== '').join('.');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') {
    msg = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    const valid = schema ? fieldsAt(schema, issue.path) : undefined;
    if (valid && valid.length > 0) msg += `; valid fields: ${valid.join(', ')}`;
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
  const lines = r.error.issues.map((i) => formatIssue(i, prefix, schema));
  const first = r.error.issues[0];
  const field = [prefix, ...(first?.path ?? []).map(String)].filter((s) => s !== '').join('.');
  throw new ConfigError(`invalid ${file ? `config ${file}` : 'config'}:\n  ${lines.join('\n  ')}`, {
    field,
    expected: first?.message,
    file,
  });
}
