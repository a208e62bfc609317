// Token bucket for the Kafka source's target rate; time comes from an injected clock, never a timer.

/**
 * A token bucket: `rate` tokens per second, at most `burst` banked. Starts full. Pure bookkeeping:
 * callers ask how many records they may take now and how long to wait for more.
 */
export class RateLimiter {
  private tokens: number;
  private lastMs: number;

  /** `rate` > 0 records/s; `burst` >= 1 records; `nowMs` the clock's current time. */
  constructor(
    readonly rate: number,
    readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.rate) / 1000);
      this.lastMs = nowMs;
    }
  }

  /** Takes up to `n` whole tokens at `nowMs` and returns how many were granted (0..n). */
  take(n: number, nowMs: number): number {
    this.refill(nowMs);
    const granted = Math.min(n, Math.floor(this.tokens));
    this.tokens -= granted;
    return granted;
  }

  /** Ms from `nowMs` until `n` (capped at burst) tokens are available; 0 when they already are. */
  waitMs(n: number, nowMs: number): number {
    this.refill(nowMs);
    const want = Math.min(Math.max(1, n), this.burst);
    return this.tokens >= want ? 0 : Math.ceil(((want - this.tokens) * 1000) / this.rate);
  }
}
