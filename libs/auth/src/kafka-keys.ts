import { kafkaSigningKey } from './kafka-signature';
import { KafkaKeyEntry } from './tokens';

/** Where the ingest finds the tokens that sign Kafka messages (the TokenStore). */
export interface KafkaKeySource {
  kafkaKeys(keyIds: readonly string[]): Promise<Map<string, KafkaKeyEntry>>;
}

export interface KafkaKeyringOptions {
  /** FLEETCOMPAT_BOOTSTRAP_TOKEN: an admin, known without the store. */
  readonly bootstrapToken?: string | null;
  /**
   * How long a lookup, found or not, is kept (ms, default 30000): a revoked token is refused
   * within this time at the latest (at once when invalidate() is called on each change).
   */
  readonly cacheMs?: number;
  /** Most key ids kept (default 100,000); the oldest lookups go first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * The signing keys of the tokens, cached for the ingest: `load` the key ids a chunk of
 * messages names (one store query for those not cached or expired), then `get` each one
 * synchronously. Unknown ids are cached too (as null), so forged ids cost one query per chunk
 * at most, never one per message; the cache is bounded.
 */
export class KafkaKeyring {
  private readonly cache = new Map<string, { entry: KafkaKeyEntry | null; until: number }>();
  private readonly bootstrap: { keyId: string; entry: KafkaKeyEntry } | null;
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Moves on every invalidate(): a lookup that overlapped one is not kept. */
  private generation = 0;
  /** Store queries made (for tests and metrics). */
  lookups = 0;

  constructor(
    private readonly source: KafkaKeySource,
    options: KafkaKeyringOptions = {},
  ) {
    this.cacheMs = Math.max(0, options.cacheMs ?? 30_000);
    this.maxEntries = Math.max(1, options.maxEntries ?? 100_000);
    this.now = options.now ?? Date.now;
    if (options.bootstrapToken) {
      const k = kafkaSigningKey(options.bootstrapToken);
      this.bootstrap = {
        keyId: k.keyId,
        entry: { key: k.key, principal: { tokenId: 'bootstrap', name: 'FLEETCOMPAT_BOOTSTRAP_TOKEN', role: 'admin' } },
      };
    } else this.bootstrap = null;
  }

  /** Makes sure every id of `keyIds` can be `get`: fetches those not cached (or expired) in one query. */
  async load(keyIds: Iterable<string>): Promise<void> {
    const now = this.now();
    const missing = new Set<string>();
    for (const id of keyIds) {
      if (id === this.bootstrap?.keyId) continue;
      const c = this.cache.get(id);
      if (!c || c.until <= now) missing.add(id);
    }
    if (!missing.size) return;
    // a lookup that a change of access_tokens overlapped may have read a row from before it (a
    // revocation): ask again; if changes keep coming, answer this chunk but keep nothing
    let found: Map<string, KafkaKeyEntry>;
    let settled = false;
    for (let attempt = 0; ; attempt++) {
      const generation = this.generation;
      this.lookups++;
      found = await this.source.kafkaKeys([...missing]);
      settled = generation === this.generation;
      if (settled || attempt === 2) break;
    }
    const until = settled ? this.now() + this.cacheMs : -Infinity;
    for (const id of missing) {
      this.cache.delete(id); // re-inserted last: the Map's order is the order of lookups
      this.cache.set(id, { entry: found.get(id) ?? null, until });
    }
    for (const id of this.cache.keys()) {
      if (this.cache.size <= this.maxEntries) break;
      this.cache.delete(id);
    }
  }

  /** The token of a key id: null when unknown or revoked, undefined when not loaded. */
  get(keyId: string): KafkaKeyEntry | null | undefined {
    if (keyId === this.bootstrap?.keyId) return this.bootstrap.entry;
    const c = this.cache.get(keyId);
    return c ? c.entry : undefined;
  }

  /**
   * access_tokens changed (a notification on TOKENS_CHANNEL, see watchTokenChanges): every
   * lookup is asked again, so a revocation applies to the next chunk, not within cacheMs, and a
   * new token is found although its id was looked up (unknown) before. Ids of the chunk in hand
   * (loaded, not yet `get`) stay readable until the next `load`.
   */
  invalidate(): void {
    this.generation++;
    const now = this.now();
    for (const c of this.cache.values()) c.until = Math.min(c.until, now);
  }

  /** LISTEN lost or back: notifications may have been missed, so ask again (the TTL bounds the rest). */
  setListening(): void {
    this.invalidate();
  }

  /** Forgets every lookup (tests). */
  clear(): void {
    this.generation++;
    this.cache.clear();
  }
}
