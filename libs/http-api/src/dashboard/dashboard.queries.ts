import { Queryable } from '@fleetcompat/event-store';
import {
  AttentionFacets,
  AttentionFilter,
  AttentionItem,
  AttentionPageFilter,
  CurrentPlan,
  HostListFilter,
  HostListItem,
  HostSelection,
  listAttention,
  listDashboardHosts,
  ReadContext,
  readAttentionFacets,
  readContext,
  readPlanTotals,
  readWaves,
  WaveReadiness,
} from '@fleetcompat/projections';

export { ATTENTION_KINDS } from '@fleetcompat/projections';
export type { AttentionKind } from '@fleetcompat/projections';

/** Anything that runs SQL (a DataSource, a prepared Queryable). */
export type Sql = Queryable;

/**
 * The dashboard's reads over the projections: per wave (readiness and planned reboots),
 * pages of hosts with their readiness, pages of guests that need attention, and the current
 * plan of a selection of hosts counted like a what-if. Every list is a page (keyset); every
 * total is counted by Postgres; nothing reads the whole fleet into the process. Each method
 * is one query of @fleetcompat/projections' read side.
 */
export class DashboardQueries {
  private readonly ctx: ReadContext;

  constructor(db: Sql) {
    this.ctx = readContext(db);
  }

  waves(): Promise<WaveReadiness[]> {
    return readWaves(this.ctx);
  }

  hosts(filter: HostListFilter): Promise<{ items: HostListItem[]; nextCursor: string | null; total: number }> {
    return listDashboardHosts(this.ctx, filter);
  }

  attention(filter: AttentionPageFilter): Promise<{ items: AttentionItem[]; nextCursor: string | null }> {
    return listAttention(this.ctx, filter);
  }

  attentionFacets(filter: AttentionFilter): Promise<AttentionFacets> {
    return readAttentionFacets(this.ctx, filter);
  }

  plan(sel: HostSelection): Promise<CurrentPlan> {
    return readPlanTotals(this.ctx, sel);
  }
}
