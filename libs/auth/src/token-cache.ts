import { sha256Hex } from './tokens';
import { Principal } from './roles';

/** Channel notified (migration TokensNotify) when a transaction that changed access_tokens commits. */
export const TOKENS_CHANNEL = 'fleetcompat_tokens';

/** What the cache asks when it does not know a token (TokenStore.verify). */
export interface TokenVerifier {
  verify(token: string): Promise<Principal | null>;
}

export interface TokenCacheOptions {
  /** Longest time a verified token is kept (ms, default 30000), even with every notification received. */
  readonly maxAgeMs?: number;
  /** Most tokens kept (default 100,000); the least recently used go first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * Verified bearer tokens of one API process, so that a request does not ask Postgres who its
 * token stands for (one round trip per request, the cost of a cached placements answer).
 *
 * A revoked token must stop working at once, so an entry is served only while the process
 * hears of every change of `access_tokens` (a trigger notifies TOKENS_CHANNEL on each commit
 * that changes it):
 * - nothing is kept or served until `setListening(true)`, and a lost LISTEN connection drops
 *   everything and stops caching until it is back (notifications sent meanwhile are missed);
 * - each notification drops everything (a revocation, a new token: tokens change rarely);
 * - a verification is kept only if no notification arrived while it was asked (it may have
 *   read the row before a revocation committed);
 * - an entry is kept `maxAgeMs` at most, whatever happens to the notifications.
 * Unknown tokens are never kept: a flood of made-up tokens cannot fill the cache, and a token
 * created a moment ago is found. Keys are the sha256 of the token, not the secret.
 */
export class TokenCache implements TokenVerifier {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private generation = 0;
  private listening = false;
  hits = 0;
  misses = 0;

  constructor(
    private readonly source: TokenVerifier,
    options: TokenCacheOptions = {},
  ) {
    this.maxAgeMs = Math.max(0, options.maxAgeMs ?? 30_000);
    this.maxEntries = Math.max(0, options.maxEntries ?? 100_000);
    this.now = options.now ?? Date.now;
  }

  /** Whether notifications arrive: only then are verifications kept. */
  get isListening(): boolean {
    return this.listening;
  }

  /** Moves on every invalidation (a notification, LISTEN lost or back). */
  get changes(): number {
    return this.generation;
  }

  get size(): number {
    return this.entries.size;
  }

  setListening(listening: boolean): void {
    this.listening = listening;
    this.invalidate();
  }

  /** access_tokens changed (or may have): nothing verified so far is served again. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  async verify(token: string): Promise<Principal | null> {
    const key = sha256Hex(token);
    const now = this.now();
    const cached = this.listening ? this.entries.get(key) : undefined;
    if (cached && cached.until > now) {
      this.hits++;
      this.entries.delete(key); // most recently used last
      this.entries.set(key, cached);
      return cached.principal;
    }
    this.misses++;
    const generation = this.generation;
    const principal = await this.source.verify(token);
    if (principal && this.listening && generation === this.generation && this.maxEntries > 0) {
      this.entries.delete(key);
      this.entries.set(key, { principal, until: now + this.maxAgeMs });
      for (const oldest of this.entries.keys()) {
        if (this.entries.size <= this.maxEntries) break;
        this.entries.delete(oldest);
      }
    }
    return principal;
  }
}
