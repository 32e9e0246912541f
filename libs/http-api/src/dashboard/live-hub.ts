import { OnModuleDestroy } from '@nestjs/common';
import { Principal } from '@fleetcompat/auth';
import { PlacementsCache } from '../placements-cache';

/** The part of an HTTP response a stream writes to (Express's Response). */
export interface StreamResponse {
  write(chunk: string): boolean;
  end(): void;
  once(event: 'close', listener: () => void): unknown;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
}

export interface LiveHubOptions {
  /** Least time between two `projection` events of one stream, ms (notifications in between are folded into the next). Default 1000. */
  readonly minIntervalMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream, ms. Default 20000. */
  readonly heartbeatMs?: number;
  /** A stream ends (`bye`, reason `renew`) after this long, and the page opens a new one with a new ticket: a revoked token's stream does not outlive it by more. Default 10 minutes. */
  readonly maxAgeMs?: number;
  /** Most open streams per process (503 above). Default 1000. */
  readonly maxStreams?: number;
}

interface Stream {
  readonly res: StreamResponse;
  readonly principal: Principal;
  lastSentAt: number;
  pending?: NodeJS.Timeout;
  readonly heartbeat: NodeJS.Timeout;
  readonly expiry: NodeJS.Timeout;
}

/**
 * The live stream of the dashboard (GET /v1/live, server-sent events): one `projection` event
 * each time a projector batch commits (the `fleetcompat_projection` notification the API's
 * PlacementsCache already listens to; no second LISTEN connection), at most one per
 * `minIntervalMs` per stream, so that a busy projector does not make every page read again
 * at every batch. The event says only that the projections moved (`generation`) and whether
 * notifications arrive (`listening`: false while the API's LISTEN connection is down, when
 * pages should poll); pages read what they show through the API as usual.
 */
export class LiveHub implements OnModuleDestroy {
  private readonly streams = new Set<Stream>();
  private readonly minIntervalMs: number;
  private readonly heartbeatMs: number;
  private readonly maxAgeMs: number;
  readonly maxStreams: number;
  private readonly unsubscribe: () => void;
  private stopped = false;
  /** Events sent, all streams (for tests). */
  sent = 0;

  constructor(
    private readonly cache: PlacementsCache,
    options: LiveHubOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.heartbeatMs = options.heartbeatMs ?? 20_000;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.maxStreams = options.maxStreams ?? 1000;
    this.unsubscribe = cache.onChange(() => {
      for (const s of this.streams) this.schedule(s);
    });
  }

  get open(): number {
    return this.streams.size;
  }

  get full(): boolean {
    return this.stopped || this.streams.size >= this.maxStreams;
  }

  /** Starts a stream on a response whose SSE headers are sent. */
  attach(res: StreamResponse, principal: Principal): void {
    const stream: Stream = {
      res,
      principal,
      lastSentAt: Date.now(),
      heartbeat: setInterval(() => this.write(stream, ': keep-alive\n\n'), this.heartbeatMs),
      expiry: setTimeout(() => this.close(stream, 'renew'), this.maxAgeMs),
    };
    stream.heartbeat.unref();
    stream.expiry.unref();
    this.streams.add(stream);
    res.once('close', () => this.drop(stream));
    this.write(stream, `retry: 5000\nevent: ready\ndata: ${JSON.stringify(this.state(principal))}\n\n`);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const s of [...this.streams]) this.close(s, 'shutdown');
  }

  private state(principal?: Principal) {
    return {
      generation: this.cache.generation,
      listening: this.cache.isListening,
      ...(principal ? { role: principal.role } : {}),
    };
  }

  private schedule(s: Stream): void {
    if (s.pending) return;
    const wait = Math.max(0, s.lastSentAt + this.minIntervalMs - Date.now());
    s.pending = setTimeout(() => {
      s.pending = undefined;
      s.lastSentAt = Date.now();
      this.sent++;
      this.write(s, `event: projection\nid: ${this.cache.generation}\ndata: ${JSON.stringify(this.state())}\n\n`);
    }, wait);
    s.pending.unref();
  }

  private write(s: Stream, text: string): void {
    if (s.res.writableEnded || s.res.destroyed) return this.drop(s);
    s.res.write(text);
  }

  private close(s: Stream, reason: 'renew' | 'shutdown'): void {
    this.write(s, `event: bye\ndata: ${JSON.stringify({ reason })}\n\n`);
    if (!s.res.writableEnded) s.res.end();
    this.drop(s);
  }

  private drop(s: Stream): void {
    if (!this.streams.delete(s)) return;
    clearInterval(s.heartbeat);
    clearTimeout(s.expiry);
    if (s.pending) clearTimeout(s.pending);
  }
}
