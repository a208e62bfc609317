// Progress display for long work: a bar on a terminal, a line every 10% otherwise.
import cliProgress from 'cli-progress';

/** A progress reporter with `update(fraction, detail)` and `stop()`. Writes to stderr only. */
export interface Progress {
  update(fraction: number, detail?: string): void;
  stop(): void;
}

/** Terminal bars now on screen (their stop restores the cursor they hide). */
const bars = new Set<cliProgress.SingleBar>();

/** Stops every bar on screen, for a process about to exit on a signal (so the cursor is shown again). */
export function stopProgressBars(): void {
  for (const b of bars) b.stop();
  bars.clear();
}

/** Creates a progress reporter titled `title`; silent when `quiet`. */
export function createProgress(title: string, quiet = false): Progress {
  if (quiet) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${title} [{bar}] {percentage}% | {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    bar.start(100, 0, { detail: '' });
    bars.add(bar);
    return {
      update: (f, detail = '') => bar.update(Math.round(f * 100), { detail }),
      stop: () => {
        if (bars.delete(bar)) bar.stop();
      },
    };
  }
  let next = 0;
  return {
    update(f, detail = '') {
      if (f + 1e-9 >= next) {
        process.stderr.write(`${title}: ${Math.round(f * 100)}%${detail ? ` ${detail}` : ''}\n`);
        next = Math.floor(f * 10 + 1e-9) / 10 + 0.1;
      }
    },
    stop() {},
  };
}
