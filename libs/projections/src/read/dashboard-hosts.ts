import type { HostListItem } from './answers';
export type { HostListItem } from './answers';
import { ReadContext, select } from './context';
import { decodeKey, encodeKey } from './cursor';
import { HostSelection, hostSelectorSql } from './host-selection';
import { isReady, noGoReasons, ReadinessCounts, readinessCountsSql, readySql } from './readiness';

export interface HostListFilter extends HostSelection {
  /** Only the hosts that are go, or no-go (isReady). */
  readonly readiness?: 'go' | 'no-go';
  /** The cursor after which the page starts (`nextCursor` of the previous page, or a bare host id). */
  readonly after?: string;
  readonly limit: number;
}

/** The planned upgrade as the hosts table keeps it (jsonb). */
interface UpgradeDbJson {
  toVersion: string;
  toBuild?: string | null;
  plannedRebootAt: string;
  waveId?: string | null;
  state: string;
}

/** A host with its readiness counts (readinessCountsSql). */
interface HostListDbRow {
  host_id: string;
  registered: boolean;
  hypervisor_version: string | null;
  hypervisor_build: string | null;
  rsdp_override_supported: boolean;
  labels: Record<string, string> | null;
  upgrade: UpgradeDbJson | null;
  guests: number | null;
  decided: number | null;
  acknowledged: number | null;
  blocked: number | null;
}

const int = (v: number | null | undefined): number => Number(v ?? 0);

/**
 * A page of hosts (host id order) with their readiness, and how many match in all. `readiness`
 * go / no-go filters on it (the readiness of every selected host is then counted, in
 * Postgres); without it only the page's hosts are counted.
 */
export async function listDashboardHosts(
  { db, s }: ReadContext,
  filter: HostListFilter,
): Promise<{ items: HostListItem[]; nextCursor: string | null; total: number }> {
  const params: unknown[] = [];
  const where = hostSelectorSql(filter, params);
  const after = filter.after ? (decodeKey(filter.after, 1)?.[0] ?? filter.after) : null;
  const countParams = [...params];
  let pageWhere = where;
  if (after !== null) {
    params.push(after);
    pageWhere += ` AND h.host_id > $${params.length}`;
  }
  params.push(filter.limit + 1);
  const limit = `$${params.length}`;
  const ready = readySql('r');
  const sql = filter.readiness
    ? `WITH sel AS (SELECT h.host_id FROM ${s}.hosts h WHERE ${pageWhere}),
              r AS (${readinessCountsSql(s, 'sel')})
         SELECT h.*, r.guests, r.decided, r.acknowledged, r.blocked
           FROM r JOIN ${s}.hosts h ON h.host_id = r.host_id
          WHERE ${filter.readiness === 'go' ? ready : `NOT (${ready})`}
          ORDER BY h.host_id LIMIT ${limit}`
    : `WITH sel AS (SELECT h.host_id FROM ${s}.hosts h WHERE ${pageWhere} ORDER BY h.host_id LIMIT ${limit}),
              r AS (${readinessCountsSql(s, 'sel')})
         SELECT h.*, r.guests, r.decided, r.acknowledged, r.blocked
           FROM r JOIN ${s}.hosts h ON h.host_id = r.host_id
          ORDER BY h.host_id`;
  const totalSql = filter.readiness
    ? `WITH sel AS (SELECT h.host_id FROM ${s}.hosts h WHERE ${where}), r AS (${readinessCountsSql(s, 'sel')})
         SELECT count(*)::int AS n FROM r WHERE ${filter.readiness === 'go' ? ready : `NOT (${ready})`}`
    : `SELECT count(*)::int AS n FROM ${s}.hosts h WHERE ${where}`;
  const [rows, total] = await Promise.all([
    select<HostListDbRow>(db, sql, params),
    select<{ n: number }>(db, totalSql, countParams),
  ]);
  const items = rows.slice(0, filter.limit).map((r): HostListItem => {
    const readiness: ReadinessCounts = {
      guests: int(r.guests),
      decided: int(r.decided),
      acknowledged: int(r.acknowledged),
      blocked: int(r.blocked),
      ready: false,
    };
    readiness.ready = isReady(readiness);
    const u = r.upgrade;
    return {
      hostId: r.host_id,
      registered: r.registered,
      hypervisor: { version: r.hypervisor_version, build: r.hypervisor_build },
      rsdpOverrideSupported: r.rsdp_override_supported,
      labels: r.labels ?? {},
      plannedUpgrade: u
        ? {
            toVersion: u.toVersion,
            toBuild: u.toBuild ?? null,
            plannedRebootAt: u.plannedRebootAt,
            waveId: u.waveId ?? null,
            state: u.state,
          }
        : null,
      readiness,
      go: readiness.ready,
      noGoReasons: readiness.ready ? [] : noGoReasons(readiness, r.registered),
    };
  });
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: rows.length > filter.limit && last ? encodeKey([last.hostId]) : null,
    total: int(total[0]?.n),
  };
}
