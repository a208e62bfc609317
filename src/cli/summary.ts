// The readable end-of-run table printed by `sas run`.
import type { RunSummary } from '../report/index.js';

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
