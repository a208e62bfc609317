// report.md: the answer first (heat map and best partitioner per workload), then per setting and
// workload a table of every partitioner, then runs, versions, machines, config.
import {
  HASH_PARTITIONER,
  heatmapCells,
  IDEAL_WORKLOAD,
  idealsByRun,
  MEAN_COLUMN,
  runThroughput,
  settingMeasure,
  summarize,
  type ComparisonSummary,
  type Ideal,
  type PartitionerRow,
  type Setting,
  type WorkloadGroup,
} from './aggregate.js';
import { canonicalJson, fixed, mdCell, NA, namedLabel } from './format.js';
import type { CompareResults } from './types.js';

/** Header cells of each per-workload table, in order (the HTML report uses the same). */
export const TABLE_HEADER = [
  'partitioner',
  'runs',
  'throughput (rec/s)',
  'sd',
  'measure',
  '÷ ideal',
  '÷ hash',
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

/** `x` ÷ the ideal's throughput; null without one. */
const relTo = (x: number, ideal: Ideal | null): number | null => (ideal?.throughput ? x / ideal.throughput : null);

const pct = (x: number): string => `${fixed(x * 100, 0)} %`;

/** One sentence describing a workload's ideal (printed under its heading). */
export function idealText(ideal: Ideal | null, setting: Pick<Setting, 'idealRule'>): string {
  if (ideal === null) {
    return setting.idealRule === 'physical'
      ? `Ideal: ${NA} (results.json has no cell for this workload, so there is no ÷ ideal).`
      : `Ideal: ${NA} (no \`${IDEAL_WORKLOAD}\` runs for this task, P and clock, and this results file has no \`cells\`).`;
  }
  if (ideal.kind === 'uniform-runs') {
    return `Ideal: ${fixed(ideal.throughput, 0)} rec/s by the old rule, the mean of ${ideal.runs} \`${IDEAL_WORKLOAD}\` run(s) (measure ${ideal.measure}): this results file has no \`cells\`, so it is not the physical limit.`;
  }
  if (ideal.throughput === null) return `Ideal: ${NA}: the simulated cluster’s capacity is unlimited, so there is no physical limit to compare to.`;
  const binds = ideal.bound === 'reducers' ? 'the reducers’ capacity binds' : 'the workers’ capacity binds';
  return `Ideal: ${fixed(ideal.throughput, 0)} rec/s, the physical limit of this cluster (${binds}; emitting partials takes ${pct(ideal.emitShare)} of the workers’ capacity at that rate).`;
}

/** The ideal in a few words, for the verdict line: `ideal 12019 rec/s`. */
function idealShort(ideal: Ideal | null): string {
  if (ideal === null) return `no ideal`;
  if (ideal.throughput === null) return `no ideal: unlimited capacity`;
  return `${ideal.kind === 'uniform-runs' ? 'old-rule ideal' : 'ideal'} ${fixed(ideal.throughput, 0)} rec/s`;
}

/** A row's throughput in a sentence: `0.44 × ideal (34000 rec/s)`, or `34000 rec/s` without an ideal. */
function howClose(r: PartitionerRow): string {
  return r.relIdeal === null ? `${fixed(r.throughput, 0)} rec/s` : `${fixed(r.relIdeal, 2)} × ideal (${fixed(r.throughput, 0)} rec/s)`;
}

const names = (rows: readonly PartitionerRow[]): string => {
  const q = rows.map((r) => `\`${r.partitioner}\``);
  return q.length <= 2 ? q.join(' and ') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
};

/**
 * One line per workload naming its best partitioner, how close it comes to the ideal and by how much
 * it leads the second (flagged when the gap is within one sd of repeated runs), then the range the
 * others reach. Markdown inline (backticks, `**`).
 */
export function verdictText(w: WorkloadGroup): string {
  const v = w.verdict;
  const head = `**${w.label}** (${idealShort(w.ideal)}): `;
  const best = v.leaders[0];
  let text: string;
  if (v.leaders.length > 1 && v.second === null) text = `all ${v.leaders.length} partitioners tie at ${howClose(best)}`;
  else if (v.leaders.length > 1) text = `${names(v.leaders)} tie for best at ${howClose(best)}`;
  else if (v.second === null) text = `\`${best.partitioner}\` (the only one run) reaches ${howClose(best)}`;
  else text = `\`${best.partitioner}\` is best at ${howClose(best)}`;
  if (v.second !== null) {
    const s = v.second;
    text += `, ${v.lead === null ? '' : `${fixed(v.lead * 100, 1)} % `}ahead of \`${s.partitioner}\` at ${howClose(s)}`;
    const noisy = best.runs > 1 && s.runs > 1 && best.throughput - s.throughput <= Math.max(best.throughputSd, s.throughputSd);
    if (noisy) text += ', within one sd of the repetitions (not a clear lead)';
  }
  if (v.rest.length > 0) {
    const lo = v.rest[v.rest.length - 1];
    const hi = v.rest[0];
    const range = (f: (r: PartitionerRow) => string): string => (f(hi) === f(lo) ? f(hi) : `${f(lo)}–${f(hi)}`);
    const reach = lo.relIdeal !== null && hi.relIdeal !== null ? `${range((r) => fixed(r.relIdeal, 2))} × ideal` : `${range((r) => fixed(r.throughput, 0))} rec/s`;
    text += v.rest.length === 1 ? `; \`${hi.partitioner}\` reaches ${reach}` : `; the other ${v.rest.length} reach ${reach}`;
  }
  return `${head}${text}.`;
}

/** Said above the heat maps when results have no `cells`: the ÷ ideal is the old, non-physical one. */
export const OLD_IDEAL_NOTE =
  `This results file has no \`cells\` (it was written before \`sas compare\` recorded the physical ideal): ` +
  `÷ ideal divides by the old ideal, the mean throughput of the \`${IDEAL_WORKLOAD}\` runs with the same task, P and clock. ` +
  'That is not a physical limit and runs may exceed it; run `sas compare` again for the physical ideal.';

/** The explanation printed above the detailed tables of both reports. */
export const DEFINITIONS = [
  'throughput: mean over repetitions of the max throughput found by the ramp test (measure `max`); ' +
    'when no ramp was run, the sustained throughput (measure `sustained`); `mixed` = some runs of each.',
  '÷ ideal: throughput / the ideal of its cell (task, workload, P, clock; `cells` in results.json): the physical limit, ' +
    'the highest rate any exact plan could sustain on the simulated cluster (total worker capacity over the mean record cost, ' +
    'plus the least emit and merge work every plan pays; src/engine/ideal.ts). 1 = the limit; a ramp may overshoot it by its tolerance.',
  `÷ hash: throughput / throughput of \`${HASH_PARTITIONER}\` on the same workload, task, P and clock.`,
  'imbalance (busy): mean of job.imbalance_busy (max/mean − 1 of busy time); p99 latency: mean of the runs’ p99 ' +
    '(event time to output); replication: mean job.replication (workers per key; 1 = no split, higher = more merge work and state).',
  `${NA}: the value does not exist (no ideal, no hash runs, no record finished, or replication not measured).`,
];

function table(header: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** The heat map of a setting as a Markdown table: rows by {@link Setting.ranking}, best per column in bold. */
export function heatmapTable(s: Setting): string {
  const cells = heatmapCells(s);
  const columns = [...s.workloads.map((w) => w.label), MEAN_COLUMN];
  const rows = s.ranking.map((p) => [
    p,
    ...columns.map((c) => {
      const cell = cells.find((x) => x.partitioner === p && x.column === c)!;
      const t = fixed(cell.value, 2);
      return cell.best ? `**${t}**` : t;
    }),
  ]);
  return table(['partitioner', ...columns], rows);
}

/** What a heat-map cell is, in one sentence (the old rule's ideal is not a physical limit). */
export function heatmapLegend(s: Setting): string {
  const one = s.idealRule === 'physical' ? 'the physical limit of the simulated cluster' : `the mean of the \`${IDEAL_WORKLOAD}\` runs, the old ideal`;
  return `Each cell: the partitioner’s ${settingMeasure(s)} ÷ the workload’s ideal (1 = ${one}).`;
}

/** The lines of the answer section: per setting, its heat map and one verdict line per workload. */
function answerSection(summary: ComparisonSummary): string[] {
  const out: string[] = ['## The answer: how close each partitioner comes to the ideal'];
  if (summary.settings.some((s) => s.idealRule === 'uniform-runs')) out.push('', `> ${OLD_IDEAL_NOTE}`);
  for (const s of summary.settings) {
    out.push(
      '',
      `### ${s.label}`,
      '',
      `${heatmapLegend(s)} Best of each column in **bold**; rows by their mean, best first.`,
      '',
      heatmapTable(s),
      '',
      'Best per workload:',
      '',
      ...s.workloads.map((w) => `- ${verdictText(w)}`),
    );
  }
  return out;
}

function settingSection(s: Setting): string {
  const parts = [`## ${s.label}`];
  for (const w of s.workloads) {
    parts.push('', `### ${w.label}`, '', idealText(w.ideal, s), '', table(TABLE_HEADER, w.rows.map(rowCells)));
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
    '',
    ...answerSection(summary),
    '',
    '## How to read the tables',
    '',
    ...DEFINITIONS.map((d) => `- ${d}`),
  ];
  for (const s of summary.settings) out.push('', settingSection(s));

  out.push('', '## Runs', '', 'Each run’s full resolved config is in results.json (`runs[i].config`).', '');
  const ideals = idealsByRun(summary);
  out.push(
    table(
      ['id', 'partitioner', 'workload', 'task', 'clock', 'P', 'seed', 'rep', 'throughput (rec/s)', 'measure', '÷ ideal', 'started', 'duration (ms)'],
      runs.map((r) => [
        r.id,
        r.partitioner,
        namedLabel(r.workload.name, r.workload.params),
        namedLabel(r.task.name, r.task.params),
        r.clock,
        String(r.P),
        String(r.seed),
        String(r.repetition),
        fixed(runThroughput(r), 0),
        r.summary.maxThroughput === undefined ? 'sustained' : 'max',
        fixed(relTo(runThroughput(r), ideals.get(r.id) ?? null), 3),
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
