import { DataSource } from 'typeorm';
import { Queryable } from '@fleetcompat/event-store';
import { GuestView, HostRow, SetAsideRow } from './model';
import { LIVE_SCHEMA } from './schema';
import { ReadContext, readContext } from './read/context';
import { GuestDetail, readGuest } from './read/guest';
import { GuestListFilter, listGuests } from './read/guests';
import { readHost } from './read/host';
import { HostPlacement, readPlacements } from './read/placements';
import { Readiness, readinessOf } from './read/readiness';
import { readSetAside } from './read/set-aside';
import { FleetSummary, readSummary } from './read/summary';

/** The read side over one projection schema, as the HTTP API uses it: each method one query of ./read. */
export class ProjectionQueries {
  private readonly ctx: ReadContext;

  constructor(db: DataSource | Queryable, schema: string = LIVE_SCHEMA) {
    this.ctx = readContext(db, schema);
  }

  guest(guestId: string, hostId?: string): Promise<GuestDetail | null> {
    return readGuest(this.ctx, guestId, hostId);
  }

  guests(filter: GuestListFilter): Promise<{ items: GuestView[]; next: string | null }> {
    return listGuests(this.ctx, filter);
  }

  host(hostId: string): Promise<HostRow | null> {
    return readHost(this.ctx, hostId);
  }

  placements(hostId: string): Promise<HostPlacement[]> {
    return readPlacements(this.ctx, hostId);
  }

  async readiness(hostId: string): Promise<Readiness> {
    return readinessOf(await readPlacements(this.ctx, hostId));
  }

  setAside(limit = 1000): Promise<SetAsideRow[]> {
    return readSetAside(this.ctx, limit);
  }

  summary(): Promise<FleetSummary> {
    return readSummary(this.ctx);
  }
}
