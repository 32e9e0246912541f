import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { listen } from '@fleetcompat/event-store';
import { PROJECTION_CHANNEL, ProjectionQueries } from '@fleetcompat/projections';

/**
 * Answers of `GET /v1/hosts/{id}/placements` (JSON text), kept until the projections move:
 * every committed projector batch notifies PROJECTION_CHANNEL and the whole cache is dropped.
 * Hosts about to reboot read this all at once, mostly between batches.
 *
 * Never older than what a read just before the last commit would have seen:
 * - entries are kept only while LISTEN is in place (a lost connection drops them and stops
 *   caching until LISTEN is back, since notifications sent meanwhile are missed);
 * - an answer is kept only if no notification arrived while it was being read (a batch
 *   committed during the read may or may not be in it).
 * Least recently used answers go first beyond `maxBytes`; 0 turns the cache off.
 */
export class PlacementsCache implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(PlacementsCache.name);
  private readonly entries = new Map<string, string>();
  private bytes = 0;
  private generation = 0;
  private listening = false;
  private unlisten?: () => Promise<void>;
  hits = 0;
  misses = 0;

  constructor(
    private readonly queries: Pick<ProjectionQueries, 'placementsJson'>,
    private readonly maxBytes: number,
    private readonly dataSource?: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.maxBytes <= 0 || !this.dataSource) return;
    this.unlisten = await listen(this.dataSource, PROJECTION_CHANNEL, () => this.invalidate(), {
      onListening: (on) => this.setListening(on),
      onError: (e) => this.log.warn(`LISTEN ${PROJECTION_CHANNEL}: ${e.message} (placements not cached meanwhile)`),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.unlisten?.();
  }

  /** The projections moved: nothing kept so far may be served again. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
    this.bytes = 0;
  }

  setListening(listening: boolean): void {
    this.listening = listening;
    this.invalidate();
  }

  /** The placements body of a host (null when the host is unknown, never cached). */
  async placementsJson(hostId: string): Promise<string | null> {
    const cached = this.listening ? this.entries.get(hostId) : undefined;
    if (cached !== undefined) {
      this.hits++;
      this.entries.delete(hostId); // most recently used last
      this.entries.set(hostId, cached);
      return cached;
    }
    this.misses++;
    const generation = this.generation;
    const body = await this.queries.placementsJson(hostId);
    if (body !== null && this.listening && generation === this.generation && this.maxBytes > 0 && body.length <= this.maxBytes) {
      const previous = this.entries.get(hostId);
      if (previous !== undefined) this.bytes -= previous.length;
      this.entries.delete(hostId);
      this.entries.set(hostId, body);
      this.bytes += body.length;
      for (const [oldest, text] of this.entries) {
        if (this.bytes <= this.maxBytes) break;
        this.entries.delete(oldest);
        this.bytes -= text.length;
      }
    }
    return body;
  }
}
