// SVG charts of a comparison, rendered headless: vega-lite spec → vega View (renderer 'none') → toSVG.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InvariantError } from '../common/errors.js';
import { mean, runThroughput, type ComparisonSummary, type Setting, type WorkloadGroup } from './aggregate.js';

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

const WIDTH = 560;
const HEIGHT = 260;

function colour(partitioners: readonly string[]) {
  // Explicit domain: each partitioner keeps the same colour in every chart.
  return { field: 'partitioner', type: 'nominal', title: 'partitioner', scale: { domain: [...partitioners] } } as const;
}

function bars(
  setting: Setting,
  partitioners: readonly string[],
  yTitle: string,
  value: (runs: WorkloadGroup['runs']) => number,
): TopLevelSpec {
  const values: { workload: string; partitioner: string; value: number }[] = [];
  for (const w of setting.workloads) {
    for (const row of w.rows) {
      values.push({ workload: w.label, partitioner: row.partitioner, value: value(w.runs.filter((r) => r.partitioner === row.partitioner)) });
    }
  }
  return {
    // Wide enough for ~10 px per bar when there are many workloads × partitioners.
    width: Math.max(WIDTH, values.length * 10),
    height: HEIGHT,
    data: { values },
    mark: 'bar',
    encoding: {
      x: {
        field: 'workload',
        type: 'nominal',
        title: 'workload',
        sort: setting.workloads.map((w) => w.label),
        axis: { labelAngle: -20, labelLimit: 260 },
      },
      xOffset: { field: 'partitioner', type: 'nominal', sort: [...partitioners] },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: colour(partitioners),
    },
  };
}

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

function lines(
  w: WorkloadGroup,
  partitioners: readonly string[],
  yTitle: string,
  value: (p: WorkloadGroup['runs'][number]['timeline'][number]) => number | null,
): TopLevelSpec {
  // Mean over repetitions at each tMs (slides are aligned, so repetitions share their tMs grid).
  const values: { partitioner: string; t: number; value: number }[] = [];
  for (const row of w.rows) {
    const byT = new Map<number, number[]>();
    for (const run of w.runs) {
      if (run.partitioner !== row.partitioner) continue;
      for (const pt of run.timeline) {
        const v = value(pt);
        if (v === null) continue; // no record finished in that slide: skipped (the line bridges it), never drawn as 0
        const list = byT.get(pt.tMs);
        if (list) list.push(v);
        else byT.set(pt.tMs, [v]);
      }
    }
    const ts = [...byT.keys()].sort((a, b) => a - b);
    const points = ts.map((t) => ({ t: t / 1000, value: mean(byT.get(t)!) }));
    for (const p of downsample(points, MAX_LINE_POINTS)) values.push({ partitioner: row.partitioner, ...p });
  }
  return {
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: values.length <= 60 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'time (s)' },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: colour(partitioners),
    },
  };
}

/**
 * The charts of a comparison, in report order. Per setting: max throughput per partitioner (bars
 * grouped by workload) and replication per partitioner; per setting and workload: imbalance over
 * time and p99 latency over time (a line per partitioner, mean over repetitions).
 */
export function chartSpecs(summary: ComparisonSummary): ChartSpec[] {
  const out: ChartSpec[] = [];
  summary.settings.forEach((s, si) => {
    const measures = new Set(s.workloads.flatMap((w) => w.rows.map((r) => r.measure)));
    const tpTitle = measures.size === 1 && measures.has('max') ? 'max throughput (rec/s)' : measures.has('max') ? 'max or sustained throughput (rec/s)' : 'sustained throughput (rec/s)';
    out.push({
      id: `s${si}-throughput`,
      title: `Throughput per partitioner — ${s.label}`,
      spec: bars(s, summary.partitioners, tpTitle, (runs) => mean(runs.map(runThroughput))),
    });
    out.push({
      id: `s${si}-replication`,
      title: `Replication (merge cost) per partitioner — ${s.label}`,
      spec: bars(s, summary.partitioners, 'replication (workers per key)', (runs) => mean(runs.map((r) => r.summary.replication))),
    });
    s.workloads.forEach((w, wi) => {
      out.push({
        id: `s${si}-w${wi}-imbalance`,
        title: `Imbalance (busy) over time — ${w.label} — ${s.label}`,
        spec: lines(w, summary.partitioners, 'imbalance (busy, max/mean − 1)', (p) => p.imbalanceBusy),
      });
      out.push({
        id: `s${si}-w${wi}-p99`,
        title: `p99 latency over time — ${w.label} — ${s.label}`,
        spec: lines(w, summary.partitioners, 'p99 latency (ms)', (p) => p.latencyP99Ms),
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
