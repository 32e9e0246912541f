/**
 * Events per token over POST /v1/events, in fixed windows (per API process, in memory, like
 * the what-if limit). Counted in events, not requests: one request of 1000 events costs 1000.
 * A request that would pass the limit is refused whole (nothing stored), with the seconds
 * until the window ends.
 */
export class EventsRateLimiter {
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `n` events of the token's allowance; returns the seconds to wait when it cannot. */
  take(tokenId: string, n: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const t = this.now();
    let w = this.windows.get(tokenId);
    if (!w || t - w.start >= this.windowMs) {
      w = { start: t, used: 0 };
      this.windows.set(tokenId, w);
      if (this.windows.size > 100_000) this.sweep(t);
    }
    if (w.used + n > this.limit)
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + this.windowMs - t) / 1000)) };
    w.used += n;
    return { ok: true };
  }

  private sweep(t: number): void {
    for (const [k, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(k);
  }
}
