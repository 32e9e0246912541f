import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { listen } from '@fleetcompat/event-store';
import { notifiedHosts, PlacementsAnswer, PlacementsSource, PROJECTION_CHANNEL } from '@fleetcompat/projections';
import { gunzipBody } from './content-coding';

/**
 * An answer as the API keeps and sends it: the body gzip-compressed (as Postgres keeps it, see
 * PlacementsReader) and its tag. Most clients take the gzip bytes as they are; a client that
 * does not accept gzip gets them decompressed. A 52 KB body of 50 guests is about 5 KB so, and
 * the cache holds about ten times more hosts than as text.
 */
export type PlacementsReply = PlacementsAnswer;

/** The answer's JSON bytes, for a client that does not accept gzip. */
export function identityBody(reply: PlacementsReply): Promise<Buffer> {
  return gunzipBody(reply.gzip);
}

/**
 * Answers of `GET /v1/hosts/{id}/placements` (gzip bytes and entity tag), kept until the
 * projections move: every committed projector batch notifies PROJECTION_CHANNEL, naming the
 * hosts it changed (their answers are dropped) or, with an empty payload (a rebuild, a
 * re-projection, a batch of many hosts), none (the whole cache is dropped). Hosts about to reboot read this all at once, mostly between batches; hosts
 * long-polling ask for the tag only (PlacementsWatch), which is kept the same way.
 *
 * Never older than what a read just before the last commit would have seen:
 * - entries are kept only while LISTEN is in place (a lost connection drops them and stops
 *   caching until LISTEN is back, since notifications sent meanwhile are missed);
 * - an answer is kept only if no notification arrived while it was being read (a batch
 *   committed during the read may or may not be in it).
 * Least recently used answers go first beyond `maxBytes`; 0 turns the cache off (the
 * notifications still reach the long-poll, which needs them).
 */
export class PlacementsCache implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(PlacementsCache.name);
  private readonly entries = new Map<string, PlacementsReply>();
  /** Tags read by the long-poll's checks (without a body), valid for this generation. */
  private readonly tags = new Map<string, string>();
  private readonly changeListeners = new Set<(hosts: readonly string[] | null) => void>();
  private readonly inflight = new Map<string, { generation: number; answer: Promise<PlacementsReply | null> }>();
  private bytes = 0;
  private currentGeneration = 0;
  private listening = false;
  private unlisten?: () => Promise<void>;
  hits = 0;
  misses = 0;

  constructor(
    private readonly source: PlacementsSource,
    private readonly maxBytes: number,
    private readonly dataSource?: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.dataSource) return;
    this.unlisten = await listen(
      this.dataSource,
      PROJECTION_CHANNEL,
      (payload) => this.invalidate(notifiedHosts(payload)),
      {
        onListening: (on) => this.setListening(on),
        onError: (e) => this.log.warn(`LISTEN ${PROJECTION_CHANNEL}: ${e.message} (placements not cached meanwhile)`),
      },
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.unlisten?.();
  }

  /** Of the reads that missed this cache: how many Postgres served from its kept answers, how many it built. */
  get sourceCounts(): { readonly kept: number; readonly built: number } {
    return this.source.counts ?? { kept: 0, built: this.misses };
  }

  /** Moves on every notification (and every change of the LISTEN connection). */
  get generation(): number {
    return this.currentGeneration;
  }

  /** True while notifications arrive: without them, changes are only seen by asking. */
  get isListening(): boolean {
    return this.listening;
  }

  /**
   * Calls `listener` after each invalidation (a projector batch committed, or LISTEN came or
   * went) with the hosts whose answers may have changed (null: any); returns the unsubscribe.
   */
  onChange(listener: (hosts: readonly string[] | null) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** The projections moved: nothing kept so far of `hosts` (null: of any host) may be served again. */
  invalidate(hosts: readonly string[] | null = null): void {
    this.currentGeneration++;
    if (hosts === null) {
      this.entries.clear();
      this.tags.clear();
      this.bytes = 0;
    } else {
      for (const h of hosts) {
        const e = this.entries.get(h);
        if (e !== undefined) {
          this.bytes -= e.gzip.length;
          this.entries.delete(h);
        }
        this.tags.delete(h);
      }
    }
    for (const l of this.changeListeners) l(hosts);
  }

  setListening(listening: boolean): void {
    this.listening = listening;
    this.invalidate();
  }

  /** The placements body of a host (null when the host is unknown, never cached). */
  async placementsJson(hostId: string): Promise<string | null> {
    const reply = await this.placements(hostId);
    return reply === null ? null : (await identityBody(reply)).toString('utf8');
  }

  /** The placements body and tag of a host (null when the host is unknown, never cached). */
  async placements(hostId: string): Promise<PlacementsReply | null> {
    const cached = this.listening ? this.entries.get(hostId) : undefined;
    if (cached !== undefined) {
      this.hits++;
      this.entries.delete(hostId); // most recently used last
      this.entries.set(hostId, cached);
      return cached;
    }
    // one read per host and generation: hosts woken together by a batch (or many agents of one host) share it
    const generation = this.currentGeneration;
    const inflight = this.inflight.get(hostId);
    if (inflight && inflight.generation === generation) {
      this.hits++;
      return inflight.answer;
    }
    this.misses++;
    const read = this.source.placements(hostId);
    const entry = { generation, answer: read };
    this.inflight.set(hostId, entry);
    let answer: PlacementsReply | null;
    try {
      answer = await read;
    } finally {
      if (this.inflight.get(hostId) === entry) this.inflight.delete(hostId);
    }
    if (answer !== null && this.keeping(generation) && answer.gzip.length <= this.maxBytes) {
      const previous = this.entries.get(hostId);
      if (previous !== undefined) this.bytes -= previous.gzip.length;
      this.entries.delete(hostId);
      this.entries.set(hostId, answer);
      this.tags.set(hostId, answer.etag);
      this.bytes += answer.gzip.length;
      for (const [oldest, a] of this.entries) {
        if (this.bytes <= this.maxBytes) break;
        this.entries.delete(oldest);
        this.bytes -= a.gzip.length;
      }
    }
    return answer;
  }

  /** The tag of a host's answer as of this generation, when known without asking Postgres. */
  knownEtag(hostId: string): string | undefined {
    if (!this.listening) return undefined;
    return this.entries.get(hostId)?.etag ?? this.tags.get(hostId);
  }

  /** The current tags of many hosts, asked of Postgres (unknown hosts left out); kept for this generation. */
  async etags(hostIds: readonly string[]): Promise<Map<string, string>> {
    const generation = this.currentGeneration;
    const tags = await this.source.etags(hostIds);
    if (this.keeping(generation)) for (const [h, t] of tags) this.tags.set(h, t);
    return tags;
  }

  private keeping(generation: number): boolean {
    return this.listening && generation === this.currentGeneration && this.maxBytes > 0;
  }
}
