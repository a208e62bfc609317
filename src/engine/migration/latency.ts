// Latency timeline (per-slide p50/p99/max) and whole-run CCDF from HDR histograms, as Megaphone reports them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Histogram, JsHistogram, build } from 'hdr-histogram-js';
import { z } from 'zod';
import { parseOrThrow } from '../../common/validate.js';

/** Histograms record integer microseconds: ms × 1000, so a latency is kept to 1 µs below 2.048 ms and 3 significant digits above. */
export const US_PER_MS = 1000;

/** One timeline row: a slide [slideStartMs, slideStartMs + slideMs) with at least one sample. */
export interface TimelineRow {
  readonly slideStartMs: number;
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** One CCDF row: `fractionGreater` of all samples exceed `latencyMs`; `count` samples fall in its bucket. */
export interface CcdfRow {
  readonly latencyMs: number;
  readonly fractionGreater: number;
  readonly count: number;
}

/** LatencyTimeline options, validated with zod (errors name `latency.<field>`). */
export const LatencyTimelineOptionsSchema = z
  .object({
    /** Timeline slide in ms. Default 250 (Megaphone's timeline window). */
    slideMs: z.number().positive().default(250),
    /** Time of slide 0's start in ms. Default 0. */
    startMs: z.number().default(0),
    /** Significant decimal digits of the HDR histograms, 1..5. Default 3. */
    digits: z.number().int().min(1).max(5).default(3),
  })
  .strict();

/** Validated LatencyTimeline options. */
export type LatencyTimelineOptions = z.infer<typeof LatencyTimelineOptionsSchema>;

type Hist = Histogram;

function newHist(digits: number): Hist {
  return build({ numberOfSignificantValueDigits: digits as 1 | 2 | 3 | 4 | 5, autoResize: true });
}

/**
 * Records per-record latencies with the time at which each completed, into one HDR histogram per
 * slide plus one for the whole run. Latency should be measured from the record's scheduled (open-loop)
 * input time, as Megaphone does, to avoid coordinated omission. Times come from the caller's clock.
 */
export class LatencyTimeline {
  readonly opts: LatencyTimelineOptions;
  /** The whole-run histogram, in µs. */
  readonly total: Hist;
  private readonly slides = new Map<number, Hist>();

  constructor(rawOpts: unknown = {}) {
    this.opts = parseOrThrow(LatencyTimelineOptionsSchema, rawOpts, 'latency');
    this.total = newHist(this.opts.digits);
  }

  /** Records a latency of `latencyMs` (clamped at 0) observed at time `atMs`. */
  record(atMs: number, latencyMs: number): void {
    const us = Math.max(0, Math.round(latencyMs * US_PER_MS));
    const idx = Math.floor((atMs - this.opts.startMs) / this.opts.slideMs);
    let h = this.slides.get(idx);
    if (h === undefined) {
      h = newHist(this.opts.digits);
      this.slides.set(idx, h);
    }
    h.recordValue(us);
    this.total.recordValue(us);
  }

  /** Rows of the slides that have samples, in time order. Percentiles are HDR values (highest equivalent value of the bucket, capped at the exact max). */
  rows(): TimelineRow[] {
    return [...this.slides.keys()]
      .sort((a, b) => a - b)
      .map((i) => {
        const h = this.slides.get(i) as Hist;
        return {
          slideStartMs: this.opts.startMs + i * this.opts.slideMs,
          count: h.totalCount,
          p50Ms: Math.min(h.getValueAtPercentile(50), h.maxValue) / US_PER_MS,
          p99Ms: Math.min(h.getValueAtPercentile(99), h.maxValue) / US_PER_MS,
          maxMs: h.maxValue / US_PER_MS,
        };
      });
  }

  /** The whole-run CCDF (see `ccdfRows`). */
  ccdf(): CcdfRow[] {
    return ccdfRows(this.total);
  }
}

/**
 * CCDF of a µs histogram: one row per non-empty bucket, ascending, with the bucket's highest
 * equivalent value in ms (capped at the exact max), the fraction of all samples strictly above the bucket, and the bucket's count
 * (Megaphone / streaming-harness `latency_ccdf`). The last row's fraction is 0. Empty histogram → [].
 */
export function ccdfRows(h: Hist): CcdfRow[] {
  const total = h.totalCount;
  const out: CcdfRow[] = [];
  if (total === 0) return out;
  if (!(h instanceof JsHistogram)) throw new TypeError('ccdfRows needs a JS (non-wasm) histogram');
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    out.push({
      latencyMs: Math.min(v.valueIteratedTo, h.maxValue) / US_PER_MS,
      fractionGreater: (total - v.totalCountToThisValue) / total,
      count: v.countAtValueIteratedTo,
    });
  }
  return out;
}

/** CCDF file text: a `# latency_ms fraction_greater count` header, then one space-separated row per line. */
export function formatCcdf(rows: readonly CcdfRow[]): string {
  let s = '# latency_ms fraction_greater count\n';
  for (const r of rows) s += `${num(r.latencyMs)} ${num(r.fractionGreater)} ${r.count}\n`;
  return s;
}

/** Timeline file text: a `# t_ms count p50_ms p99_ms max_ms` header, then one row per slide with samples. */
export function formatTimeline(rows: readonly TimelineRow[]): string {
  let s = '# t_ms count p50_ms p99_ms max_ms\n';
  for (const r of rows) s += `${num(r.slideStartMs)} ${r.count} ${num(r.p50Ms)} ${num(r.p99Ms)} ${num(r.maxMs)}\n`;
  return s;
}

/**
 * Writes `<base>.timeline.txt` and `<base>.ccdf.txt` into `dir` (created if missing). Returns the paths.
 */
export function writeLatencyFiles(dir: string, base: string, timeline: LatencyTimeline): { timeline: string; ccdf: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { timeline: join(dir, `${base}.timeline.txt`), ccdf: join(dir, `${base}.ccdf.txt`) };
  writeFileSync(paths.timeline, formatTimeline(timeline.rows()));
  writeFileSync(paths.ccdf, formatCcdf(timeline.ccdf()));
  return paths;
}

/** Up to 6 decimals, trailing zeros dropped. */
function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toFixed(6)));
}
