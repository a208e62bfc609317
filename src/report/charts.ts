// SVG charts of a comparison, rendered headless: vega-lite spec → vega View (renderer 'none') → toSVG.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InvariantError } from '../common/errors.js';
import { heatmapCells, mean, MEAN_COLUMN, settingMeasure, type ComparisonSummary, type Setting, type WorkloadGroup } from './aggregate.js';
import { capitalised, fixed } from './format.js';

/** A chart to render: a stable id (used to prefix SVG ids), a title and its vega-lite spec. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

/** A rendered chart: the SVG markup of {@link ChartSpec}. */
export interface RenderedChart {
  readonly id: string;
  readonly title: string;
  readonly svg: string;
}

/** Heat-map cell size (px). */
const CELL_W = 66;
const CELL_H = 24;
/** Small multiples: panel size (px) and panels per row. */
const PANEL_W = 210;
const PANEL_H = 90;
const PANEL_COLUMNS = 4;
/** Light grey of "the other partitioners" and of cells without a value; the colour of a panel's line. */
const GREY = '#d9d9d9';
const LINE = '#1f5fa8';

/**
 * Log-scale floor of the time series: imbalance (max/mean − 1) is 0 on a perfectly even slide and a
 * log axis has no 0, so values below it are drawn at it (the axis title says so).
 */
export const LOG_FLOOR = 0.001;

/** Lines longer than this are averaged in consecutive buckets, keeping the page light. */
export const MAX_LINE_POINTS = 300;

/**
 * At most `max` points: consecutive runs of ceil(n / max) points are replaced by their mean t and
 * mean value. Returns `points` itself when it is short enough.
 */
export function downsample(points: readonly { t: number; value: number }[], max: number): readonly { t: number; value: number }[] {
  if (points.length <= max) return points;
  const k = Math.ceil(points.length / max);
  const out: { t: number; value: number }[] = [];
  for (let i = 0; i < points.length; i += k) {
    const chunk = points.slice(i, i + k);
    out.push({ t: mean(chunk.map((p) => p.t)), value: mean(chunk.map((p) => p.value)) });
  }
  return out;
}

/** Text of a heat-map cell (2 decimals; n/a for a missing value). */
const cellText = (v: number | null, digits = 2): string => fixed(v, digits);

function heatmapLayers(
  values: { partitioner: string; column: string; value: number | null; text: string; best: boolean }[],
  rows: readonly string[],
  columns: readonly string[],
  colour: Record<string, unknown>,
  darkAbove: string,
): TopLevelSpec {
  return {
    width: { step: CELL_W },
    height: { step: CELL_H },
    data: { values },
    encoding: {
      x: { field: 'column', type: 'nominal', sort: [...columns], title: null, axis: { orient: 'top', labelAngle: -30, labelLimit: 180, labelFontSize: 12, domain: false, ticks: false } },
      y: { field: 'partitioner', type: 'nominal', sort: [...rows], title: null, axis: { labelLimit: 200, labelFontSize: 12, domain: false, ticks: false } },
    },
    layer: [
      { mark: { type: 'rect', color: GREY } }, // every cell; the coloured layer covers those with a value
      { transform: [{ filter: 'datum.value !== null' }], mark: { type: 'rect' }, encoding: { color: colour } },
      // The best of a column in bold (and outlined below): readable without colour.
      ...[false, true].map((best) => ({
        transform: [{ filter: best ? 'datum.best' : '!datum.best' }],
        mark: { type: 'text', fontSize: 12, fontWeight: best ? 'bold' : 'normal' },
        encoding: {
          text: { field: 'text', type: 'nominal' },
          color: { condition: { test: `datum.value !== null && ${darkAbove}`, value: 'white' }, value: 'black' },
        },
      })),
      { transform: [{ filter: 'datum.best' }], mark: { type: 'rect', filled: false, stroke: 'black', strokeWidth: 2 } },
    ],
    config: { view: { stroke: null }, axis: { grid: false } },
  } as TopLevelSpec;
}

/**
 * The heat map of a setting: partitioners (rows, best mean first) × workloads (columns, then the
 * mean), colour and text = max throughput ÷ the workload's ideal; each column's best in bold and
 * outlined; grey n/a where there is no ideal.
 */
function heatmap(s: Setting, measure: string): TopLevelSpec {
  const cells = heatmapCells(s);
  const values = cells.map((c) => ({ ...c, text: cellText(c.value) }));
  const colour = {
    field: 'value',
    type: 'quantitative',
    title: '÷ ideal',
    // 1 = the physical limit; a ramp may overshoot it by its tolerance (clamped to the darkest colour).
    scale: { domain: [0, 1], clamp: true, scheme: 'blues' },
    legend: { orient: 'right', gradientLength: 120 },
  };
  return heatmapLayers(values, s.ranking, [...s.workloads.map((w) => w.label), MEAN_COLUMN], colour, 'datum.value > 0.55');
}

/** Replication (workers per key) per partitioner × workload, log colour from 1 (no split). */
function replicationMap(s: Setting): TopLevelSpec {
  const values = s.ranking.flatMap((p) =>
    s.workloads.map((w) => {
      const v = w.rows.find((r) => r.partitioner === p)?.replication ?? null;
      return { partitioner: p, column: w.label, value: v, text: cellText(v), best: false };
    }),
  );
  const top = Math.max(2, ...values.map((v) => v.value ?? 1));
  const colour = {
    field: 'value',
    type: 'quantitative',
    title: 'workers per key',
    scale: { type: 'log', domain: [1, top], clamp: true, scheme: 'oranges' },
    legend: { orient: 'right', gradientLength: 120 },
  };
  return heatmapLayers(values, s.ranking, s.workloads.map((w) => w.label), colour, `datum.value > ${Math.pow(top, 0.6).toFixed(3)}`);
}

/**
 * The mean over repetitions at each `tMs` of `value` (slides are aligned, so repetitions share their
 * tMs grid), per partitioner; slides where `value` is null are skipped (the line bridges them).
 */
function seriesOf(
  w: WorkloadGroup,
  value: (p: WorkloadGroup['runs'][number]['timeline'][number]) => number | null,
): Map<string, readonly { t: number; value: number }[]> {
  const out = new Map<string, readonly { t: number; value: number }[]>();
  for (const row of w.rows) {
    const byT = new Map<number, number[]>();
    for (const run of w.runs) {
      if (run.partitioner !== row.partitioner) continue;
      for (const pt of run.timeline) {
        const v = value(pt);
        if (v === null) continue; // no record finished in that slide: skipped, never drawn as 0
        const list = byT.get(pt.tMs);
        if (list) list.push(v);
        else byT.set(pt.tMs, [v]);
      }
    }
    const ts = [...byT.keys()].sort((a, b) => a - b);
    out.set(row.partitioner, downsample(ts.map((t) => ({ t: t / 1000, value: mean(byT.get(t)!) })), MAX_LINE_POINTS));
  }
  return out;
}

/**
 * Small multiples of a time series: one panel per partitioner (in `order`, named in its header), its
 * line over a grey band spanning every partitioner's values at each time (min to max), on a shared log
 * y axis; values below {@link LOG_FLOOR} are drawn at it.
 */
function smallMultiples(series: Map<string, readonly { t: number; value: number }[]>, order: readonly string[], yTitle: string): TopLevelSpec {
  const panels = order.filter((p) => series.has(p));
  const floor = (v: number): number => Math.max(LOG_FLOOR, v);
  const band = new Map<number, { lo: number; hi: number }>();
  for (const pts of series.values()) {
    for (const pt of pts) {
      const b = band.get(pt.t);
      const v = floor(pt.value);
      if (b) band.set(pt.t, { lo: Math.min(b.lo, v), hi: Math.max(b.hi, v) });
      else band.set(pt.t, { lo: v, hi: v });
    }
  }
  const bandPts = [...band].sort((a, b) => a[0] - b[0]);
  const values: Record<string, unknown>[] = [];
  let longest = 0;
  for (const p of panels) {
    for (const [t, b] of bandPts) values.push({ panel: p, kind: 'band', t, lo: b.lo, hi: b.hi });
    const pts = series.get(p)!;
    longest = Math.max(longest, pts.length);
    for (const pt of pts) values.push({ panel: p, kind: 'line', t: pt.t, value: floor(pt.value) });
  }
  const x = { field: 't', type: 'quantitative', title: 'time (s)', axis: { grid: false, tickCount: 5 } } as const;
  // Whole decades: the domain from the decade below the lowest value to the one above the highest, and
  // a tick and grid line per decade only (a log axis's default minor ticks crowd a 90 px panel).
  const all = values.flatMap((v) => [v.lo, v.hi, v.value]).filter((v): v is number => typeof v === 'number');
  const lo = Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all, 1))));
  const decades = Array.from({ length: hi - lo + 1 }, (_, i) => Number(`1e${lo + i}`));
  const yScale = { type: 'log' as const, domain: [decades[0], decades[decades.length - 1]] };
  const yAxis = { grid: true, gridColor: '#e6e6e6', values: decades, format: '~g' };
  return {
    data: { values },
    columns: Math.min(PANEL_COLUMNS, Math.max(1, panels.length)),
    facet: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { title: null, labelFontSize: 12, labelFontWeight: 'bold', labelPadding: 4 } },
    spec: {
      width: PANEL_W,
      height: PANEL_H,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'band'" }],
          mark: { type: 'area', color: GREY, opacity: 0.8 },
          encoding: { x, y: { field: 'lo', type: 'quantitative', scale: yScale, axis: yAxis, title: yTitle }, y2: { field: 'hi' } },
        },
        {
          transform: [{ filter: "datum.kind === 'line'" }],
          mark: { type: 'line', point: longest <= 60 ? { color: LINE, size: 18 } : false, strokeWidth: 2, color: LINE },
          encoding: { x, y: { field: 'value', type: 'quantitative', scale: yScale, axis: yAxis, title: yTitle } },
        },
      ],
    },
  } as TopLevelSpec;
}

/** Chart ids of a setting (`si` = its index in the summary) and of one of its workloads. */
export const chartId = {
  heatmap: (si: number): string => `s${si}-heatmap`,
  replication: (si: number): string => `s${si}-replication`,
  imbalance: (si: number, wi: number): string => `s${si}-w${wi}-imbalance`,
  p99: (si: number, wi: number): string => `s${si}-w${wi}-p99`,
};

/**
 * The charts of a comparison, in report order. Per setting: the heat map (max throughput ÷ ideal,
 * partitioner × workload) and replication (partitioner × workload); per setting and workload:
 * imbalance over time and p99 latency over time as small multiples (a panel per partitioner, mean
 * over repetitions, log scale).
 */
export function chartSpecs(summary: ComparisonSummary): ChartSpec[] {
  const out: ChartSpec[] = [];
  summary.settings.forEach((s, si) => {
    const measure = settingMeasure(s);
    out.push({ id: chartId.heatmap(si), title: `${capitalised(measure)} ÷ ideal — ${s.label}`, spec: heatmap(s, measure) });
    out.push({ id: chartId.replication(si), title: `Replication (workers per key; merge work) — ${s.label}`, spec: replicationMap(s) });
    s.workloads.forEach((w, wi) => {
      out.push({
        id: chartId.imbalance(si, wi),
        title: `Imbalance (busy, max/mean − 1) over time — ${w.label} — ${s.label}. Log scale, below ${LOG_FLOOR} drawn at ${LOG_FLOOR}; grey: the range of all partitioners`,
        spec: smallMultiples(seriesOf(w, (p) => p.imbalanceBusy), s.ranking, 'imbalance'),
      });
      out.push({
        id: chartId.p99(si, wi),
        title: `p99 latency over time — ${w.label} — ${s.label}. Log scale; grey: the range of all partitioners`,
        spec: smallMultiples(seriesOf(w, (p) => p.latencyP99Ms), s.ranking, 'p99 (ms)'),
      });
    });
  });
  return out;
}

/**
 * A vega loader that refuses every request and records it: charts use inline data only and never
 * touch the network or the file system. (vega logs a failed load and renders on, so the caller
 * checks `refused` afterwards.)
 */
function offlineLoader(refused: string[]): vega.Loader {
  const refuse = (uri: string): Promise<never> => {
    refused.push(uri);
    return Promise.reject(new Error(`external resource refused: ${uri}`));
  };
  const loader = vega.loader();
  loader.load = refuse;
  loader.sanitize = refuse;
  loader.http = refuse;
  loader.file = refuse;
  return loader;
}

/**
 * Renders one chart to SVG without a browser. SVG-internal ids (clip paths, gradients) are reset
 * before and prefixed with `idPrefix` after rendering, so output is deterministic and several
 * charts can share one HTML page. A spec that asks for external data or images is a bug: throws an
 * InvariantError (code INVARIANT).
 */
export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  const compiled = compile(spec).spec;
  const refused: string[] = [];
  vega.resetSVGDefIds();
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: offlineLoader(refused), logLevel: vega.None });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0) throw new InvariantError('report charts must not load external resources', { refused });
    return svg.replace(/(id="|url\(#|href="#)(clip\d+|gradient_\d+)/g, `$1${idPrefix}-$2`);
  } finally {
    view.finalize();
  }
}

/** Renders every chart of {@link chartSpecs} (sequentially: vega's SVG id counters are global). */
export async function renderCharts(summary: ComparisonSummary): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const c of chartSpecs(summary)) out.push({ id: c.id, title: c.title, svg: await renderSvg(c.spec, c.id) });
  return out;
}
