import { DataSource } from 'typeorm';
import { Queryable } from '@fleetcompat/event-store';
import { PlacementDecided } from '@fleetcompat/contract';
import { AckRow, GuestView, HostRow, KernelRow } from './model';
import { ackFromDb, guestFromDb, hostFromDb, kernelFromDb } from './projection-store';
import { assertSchemaName, LIVE_SCHEMA } from './schema';

export interface GuestListFilter {
  readonly status?: string;
  readonly hostId?: string;
  readonly waveId?: string;
  /** The cursor after which the page starts (keyset pagination; `next` of the previous page). */
  readonly after?: string;
  readonly limit: number;
}

export interface Readiness {
  /** Guests present on the host. */
  readonly guests: number;
  /** Guests with a current decision. */
  readonly decided: number;
  /** Guests whose current decision the host has acknowledged (PlacementApplied). */
  readonly acknowledged: number;
  /** Guests blocked: they will not boot after the reboot as things stand. */
  readonly blocked: number;
  /** Every guest decided and acknowledged, none blocked. */
  readonly ready: boolean;
  /** Guests still waiting for an acknowledgement of their current decision. */
  readonly pendingGuestIds: readonly string[];
}

/** A present guest of a host with what the host needs of it before it reboots. */
export interface HostPlacement {
  readonly guestId: string;
  readonly status: string;
  /** The current decision as published; null when the guest has none. */
  readonly decision: PlacementDecided | null;
  /** The decision the host last acknowledged (PlacementApplied), if any. */
  readonly acknowledgedDecisionId: string | null;
}

/**
 * The page cursor of the guest list: the last (guest, host) view of the page, opaque to
 * clients. A cursor that is not one (a bare guest id, as earlier releases gave) resumes
 * after every view of that guest.
 */
export function encodeCursor(guestId: string, hostId: string): string {
  return Buffer.from(JSON.stringify([guestId, hostId]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // not a cursor of ours: a guest id
  }
  return [cursor, '\u{10FFFF}'];
}

/** A guest row joined with its current decision (one history row, by id). */
function guestViewFromDb(r: any): GuestView {
  return {
    ...guestFromDb(r),
    decision: r.decision_message
      ? { message: r.decision_message, flags: r.decision_detail?.flags ?? [], explanation: r.decision_detail?.explanation ?? [], remedy: r.decision_detail?.remedy ?? [], causedBy: r.decision_caused_by }
      : null,
  };
}

/** Read-side queries over the projections (the HTTP API's source). */
export class ProjectionQueries {
  private readonly s: string;

  constructor(
    private readonly db: DataSource | Queryable,
    schema: string = LIVE_SCHEMA,
  ) {
    this.s = assertSchemaName(schema);
  }

  /** Guests with their current decision's message, explanation and cause, as `g`. */
  private get guestsWithDecision(): string {
    return `SELECT g.*, d.message AS decision_message, d.detail AS decision_detail, d.caused_by AS decision_caused_by
              FROM ${this.s}.guests g LEFT JOIN ${this.s}.decisions d ON d.decision_id = g.decision_id`;
  }

  /**
   * A guest as one host sees it, with that host, its kernels and the host's acknowledgement:
   * the host that reports it present (the latest report first), else the latest report.
   * `reportedBy` lists every host that reports it present: more than one during a live
   * migration (or when a host is wrong), and each of them has a decision of its own.
   */
  async guest(
    guestId: string,
    hostId?: string,
  ): Promise<{ guest: GuestView; host: HostRow | null; kernel: KernelRow | null; bootloader: KernelRow | null; ack: AckRow | null; reportedBy: string[] } | null> {
    const rows: any[] = await this.db.query(
      `${this.guestsWithDecision} WHERE g.guest_id = $1 AND ($2::text IS NULL OR g.host_id = $2)
        ORDER BY g.present DESC, g.presence_at DESC, g.host_id`,
      [guestId, hostId ?? null],
    );
    if (!rows.length) return null;
    const guest = guestViewFromDb(rows[0]);
    const reportedBy: string[] = (
      await this.db.query<{ host_id: string }[]>(`SELECT host_id FROM ${this.s}.guests WHERE guest_id = $1 AND present ORDER BY host_id`, [guestId])
    ).map((r: { host_id: string }) => r.host_id);
    const [hosts, kernels, acks] = await Promise.all([
      this.db.query<Record<string, unknown>[]>(`SELECT * FROM ${this.s}.hosts WHERE host_id = $1`, [guest.hostId]),
      this.db.query<Record<string, unknown>[]>(`SELECT * FROM ${this.s}.kernels WHERE image_sha256 = ANY($1::text[])`, [[guest.kernelSha256, guest.bootloaderSha256].filter(Boolean)]),
      this.db.query<Record<string, unknown>[]>(`SELECT * FROM ${this.s}.acks WHERE host_id = $1 AND guest_id = $2`, [guest.hostId, guestId]),
    ]);
    const k = kernels.map(kernelFromDb) as KernelRow[];
    return {
      guest,
      host: hosts[0] ? hostFromDb(hosts[0]) : null,
      kernel: k.find((x) => x.imageSha256 === guest.kernelSha256) ?? null,
      bootloader: k.find((x) => x.imageSha256 === guest.bootloaderSha256) ?? null,
      ack: acks[0] ? ackFromDb(acks[0]) : null,
      reportedBy,
    };
  }

  async guests(filter: GuestListFilter): Promise<{ items: GuestView[]; next: string | null }> {
    const where: string[] = ['g.present'];
    const params: unknown[] = [];
    if (filter.status) {
      params.push(filter.status);
      where.push(`g.status = $${params.length}`);
    }
    if (filter.hostId) {
      params.push(filter.hostId);
      where.push(`g.host_id = $${params.length}`);
    }
    if (filter.waveId) {
      params.push(filter.waveId);
      where.push(`g.host_id IN (SELECT host_id FROM ${this.s}.hosts WHERE wave_id = $${params.length})`);
    }
    if (filter.after) {
      const [guestId, hostId] = decodeCursor(filter.after);
      params.push(guestId, hostId);
      where.push(`(g.guest_id, g.host_id) > ($${params.length - 1}, $${params.length})`);
    }
    params.push(filter.limit + 1);
    const rows = await this.db.query<Record<string, unknown>[]>(
      `${this.guestsWithDecision} WHERE ${where.join(' AND ')} ORDER BY g.guest_id, g.host_id LIMIT $${params.length}`,
      params,
    );
    const items = (rows as any[]).slice(0, filter.limit).map(guestViewFromDb);
    const last = items[items.length - 1];
    return { items, next: rows.length > filter.limit ? encodeCursor(last.guestId, last.hostId) : null };
  }

  async host(hostId: string): Promise<HostRow | null> {
    const rows = await this.db.query<Record<string, unknown>[]>(`SELECT * FROM ${this.s}.hosts WHERE host_id = $1`, [hostId]);
    return rows[0] ? hostFromDb(rows[0]) : null;
  }

  /** Every present guest of the host with its current decision and acknowledgement, in guest id order. */
  async placements(hostId: string): Promise<HostPlacement[]> {
    const rows: any[] = await this.db.query(
      `SELECT g.guest_id, g.status, d.message AS decision, a.decision_id AS ack_decision_id
         FROM ${this.s}.guests g
         LEFT JOIN ${this.s}.decisions d ON d.decision_id = g.decision_id
         LEFT JOIN ${this.s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
        WHERE g.host_id = $1 AND g.present
        ORDER BY g.guest_id`,
      [hostId],
    );
    return rows.map((r) => ({ guestId: r.guest_id, status: r.status, decision: r.decision ?? null, acknowledgedDecisionId: r.ack_decision_id ?? null }));
  }

  /**
   * The body of `GET /v1/hosts/{hostId}/placements` as JSON text, built by Postgres in one
   * statement (host, guests, decisions, acknowledgements): the hot path of hosts about to
   * reboot, so no row passes through JSON.parse and JSON.stringify here. Null when the host
   * is unknown. Same shape and order as placements().
   */
  async placementsJson(hostId: string): Promise<string | null> {
    const s = this.s;
    const rows: { body: string }[] = await this.db.query(
      `SELECT json_build_object(
                'hostId', h.host_id,
                'hypervisorVersion', coalesce(h.upgrade->>'toVersion', h.hypervisor_version),
                'placements', coalesce((
                  SELECT json_agg(json_build_object(
                           'guestId', g.guest_id,
                           'status', g.status,
                           'decision', d.message,
                           'acknowledged', coalesce(a.decision_id = g.decision_id, false))
                         ORDER BY g.guest_id)
                    FROM ${s}.guests g
                    LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id
                    LEFT JOIN ${s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
                   WHERE g.host_id = h.host_id AND g.present), '[]'::json)
              )::text AS body
         FROM ${s}.hosts h WHERE h.host_id = $1`,
      [hostId],
    );
    return rows[0]?.body ?? null;
  }

  async readiness(hostId: string): Promise<Readiness> {
    const rows = await this.placements(hostId);
    const pending = rows.filter((r) => !r.decision || r.acknowledgedDecisionId !== r.decision.decisionId);
    const decided = rows.filter((r) => r.decision).length;
    const blocked = rows.filter((r) => r.status === 'blocked').length;
    return {
      guests: rows.length,
      decided,
      acknowledged: rows.length - pending.length,
      blocked,
      ready: rows.length > 0 && pending.length === 0 && blocked === 0,
      pendingGuestIds: pending.slice(0, 1000).map((r) => r.guestId),
    };
  }

  /** Events the projector set aside (not applied), in store order, with the reason. */
  async setAside(limit = 1000): Promise<{ eventId: string; type: string; globalPosition: string; reason: string; recordedAt: string }[]> {
    const rows: any[] = await this.db.query(
      `SELECT event_id, type, global_position::text AS global_position, reason, recorded_at FROM ${this.s}.set_aside ORDER BY global_position LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ eventId: r.event_id, type: r.type, globalPosition: r.global_position, reason: r.reason, recordedAt: new Date(r.recorded_at).toISOString() }));
  }

  /** Every decision and withdrawal the guest has had, oldest first. */
  async history(guestId: string): Promise<any[]> {
    const rows: any[] = await this.db.query(
      `SELECT decision_id, host_id, sequence, kind, message, caused_by, detail, decided_at
         FROM ${this.s}.decisions WHERE guest_id = $1 ORDER BY sequence`,
      [guestId],
    );
    return rows.map((r) => ({
      decisionId: r.decision_id,
      hostId: r.host_id,
      sequence: r.sequence,
      kind: r.kind,
      message: r.message,
      causedBy: r.caused_by,
      detail: r.detail,
      decidedAt: new Date(r.decided_at).toISOString(),
    }));
  }

  async summary(): Promise<{
    guests: number;
    byStatus: Record<string, number>;
    byHypervisorVersion: { version: string | null; targetVersion: string | null; hosts: number; guests: number; byStatus: Record<string, number> }[];
    byWave: { waveId: string; hosts: number; guests: number; byStatus: Record<string, number> }[];
    lostFirstGiBSuperpage: number;
  }> {
    const s = this.s;
    const [byStatus, byVersion, byWave, lost, versionHosts, waveHosts] = await Promise.all([
      this.db.query<{ status: string; n: number }[]>(`SELECT status, count(*)::int AS n FROM ${s}.guests WHERE present GROUP BY status ORDER BY status`),
      this.db.query<{ version: string; target: string | null; status: string | null; n: number }[]>(
        `SELECT h.hypervisor_version AS version, h.upgrade->>'toVersion' AS target, g.status, count(g.guest_id)::int AS n
           FROM ${s}.hosts h LEFT JOIN ${s}.guests g ON g.host_id = h.host_id AND g.present
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      ),
      this.db.query<{ wave_id: string; status: string | null; n: number }[]>(
        `SELECT h.wave_id, g.status, count(g.guest_id)::int AS n
           FROM ${s}.hosts h LEFT JOIN ${s}.guests g ON g.host_id = h.host_id AND g.present
          WHERE h.wave_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
      ),
      this.db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM ${s}.guests g JOIN ${s}.decisions d ON d.decision_id = g.decision_id
          WHERE g.present AND (d.message->'costs')::jsonb @> '[{"code":"first-gib-superpage-lost"}]'`,
      ),
      this.db.query<{ version: string; target: string | null; hosts: number }[]>(`SELECT hypervisor_version AS version, upgrade->>'toVersion' AS target, count(*)::int AS hosts FROM ${s}.hosts GROUP BY 1, 2`),
      this.db.query<{ wave_id: string; hosts: number }[]>(`SELECT wave_id, count(*)::int AS hosts FROM ${s}.hosts WHERE wave_id IS NOT NULL GROUP BY 1`),
    ]);
    const hostsPerVersion = new Map<string, number>(versionHosts.map((r: any) => [JSON.stringify([r.version, r.target]), r.hosts]));
    const hostsPerWave = new Map<string, number>(waveHosts.map((r: any) => [r.wave_id, r.hosts]));
    const statusMap: Record<string, number> = {};
    let total = 0;
    for (const r of byStatus) {
      statusMap[r.status] = r.n;
      total += r.n;
    }
    const versions = new Map<string, any>();
    for (const r of byVersion) {
      const key = JSON.stringify([r.version, r.target]);
      const v = versions.get(key) ?? { version: r.version, targetVersion: r.target, hosts: hostsPerVersion.get(key) ?? 0, guests: 0, byStatus: {} };
      if (r.status) {
        v.guests += r.n;
        v.byStatus[r.status] = r.n;
      }
      versions.set(key, v);
    }
    const waves = new Map<string, any>();
    for (const r of byWave) {
      const w = waves.get(r.wave_id) ?? { waveId: r.wave_id, hosts: hostsPerWave.get(r.wave_id) ?? 0, guests: 0, byStatus: {} };
      if (r.status) {
        w.guests += r.n;
        w.byStatus[r.status] = r.n;
      }
      waves.set(r.wave_id, w);
    }
    return { guests: total, byStatus: statusMap, byHypervisorVersion: [...versions.values()], byWave: [...waves.values()], lostFirstGiBSuperpage: lost[0].n };
  }
}

