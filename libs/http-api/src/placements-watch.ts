import { Logger, OnModuleDestroy } from '@nestjs/common';
import { PlacementsCache } from './placements-cache';

interface Waiter {
  readonly etag: string;
  readonly done: (changed: boolean) => void;
}

export interface PlacementsWatchOptions {
  /** While LISTEN is down (no notifications), how often the waiting hosts are checked, ms. Default 2000. */
  readonly fallbackPollMs?: number;
  /** Hosts per tag query. Default 250. */
  readonly chunk?: number;
  /** Tag queries at once (connections of the pool). Default 3. */
  readonly parallel?: number;
}

/**
 * The bounded wait of `GET /v1/hosts/{id}/placements?wait=N` with `If-None-Match`: a request
 * whose tag is current waits here until the host's answer changes, or the wait ends.
 *
 * Nothing runs for a waiting host until the projections move: on each notification of a
 * committed projector batch (through PlacementsCache), one query reads the current tags of
 * the waiting hosts the batch names (every waiting host when it names none: PlacementsCache),
 * (PlacementsReader.etags: no bodies, no decision messages), and the waiters whose tag
 * differs are woken. A notification that arrives during a check runs one
 * more check after it, so checks never pile up and none is missed. While LISTEN is down, the
 * waiting hosts are checked every `fallbackPollMs` instead.
 *
 * A request registers after reading its answer at some generation of the cache; if a
 * notification came in between, it is checked at once (the commit may or may not be in what
 * it read).
 */
export class PlacementsWatch implements OnModuleDestroy {
  private readonly log = new Logger(PlacementsWatch.name);
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly fallbackPollMs: number;
  private readonly chunk: number;
  private readonly parallel: number;
  private checking = false;
  private again = false;
  /** Hosts to check at the next check (null: every waiting host). */
  private pending: Set<string> | null = new Set();
  private stopped = false;
  private fallback?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  /** Checks run and hosts checked (for tests and the benchmark). */
  checks = 0;
  hostsChecked = 0;

  constructor(
    private readonly cache: PlacementsCache,
    options: PlacementsWatchOptions = {},
  ) {
    this.fallbackPollMs = options.fallbackPollMs ?? 2000;
    this.chunk = Math.max(1, options.chunk ?? 250);
    this.parallel = Math.max(1, options.parallel ?? 3);
    this.unsubscribe = cache.onChange((hosts) => {
      this.schedule(hosts);
      this.armFallback();
    });
  }

  /** Requests waiting now. */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Waits until the host's tag is no longer `etag` (true), or `ms` pass, or `signal` fires, or
   * the process shuts down (false). `readAtGeneration`: the cache generation before `etag` was
   * read.
   */
  wait(
    hostId: string,
    etag: string,
    ms: number,
    readAtGeneration: number,
    signal?: { onAbort(f: () => void): void },
  ): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let set = this.waiters.get(hostId);
      if (!set) this.waiters.set(hostId, (set = new Set()));
      // eslint-disable-next-line prefer-const -- set below, once the waiter that clears it exists
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        etag,
        done: (changed) => {
          if (!set.delete(waiter)) return;
          if (!set.size && this.waiters.get(hostId) === set) this.waiters.delete(hostId);
          clearTimeout(timer);
          resolve(changed);
        },
      };
      set.add(waiter);
      timer = setTimeout(() => waiter.done(false), ms);
      signal?.onAbort(() => waiter.done(false));
      if (readAtGeneration !== this.cache.generation) this.schedule([hostId]);
      this.armFallback();
    });
  }

  /** Wakes every waiter (unchanged): the HTTP server can then close. */
  onModuleDestroy(): void {
    this.stopped = true;
    this.unsubscribe();
    clearInterval(this.fallback);
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.done(false);
  }

  private schedule(hosts: readonly string[] | null = null): void {
    if (this.stopped || !this.waiters.size) return;
    if (hosts === null) this.pending = null;
    else if (this.pending !== null) for (const h of hosts) if (this.waiters.has(h)) this.pending.add(h);
    if (this.pending !== null && this.pending.size === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    void this.check().finally(() => (this.checking = false));
  }

  private async check(): Promise<void> {
    do {
      this.again = false;
      const hosts =
        this.pending === null ? [...this.waiters.keys()] : [...this.pending].filter((h) => this.waiters.has(h));
      this.pending = new Set();
      this.checks++;
      // chunks on a few connections at once: the hosts of the first chunks are woken (and read
      // their answers) while the others are still checked
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (!this.stopped && !failed && next < hosts.length) {
          const part = hosts.slice(next, (next += this.chunk));
          let tags: Map<string, string>;
          try {
            tags = await this.cache.etags(part);
          } catch (e) {
            // Postgres unreachable: the waits run out (304) and the hosts ask again
            if (!failed) this.log.warn(`placements long-poll check failed: ${(e as Error).message}`);
            failed = true;
            return;
          }
          this.hostsChecked += part.length;
          for (const hostId of part) {
            const tag = tags.get(hostId); // undefined: the host is gone (the request answers 404)
            for (const w of [...(this.waiters.get(hostId) ?? [])]) if (w.etag !== tag) w.done(true);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.parallel, Math.ceil(hosts.length / this.chunk)) }, worker));
      if (failed) return;
    } while (this.again && !this.stopped);
  }

  /** Polls while LISTEN is down and someone waits; stops itself otherwise. */
  private armFallback(): void {
    const needed = !this.stopped && !this.cache.isListening && this.waiters.size > 0;
    if (needed && !this.fallback) {
      this.fallback = setInterval(() => {
        if (this.cache.isListening || !this.waiters.size) {
          clearInterval(this.fallback);
          this.fallback = undefined;
          return;
        }
        this.schedule(null);
      }, this.fallbackPollMs);
      this.fallback.unref();
    } else if (!needed && this.fallback) {
      clearInterval(this.fallback);
      this.fallback = undefined;
    }
  }
}
