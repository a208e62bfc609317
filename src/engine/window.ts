// Event-time window arithmetic: windows are aligned to multiples of the slide and built from panes.
import { ConfigError } from '../common/errors.js';

/**
 * A window spec. Tumbling when `sizeMs === slideMs`. Invariant: `sizeMs` is a positive multiple of
 * `slideMs`. A record at time t belongs to every window [s, s + size) with s a multiple of slide and
 * s <= t < s + size; each slide-long *pane* is aggregated once and a window merges its size/slide panes.
 */
export interface WindowSpec {
  readonly sizeMs: number;
  readonly slideMs: number;
}

/** Validates a window spec; errors name the field. */
export function checkWindow(w: WindowSpec, field = 'window'): WindowSpec {
  if (!(w.slideMs > 0)) throw new ConfigError(`${field}.slideMs: expected a positive number of ms, got ${w.slideMs}`, { field: `${field}.slideMs`, expected: '> 0', got: w.slideMs });
  if (!(w.sizeMs >= w.slideMs) || w.sizeMs % w.slideMs !== 0)
    throw new ConfigError(`${field}.sizeMs: expected a positive multiple of slideMs (${w.slideMs}), got ${w.sizeMs}`, { field: `${field}.sizeMs`, expected: `multiple of ${w.slideMs}`, got: w.sizeMs });
  return w;
}

/** Index of the pane holding event time `t` (pane i covers [i·slide, (i+1)·slide)). */
export function paneOf(t: number, slideMs: number): number {
  return Math.floor(t / slideMs);
}

/** Number of panes per window. */
export function panesPerWindow(w: WindowSpec): number {
  return w.sizeMs / w.slideMs;
}
