// The readable end-of-run table printed by `sas run`.
import type { RunSummary } from '../report/index.js';
import type { Verified } from './verify.js';

const fmt = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });

const BARS = '▁▂▃▄▅▆▇█';

/** A one-line sparkline of `xs` scaled to [0, max]. */
export function sparkline(xs: readonly number[], max = Math.max(...xs, 1e-9)): string {
  return xs.map((x) => BARS[Math.max(0, Math.min(7, Math.round((x / max) * 7)))]).join('');
}

/**
 * `replication` for the table: workers per key is at least 1 in every slide that measured it, so the
 * summary's 0 (its mean when no slide had a value, as on the real clock) or null is printed `n/a`.
 */
function replicationText(x: number | null | undefined): string {
  return x === null || x === undefined || !(x >= 1) ? 'n/a (no slide measured it)' : fmt(x, 3);
}

/** Formats the summary of one run as aligned text lines; `busy` is each worker's mean busy ms/s. */
export function formatSummary(title: string, s: RunSummary, busy: readonly number[], extra: Record<string, string>): string {
  const load = busy;
  const sorted = [...load].sort((a, b) => a - b);
  const med = sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
  const rows: Array<[string, string]> = [
    ['throughput', `${fmt(s.sustainedThroughput, 0)} records/s`],
    ['latency p50 / p99', `${fmt(s.latencyP50Ms, 3)} / ${fmt(s.latencyP99Ms, 3)} ms`],
    ['imbalance (busy)', `${fmt(s.imbalanceBusy, 3)}   NMAD ${fmt(s.nmadBusy, 3)}`],
    ['imbalance (count)', fmt(s.imbalanceCount, 3)],
    ['replication', replicationText(s.replication)],
    ['per-worker busy ms/s', `min ${fmt(sorted[0], 0)} | median ${fmt(med, 0)} | max ${fmt(sorted[sorted.length - 1], 0)}`],
    ['', sparkline(load, 1000)],
    ...Object.entries(extra),
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join('\n');
}

/** The `agent` row of a remote-mode run: whether a session existed and what the agent's actions did. */
export function formatAgent(a: { url: string; connected: boolean; actionsApplied: number; dropped: number; steps: number }): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return `${a.url} ${a.connected ? 'connected' : 'never connected'}, ${n(a.actionsApplied)} action(s) applied, ${n(a.dropped)} of ${n(a.steps)} step(s) dropped`;
}

/** A value as short JSON for a difference line (at most `max` characters). */
function short(v: unknown, max = 80): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The text `sas run --verify` prints: `verified: exact (…)`, or the count and the first differences. */
export function formatVerified(v: Verified, records: number): string {
  if (v === 'exact') return `verified: exact (every result equals the single-threaded reference over ${records.toLocaleString('en-US')} records)`;
  const lines = [`verified: FAILED, ${v.differences.toLocaleString('en-US')} of ${v.results.toLocaleString('en-US')} results differ from the single-threaded reference (first ${v.first.length}):`];
  for (const d of v.first) {
    const where = d.window === null ? `key ${d.key}` : `window ${d.window} key ${d.key}`;
    const what =
      d.kind === 'missing' ? `missing, expected ${short(d.expected)}`
      : d.kind === 'extra' ? `not in the reference, got ${short(d.got)}`
      : d.kind === 'duplicate' ? `produced twice, again ${short(d.got)}`
      : d.entry !== undefined
        ? `entry ${d.entry} of ${d.entries!.expected}${d.entries!.got === d.entries!.expected ? '' : ` (got ${d.entries!.got})`}: expected ${short(d.expected)}, got ${short(d.got)}`
        : `expected ${short(d.expected)}, got ${short(d.got)}`;
    lines.push(`  ${where}: ${what}`);
  }
  return lines.join('\n');
}
