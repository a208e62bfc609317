// report.md: per setting and workload a table of every partitioner, then runs, versions, machines, config.
import { HASH_PARTITIONER, IDEAL_WORKLOAD, summarize, type Ideal, type PartitionerRow, type Setting } from './aggregate.js';
import { canonicalJson, fixed, mdCell, NA, namedLabel } from './format.js';
import type { CompareResults } from './types.js';

/** Header cells of each per-workload table, in order (the HTML report uses the same). */
export const TABLE_HEADER = [
  'partitioner',
  'runs',
  'throughput (rec/s)',
  'sd',
  'measure',
  'vs ideal',
  'vs hash',
  'imbalance (busy)',
  'p99 latency (ms)',
  'replication',
] as const;

/** The cells of one row, formatted as in both reports (throughput 0 decimals, ratios 3, p99 1). */
export function rowCells(r: PartitionerRow): string[] {
  return [
    r.partitioner,
    String(r.runs),
    fixed(r.throughput, 0),
    fixed(r.throughputSd, 0),
    r.measure,
    fixed(r.relIdeal, 3),
    fixed(r.relHash, 3),
    fixed(r.imbalanceBusy, 3),
    fixed(r.latencyP99Ms, 1),
    fixed(r.replication, 3),
  ];
}

/** One sentence describing a setting's ideal. */
export function idealText(ideal: Ideal | null): string {
  if (!ideal) return `Ideal: ${NA} (no \`${IDEAL_WORKLOAD}\` runs for this task, P and clock).`;
  return `Ideal: ${fixed(ideal.throughput, 0)} rec/s (mean of ${ideal.runs} \`${IDEAL_WORKLOAD}\` run(s), measure ${ideal.measure}).`;
}

/** The explanation printed above the tables of both reports. */
export const DEFINITIONS = [
  'throughput: mean over repetitions of the max throughput found by the ramp test (measure `max`); ' +
    'when no ramp was run, the sustained throughput (measure `sustained`); `mixed` = some runs of each.',
  `vs ideal: throughput / ideal, where ideal = mean throughput of all runs whose workload is \`${IDEAL_WORKLOAD}\` ` +
    'with the same task, P and clock (any partitioner).',
  `vs hash: throughput / throughput of \`${HASH_PARTITIONER}\` on the same workload, task, P and clock.`,
  'imbalance (busy): mean of job.imbalance_busy (max/mean − 1 of busy time); p99 latency: mean of the runs’ p99 ' +
    '(event time to output); replication: mean job.replication (workers per key; 1 = no split, higher = more merge work).',
  `${NA}: the value does not exist (no ideal runs, no hash runs, or no record finished).`,
];

function table(header: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

function settingSection(s: Setting): string {
  const parts = [`## ${s.label}`, '', idealText(s.ideal)];
  for (const w of s.workloads) {
    parts.push('', `### ${w.label}`, '', table(TABLE_HEADER, w.rows.map(rowCells)));
  }
  return parts.join('\n');
}

function uniqueJson<T>(xs: readonly T[]): T[] {
  const m = new Map<string, T>();
  for (const x of xs) if (!m.has(canonicalJson(x))) m.set(canonicalJson(x), x);
  return [...m.values()];
}

/**
 * report.md text. Deterministic: a function of `results` only (no clock, no locale), so rebuilding
 * from the saved results.json gives the same bytes.
 */
export function renderMarkdown(results: CompareResults): string {
  const summary = summarize(results);
  const runs = results.runs;
  const out: string[] = [
    '# Partitioner comparison',
    '',
    `Created ${results.createdAt}; ${runs.length} run(s), ${summary.partitioners.length} partitioner(s): ` +
      summary.partitioners.map((p) => `\`${p}\``).join(', ') + '.',
    '',
    ...DEFINITIONS.map((d) => `- ${d}`),
  ];
  for (const s of summary.settings) out.push('', settingSection(s));

  out.push('', '## Runs', '', 'Each run’s full resolved config is in results.json (`runs[i].config`).', '');
  out.push(
    table(
      ['id', 'partitioner', 'workload', 'task', 'clock', 'P', 'seed', 'rep', 'throughput (rec/s)', 'measure', 'started', 'duration (ms)'],
      runs.map((r) => [
        r.id,
        r.partitioner,
        namedLabel(r.workload.name, r.workload.params),
        namedLabel(r.task.name, r.task.params),
        r.clock,
        String(r.P),
        String(r.seed),
        String(r.repetition),
        fixed(r.summary.maxThroughput ?? r.summary.sustainedThroughput, 0),
        r.summary.maxThroughput === undefined ? 'sustained' : 'max',
        r.startedAt,
        fixed(r.durationMs, 0),
      ]),
    ),
  );

  out.push('', '## Versions', '');
  out.push(
    table(
      ['package', 'commit', 'uncommitted changes'],
      uniqueJson(runs.map((r) => r.version)).map((v) => [v.package, v.commit ?? NA, v.dirty === undefined ? NA : v.dirty ? 'yes' : 'no']),
    ),
  );
  out.push('', '## Machines', '');
  out.push(
    table(
      ['cpu model', 'cpus', 'memory (GiB)', 'node', 'platform', 'arch'],
      uniqueJson(runs.map((r) => r.machine)).map((m) => [
        m.cpuModel,
        String(m.cpus),
        fixed(m.memoryBytes / 2 ** 30, 1),
        m.node,
        m.platform,
        m.arch,
      ]),
    ),
  );
  out.push('', '## Config', '', '```json', JSON.stringify(results.config, null, 2) ?? 'null', '```', '');
  return out.join('\n');
}
