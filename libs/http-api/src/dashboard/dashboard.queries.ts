import { LIVE_SCHEMA } from '@fleetcompat/projections';

/** Anything that runs SQL (a DataSource, a prepared Queryable). */
export interface Sql {
  /** The rows (or, for some statements, TypeORM's result): their type is the caller's to say. */
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

/** Which hosts: all given parts must match (as in POST /v1/what-if). */
export interface HostSelector {
  readonly ids?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly waveId?: string;
}

/** A host's readiness, as GET /v1/hosts/{id} counts it (ProjectionQueries.readiness), without the guest ids. */
export interface ReadinessCounts {
  guests: number;
  decided: number;
  acknowledged: number;
  blocked: number;
  /** Every guest decided and acknowledged, none blocked (and at least one guest): go. */
  ready: boolean;
}

export interface HostListItem {
  hostId: string;
  registered: boolean;
  hypervisor: { version: string | null; build: string | null };
  rsdpOverrideSupported: boolean;
  labels: Record<string, string>;
  plannedUpgrade: {
    toVersion: string;
    toBuild: string | null;
    plannedRebootAt: string;
    waveId: string | null;
    state: string;
  } | null;
  readiness: ReadinessCounts;
  /** go when ready; otherwise no-go and why, in words. */
  go: boolean;
  noGoReasons: string[];
}

export interface WaveSummary {
  waveId: string;
  hosts: number;
  hostsReady: number;
  hostsBlocked: number;
  hostsStarted: number;
  guests: number;
  decided: number;
  acknowledged: number;
  blocked: number;
  /** Every host of the wave is ready. */
  go: boolean;
  targets: { version: string; hosts: number }[];
  /** Planned reboot times of the wave's hosts, earliest first. */
  reboots: { at: string; hosts: number; hostsReady: number }[];
  firstRebootAt: string | null;
  lastRebootAt: string | null;
}

export const ATTENTION_KINDS = ['blocked', 'override', 'unknown-kernel'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

export interface AttentionFilter {
  readonly kind?: AttentionKind;
  readonly reason?: string;
  readonly waveId?: string;
  readonly hostId?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AttentionItem {
  guestId: string;
  hostId: string;
  status: string;
  kinds: AttentionKind[];
  action: string;
  reason: string;
  needReason: string | null;
  rsdp: string;
  hypervisorVersion: string;
  explanation: string[];
  remedy: string[];
  flags: string[];
  kernel: { sha256: string | null; release: string | null; distro: string | null };
  waveId: string | null;
  labels: Record<string, string>;
  decisionId: string;
}

/** Current decisions of some hosts, counted as POST /v1/what-if counts its outcomes. */
export interface PlanTotals {
  hosts: number;
  guests: number;
  fine: number;
  overrideLow: number;
  blocked: number;
  notApplicable: number;
  /** Present guests without a decision (their host has not registered). */
  undecided: number;
  lostFirstGiBSuperpage: number;
  unknownKernel: number;
  byReason: Record<string, number>;
  byStatus: Record<string, number>;
}

// Rows as pg returns them (int casts in the SQL arrive as numbers; counts are still read with
// int(), timestamps with iso(), as before).
type Count = number | string | null;
interface WaveRow {
  wave_id: string;
  reboot_at: string | null;
  target: string;
  hosts: Count;
  started: Count;
  guests: Count;
  decided: Count;
  acknowledged: Count;
  blocked: Count;
  ready: Count;
  hosts_blocked: Count;
}
interface HostListRow {
  host_id: string;
  registered: boolean;
  hypervisor_version: string | null;
  hypervisor_build: string | null;
  rsdp_override_supported: boolean;
  labels: Record<string, string> | null;
  upgrade: {
    toVersion: string;
    toBuild?: string | null;
    plannedRebootAt: string;
    waveId?: string | null;
    state: string;
  } | null;
  guests: Count;
  decided: Count;
  acknowledged: Count;
  blocked: Count;
}
interface AttentionRow {
  guest_id: string;
  host_id: string;
  status: string;
  kernel_sha256: string | null;
  decision_id: string;
  action: string;
  reason: string;
  rsdp: string;
  hypervisor_version: string;
  need_reason: string | null;
  explanation: string[] | null;
  remedy: string[] | null;
  flags: string[] | null;
  wave_id: string | null;
  labels: Record<string, string> | null;
  kernel_release: string | null;
  kernel_distro: string | null;
}
interface PlanRow {
  status: string;
  action: string | null;
  rsdp: string | null;
  reason: string;
  lost: boolean;
  unknown: boolean | null;
  n: Count;
}

const int = (v: unknown) => Number(v ?? 0);
const iso = (v: string | Date | null | undefined): string | null =>
  v === null || v === undefined ? null : new Date(String(v)).toISOString();

/** A keyset cursor, opaque to clients. */
export function encodeKey(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

export function decodeKey(cursor: string, n: number): string[] | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* not ours */
  }
  return null;
}

export function noGoReasons(r: ReadinessCounts, registered: boolean): string[] {
  const why: string[] = [];
  if (!registered) why.push('the host has not registered');
  if (r.guests === 0) why.push('no guests reported');
  if (r.blocked) why.push(`${r.blocked} guest${r.blocked === 1 ? '' : 's'} blocked`);
  const undecided = r.guests - r.decided;
  if (undecided > 0) why.push(`${undecided} guest${undecided === 1 ? '' : 's'} not decided`);
  const unacked = r.decided - r.acknowledged;
  if (unacked > 0) why.push(`${unacked} decision${unacked === 1 ? '' : 's'} not acknowledged by the host`);
  return why;
}

/** The SQL of the readiness counts of the hosts in `hostsFrom` (a relation with host_id), grouped per host. */
function readinessSql(s: string, hostsFrom: string): string {
  return `SELECT sel.host_id,
                 count(g.guest_id)::int AS guests,
                 count(g.decision_id)::int AS decided,
                 (count(*) FILTER (WHERE a.decision_id = g.decision_id))::int AS acknowledged,
                 (count(*) FILTER (WHERE g.status = 'blocked'))::int AS blocked
            FROM ${hostsFrom} sel
            LEFT JOIN ${s}.guests g ON g.host_id = sel.host_id AND g.present
            LEFT JOIN ${s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
           GROUP BY sel.host_id`;
}

const readyOf = (r: { guests: number; acknowledged: number; blocked: number }) =>
  r.guests > 0 && r.acknowledged === r.guests && r.blocked === 0;

/**
 * The dashboard's reads over the projections: per wave (readiness and planned reboots),
 * pages of hosts with their readiness, pages of guests that need attention, and the current
 * plan of a selection of hosts counted like a what-if. Every list is a page (keyset); every
 * total is counted by Postgres; nothing reads the whole fleet into the process.
 */
export class DashboardQueries {
  private readonly s = LIVE_SCHEMA;

  constructor(private readonly db: Sql) {}

  /** Hosts matching the selector, as SQL over `h` (params from `offset`+1). */
  private selector(sel: HostSelector & { hostId?: string }, params: unknown[]): string {
    const where: string[] = [];
    if (sel.ids?.length) {
      params.push(sel.ids);
      where.push(`h.host_id IN (SELECT unnest($${params.length}::text[]))`);
    }
    if (sel.hostId) {
      params.push(sel.hostId);
      where.push(`h.host_id = $${params.length}`);
    }
    if (sel.labels && Object.keys(sel.labels).length) {
      params.push(JSON.stringify(sel.labels));
      where.push(`h.labels @> $${params.length}::jsonb`);
    }
    if (sel.waveId) {
      params.push(sel.waveId);
      where.push(`h.wave_id = $${params.length}`);
    }
    return where.length ? where.join(' AND ') : 'true';
  }

  async waves(): Promise<WaveSummary[]> {
    const s = this.s;
    const rows: WaveRow[] = await this.db.query(
      `WITH planned AS (SELECT host_id, registered, wave_id, upgrade FROM ${s}.hosts WHERE wave_id IS NOT NULL),
            r AS (${readinessSql(s, 'planned')})
       SELECT p.wave_id, p.upgrade->>'plannedRebootAt' AS reboot_at, p.upgrade->>'toVersion' AS target,
              count(*)::int AS hosts,
              (count(*) FILTER (WHERE p.upgrade->>'state' = 'started'))::int AS started,
              sum(r.guests)::int AS guests, sum(r.decided)::int AS decided, sum(r.acknowledged)::int AS acknowledged, sum(r.blocked)::int AS blocked,
              (count(*) FILTER (WHERE r.guests > 0 AND r.acknowledged = r.guests AND r.blocked = 0))::int AS ready,
              (count(*) FILTER (WHERE r.blocked > 0))::int AS hosts_blocked
         FROM planned p JOIN r ON r.host_id = p.host_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    const waves = new Map<string, WaveSummary>();
    for (const r of rows) {
      let w = waves.get(r.wave_id);
      if (!w) {
        w = {
          waveId: r.wave_id,
          hosts: 0,
          hostsReady: 0,
          hostsBlocked: 0,
          hostsStarted: 0,
          guests: 0,
          decided: 0,
          acknowledged: 0,
          blocked: 0,
          go: false,
          targets: [],
          reboots: [],
          firstRebootAt: null,
          lastRebootAt: null,
        };
        waves.set(r.wave_id, w);
      }
      w.hosts += int(r.hosts);
      w.hostsReady += int(r.ready);
      w.hostsBlocked += int(r.hosts_blocked);
      w.hostsStarted += int(r.started);
      w.guests += int(r.guests);
      w.decided += int(r.decided);
      w.acknowledged += int(r.acknowledged);
      w.blocked += int(r.blocked);
      const target = w.targets.find((t) => t.version === r.target);
      if (target) target.hosts += int(r.hosts);
      else w.targets.push({ version: r.target, hosts: int(r.hosts) });
      const at = iso(r.reboot_at);
      if (at) {
        const reboot = w.reboots.find((x) => x.at === at);
        if (reboot) {
          reboot.hosts += int(r.hosts);
          reboot.hostsReady += int(r.ready);
        } else w.reboots.push({ at, hosts: int(r.hosts), hostsReady: int(r.ready) });
      }
    }
    for (const w of waves.values()) {
      w.go = w.hosts > 0 && w.hostsReady === w.hosts;
      w.reboots.sort((a, b) => a.at.localeCompare(b.at));
      w.targets.sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
      w.firstRebootAt = w.reboots[0]?.at ?? null;
      w.lastRebootAt = w.reboots[w.reboots.length - 1]?.at ?? null;
    }
    return [...waves.values()];
  }

  /**
   * A page of hosts (host id order) with their readiness. `readiness` go / no-go filters on
   * it (the readiness of every selected host is then counted, in Postgres); without it only
   * the page's hosts are counted.
   */
  async hosts(
    filter: HostSelector & { readiness?: 'go' | 'no-go'; after?: string; limit: number },
  ): Promise<{ items: HostListItem[]; nextCursor: string | null; total: number }> {
    const s = this.s;
    const params: unknown[] = [];
    const where = this.selector(filter, params);
    const after = filter.after ? (decodeKey(filter.after, 1)?.[0] ?? filter.after) : null;
    const countParams = [...params];
    let pageWhere = where;
    if (after !== null) {
      params.push(after);
      pageWhere += ` AND h.host_id > $${params.length}`;
    }
    params.push(filter.limit + 1);
    const limit = `$${params.length}`;
    const ready = `r.guests > 0 AND r.acknowledged = r.guests AND r.blocked = 0`;
    const sql = filter.readiness
      ? `WITH sel AS (SELECT h.host_id FROM ${s}.hosts h WHERE ${pageWhere}),
              r AS (${readinessSql(s, 'sel')})
         SELECT h.*, r.guests, r.decided, r.acknowledged, r.blocked
           FROM r JOIN ${s}.hosts h ON h.host_id = r.host_id
          WHERE ${filter.readiness === 'go' ? ready : `NOT (${ready})`}
          ORDER BY h.host_id LIMIT ${limit}`
      : `WITH sel AS (SELECT h.host_id FROM ${s}.hosts h WHERE ${pageWhere} ORDER BY h.host_id LIMIT ${limit}),
              r AS (${readinessSql(s, 'sel')})
         SELECT h.*, r.guests, r.decided, r.acknowledged, r.blocked
           FROM r JOIN ${s}.hosts h ON h.host_id = r.host_id
          ORDER BY h.host_id`;
    const totalSql = filter.readiness
      ? `WITH sel AS (SELECT h.host_id FROM ${s}.hosts h WHERE ${where}), r AS (${readinessSql(s, 'sel')})
         SELECT count(*)::int AS n FROM r WHERE ${filter.readiness === 'go' ? ready : `NOT (${ready})`}`
      : `SELECT count(*)::int AS n FROM ${s}.hosts h WHERE ${where}`;
    const [rows, total] = await Promise.all([
      this.db.query<HostListRow[]>(sql, params),
      this.db.query<{ n: Count }[]>(totalSql, countParams),
    ]);
    const items = rows.slice(0, filter.limit).map((r): HostListItem => {
      const readiness = {
        guests: int(r.guests),
        decided: int(r.decided),
        acknowledged: int(r.acknowledged),
        blocked: int(r.blocked),
        ready: false,
      };
      readiness.ready = readyOf(readiness);
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

  /** SQL of the attention rows over g (guests), d (decisions), h (hosts). */
  private attentionWhere(filter: AttentionFilter, params: unknown[], withKindAndReason: boolean): string {
    const where = [
      'g.present',
      this.selector({ hostId: filter.hostId, labels: filter.labels, waveId: filter.waveId }, params),
    ];
    const override = `(g.status IN ('needs-low-rsdp', 'unknown-kernel') AND d.message->>'action' = 'override-low')`;
    if (withKindAndReason && filter.kind === 'blocked') where.push(`g.status = 'blocked'`);
    else if (withKindAndReason && filter.kind === 'unknown-kernel') where.push(`g.status = 'unknown-kernel'`);
    else if (withKindAndReason && filter.kind === 'override') where.push(override);
    else where.push(`(g.status IN ('blocked', 'unknown-kernel') OR ${override})`);
    if (withKindAndReason && filter.reason) {
      params.push(filter.reason);
      where.push(`d.message->>'reason' = $${params.length}`);
    }
    return where.join(' AND ');
  }

  /** A page of guests that need attention (guest, host order), newest decision each, with reason and remedy. */
  async attention(
    filter: AttentionFilter & { after?: string; limit: number },
  ): Promise<{ items: AttentionItem[]; nextCursor: string | null }> {
    const s = this.s;
    const params: unknown[] = [];
    let where = this.attentionWhere(filter, params, true);
    const key = filter.after ? decodeKey(filter.after, 2) : null;
    if (key) {
      params.push(key[0], key[1]);
      where += ` AND (g.guest_id, g.host_id) > ($${params.length - 1}, $${params.length})`;
    }
    params.push(filter.limit + 1);
    const rows: AttentionRow[] = await this.db.query(
      `SELECT g.guest_id, g.host_id, g.status, g.kernel_sha256, g.decision_id,
              d.message->>'action' AS action, d.message->>'reason' AS reason, d.message->>'rsdp' AS rsdp,
              d.message->>'hypervisorVersion' AS hypervisor_version, d.message->'facts'->>'needReason' AS need_reason,
              d.detail->'explanation' AS explanation, d.detail->'remedy' AS remedy, d.detail->'flags' AS flags,
              h.wave_id, h.labels, k.release AS kernel_release, k.distro AS kernel_distro
         FROM ${s}.guests g
         JOIN ${s}.decisions d ON d.decision_id = g.decision_id
         JOIN ${s}.hosts h ON h.host_id = g.host_id
         LEFT JOIN ${s}.kernels k ON k.image_sha256 = g.kernel_sha256
        WHERE ${where}
        ORDER BY g.guest_id, g.host_id
        LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, filter.limit).map((r): AttentionItem => {
      const kinds: AttentionKind[] = [];
      if (r.status === 'blocked') kinds.push('blocked');
      if (r.action === 'override-low') kinds.push('override');
      if (r.status === 'unknown-kernel') kinds.push('unknown-kernel');
      return {
        guestId: r.guest_id,
        hostId: r.host_id,
        status: r.status,
        kinds,
        action: r.action,
        reason: r.reason,
        needReason: r.need_reason ?? null,
        rsdp: r.rsdp,
        hypervisorVersion: r.hypervisor_version,
        explanation: r.explanation ?? [],
        remedy: r.remedy ?? [],
        flags: r.flags ?? [],
        kernel: { sha256: r.kernel_sha256 ?? null, release: r.kernel_release ?? null, distro: r.kernel_distro ?? null },
        waveId: r.wave_id ?? null,
        labels: r.labels ?? {},
        decisionId: r.decision_id,
      };
    });
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > filter.limit && last ? encodeKey([last.guestId, last.hostId]) : null };
  }

  /**
   * Counts of the guests that need attention under the wave, host and label filters: per
   * kind (a guest may be of two: unknown kernel and override), per reason, and in all.
   */
  async attentionFacets(
    filter: AttentionFilter,
  ): Promise<{ total: number; kinds: Record<AttentionKind, number>; reasons: Record<string, number> }> {
    const s = this.s;
    const params: unknown[] = [];
    const where = this.attentionWhere(filter, params, false);
    const rows: Pick<PlanRow, 'status' | 'action' | 'reason' | 'n'>[] = await this.db.query(
      `SELECT g.status, d.message->>'action' AS action, d.message->>'reason' AS reason, count(*)::int AS n
         FROM ${s}.guests g
         JOIN ${s}.decisions d ON d.decision_id = g.decision_id
         JOIN ${s}.hosts h ON h.host_id = g.host_id
        WHERE ${where}
        GROUP BY 1, 2, 3`,
      params,
    );
    const kinds: Record<AttentionKind, number> = { blocked: 0, override: 0, 'unknown-kernel': 0 };
    const reasons: Record<string, number> = {};
    let total = 0;
    for (const r of rows) {
      const n = int(r.n);
      total += n;
      if (r.status === 'blocked') kinds.blocked += n;
      if (r.action === 'override-low') kinds.override += n;
      if (r.status === 'unknown-kernel') kinds['unknown-kernel'] += n;
      reasons[r.reason] = (reasons[r.reason] ?? 0) + n;
    }
    return { total, kinds, reasons };
  }

  /**
   * The current plan of the selected hosts: their present guests' current decisions, counted
   * as POST /v1/what-if counts its outcomes (fine, override-low, blocked, not applicable, the
   * superpage lost, unknown kernels, by reason and by status), plus the versions the hosts
   * are decided for. Ids that match no host come back in `unknownHostIds`.
   */
  async plan(sel: HostSelector): Promise<{
    totals: PlanTotals;
    decidedFor: { version: string | null; hosts: number }[];
    unknownHostIds: string[];
    unregisteredHostIds: string[];
  }> {
    const s = this.s;
    const params: unknown[] = [];
    const where = this.selector(sel, params);
    const [hostRows, rows] = await Promise.all([
      this.db.query<{ host_id: string; registered: boolean; version: string | null }[]>(
        `SELECT h.host_id, h.registered, coalesce(h.upgrade->>'toVersion', h.hypervisor_version) AS version FROM ${s}.hosts h WHERE ${where}`,
        params,
      ),
      this.db.query<PlanRow[]>(
        `SELECT g.status, d.message->>'action' AS action, d.message->>'rsdp' AS rsdp, d.message->>'reason' AS reason,
                coalesce((d.message->'costs')::jsonb @> '[{"code":"first-gib-superpage-lost"}]', false) AS lost,
                (g.status = 'unknown-kernel' OR (d.message->'facts'->>'kernelKnown' = 'false' AND d.message->'facts'->>'mode' = 'pvh')) AS unknown,
                count(*)::int AS n
           FROM ${s}.guests g
           LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id
          WHERE g.present AND g.host_id IN (SELECT h.host_id FROM ${s}.hosts h WHERE h.registered AND ${where})
          GROUP BY 1, 2, 3, 4, 5, 6`,
        params,
      ),
    ]);
    const registered = hostRows.filter((h) => h.registered);
    const totals: PlanTotals = {
      hosts: registered.length,
      guests: 0,
      fine: 0,
      overrideLow: 0,
      blocked: 0,
      notApplicable: 0,
      undecided: 0,
      lostFirstGiBSuperpage: 0,
      unknownKernel: 0,
      byReason: {},
      byStatus: {},
    };
    for (const r of rows) {
      const n = int(r.n);
      totals.guests += n;
      totals.byStatus[r.status] = (totals.byStatus[r.status] ?? 0) + n;
      if (!r.action) {
        totals.undecided += n;
        continue;
      }
      if (r.action === 'blocked') totals.blocked += n;
      else if (r.action === 'override-low') totals.overrideLow += n;
      else if (r.rsdp === 'not-applicable') totals.notApplicable += n;
      else totals.fine += n;
      if (r.lost) totals.lostFirstGiBSuperpage += n;
      if (r.unknown) totals.unknownKernel += n;
      totals.byReason[r.reason] = (totals.byReason[r.reason] ?? 0) + n;
    }
    const versions = new Map<string | null, number>();
    for (const h of registered) versions.set(h.version, (versions.get(h.version) ?? 0) + 1);
    const found = new Set(hostRows.map((h) => h.host_id));
    return {
      totals,
      decidedFor: [...versions]
        .map(([version, hosts]) => ({ version, hosts }))
        .sort((a, b) => String(a.version).localeCompare(String(b.version), undefined, { numeric: true })),
      unknownHostIds: (sel.ids ?? []).filter((id) => !found.has(id)),
      unregisteredHostIds: hostRows.filter((h) => !h.registered).map((h) => h.host_id),
    };
  }
}
