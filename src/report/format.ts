// Locale-independent text helpers for reports: numbers, labels, and escaping for CSV, Markdown, HTML.

/** The text shown for a value that does not exist (no ideal run, no hash run, no latency). */
export const NA = 'n/a';

/** `x` with `digits` decimals, independent of locale; {@link NA} for null/undefined/non-finite. */
export function fixed(x: number | null | undefined, digits: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return NA;
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s; // never print "-0.00"
}

/** `text` with its first letter upper-case (`max throughput` → `Max throughput`). */
export function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * JSON with object keys sorted at every level, so equal values give equal strings whatever the key
 * order. Used as a grouping key for workload and task params.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** A short label for a named component: `zipf(s=1.5)`, or just the name when params are empty. */
export function namedLabel(name: string, params: Record<string, unknown>): string {
  const keys = Object.keys(params).sort();
  if (keys.length === 0) return name;
  const parts = keys.map((k) => {
    const v = params[k];
    return `${k}=${typeof v === 'string' ? v : canonicalJson(v)}`;
  });
  return `${name}(${parts.join(', ')})`;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Text safe inside a Markdown table cell (pipes escaped, newlines as spaces). */
export function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Text safe inside HTML element content and double- or single-quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
