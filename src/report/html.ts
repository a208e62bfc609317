// report.html: one self-contained page (inline CSS and SVG, no scripts, no external URLs).
import { summarize, type ComparisonSummary } from './aggregate.js';
import type { RenderedChart } from './charts.js';
import { chartId, renderCharts } from './charts.js';
import { canonicalJson, escapeHtml, fixed, NA } from './format.js';
import { DEFINITIONS, heatmapLegend, idealText, OLD_IDEAL_NOTE, rowCells, TABLE_HEADER, verdictText } from './markdown.js';
import type { CompareResults } from './types.js';

const CSS = `
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.4; }
h1, h2, h3 { font-weight: 600; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 90%; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1em 0; overflow-x: auto; }
ul.verdicts li { margin: .2em 0; }
p.legend { font-size: 90%; color: #555; margin-top: -.5em; }
.note { background: #fff6dd; border-left: 4px solid #e0b000; padding: .4em .8em; }
figcaption { font-weight: 600; margin-bottom: .3em; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: 85%; }
code { background: #f3f3f3; padding: 0 .2em; }
`;

function table(header: readonly string[], rows: readonly string[][]): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${trs}\n</tbody>\n</table>`;
}

/** Markdown-ish inline code (`x`) and bold (`**x**`) to HTML, after escaping. */
function inline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]*)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function figure(c: RenderedChart): string {
  return `<figure id="${escapeHtml(c.id)}">\n<figcaption>${escapeHtml(c.title)}</figcaption>\n${c.svg}\n</figure>`;
}

/**
 * report.html text from `results` and its already-rendered charts (see {@link renderHtml} for the
 * one-call form). The answer first: per setting its heat map and one line per workload naming the
 * best partitioner; then per setting the replication map and, per workload, its ideal, table and time
 * series. Every chart appears exactly once, as inline SVG.
 */
export function htmlPage(results: CompareResults, summary: ComparisonSummary, charts: readonly RenderedChart[]): string {
  const byId = new Map(charts.map((c) => [c.id, c]));
  const used = new Set<string>();
  const chart = (id: string): string => {
    const c = byId.get(id);
    if (!c) return '';
    used.add(id);
    return figure(c);
  };
  const body: string[] = [
    '<h1>Partitioner comparison</h1>',
    `<p>Created ${escapeHtml(results.createdAt)}; ${results.runs.length} run(s); partitioners: ${summary.partitioners
      .map((p) => `<code>${escapeHtml(p)}</code>`)
      .join(', ')}.</p>`,
    '<h2 id="answer">The answer: how close each partitioner comes to the ideal</h2>',
  ];
  if (summary.settings.some((s) => s.idealRule === 'uniform-runs')) body.push(`<p class="note">${inline(OLD_IDEAL_NOTE)}</p>`);
  summary.settings.forEach((s, si) => {
    body.push(
      `<h3>${escapeHtml(s.label)}</h3>`,
      chart(chartId.heatmap(si)),
      `<p class="legend">${inline(`${heatmapLegend(s)} Best of each column in bold and outlined; rows by their mean, best first; grey = no ideal.`)}</p>`,
      '<p>Best per workload:</p>',
      `<ul class="verdicts">\n${s.workloads.map((w) => `<li>${inline(verdictText(w))}</li>`).join('\n')}\n</ul>`,
    );
  });
  body.push('<h2>How to read the tables</h2>', `<ul>\n${DEFINITIONS.map((d) => `<li>${inline(d)}</li>`).join('\n')}\n</ul>`);
  summary.settings.forEach((s, si) => {
    body.push(`<h2>${escapeHtml(s.label)}</h2>`, chart(chartId.replication(si)));
    s.workloads.forEach((w, wi) => {
      body.push(
        `<h3>${escapeHtml(w.label)}</h3>`,
        `<p>${inline(idealText(w.ideal, s))}</p>`,
        table(TABLE_HEADER, w.rows.map(rowCells)),
        chart(chartId.imbalance(si, wi)),
        chart(chartId.p99(si, wi)),
      );
    });
  });
  for (const c of charts) if (!used.has(c.id)) body.push(figure(c)); // charts added later still appear

  const versions = new Map(results.runs.map((r) => [canonicalJson(r.version), r.version]));
  const machines = new Map(results.runs.map((r) => [canonicalJson(r.machine), r.machine]));
  body.push(
    '<h2>Reproducibility</h2>',
    '<p>Every run’s seed, full config, version and machine are in <code>results.json</code>; one row per run in <code>results.csv</code>.</p>',
    table(
      ['package', 'commit', 'uncommitted changes'],
      [...versions.values()].map((v) => [v.package, v.commit ?? NA, v.dirty === undefined ? NA : v.dirty ? 'yes' : 'no']),
    ),
    table(
      ['cpu model', 'cpus', 'memory (GiB)', 'node', 'platform', 'arch'],
      [...machines.values()].map((m) => [m.cpuModel, String(m.cpus), fixed(m.memoryBytes / 2 ** 30, 1), m.node, m.platform, m.arch]),
    ),
    '<details><summary>Experiment config</summary>',
    `<pre>${escapeHtml(JSON.stringify(results.config, null, 2) ?? 'null')}</pre>`,
    '</details>',
  );
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<title>Partitioner comparison</title>',
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** report.html text for `results`: summarises, renders every chart headless, and lays out the page. */
export async function renderHtml(results: CompareResults): Promise<string> {
  const summary = summarize(results);
  return htmlPage(results, summary, await renderCharts(summary));
}
