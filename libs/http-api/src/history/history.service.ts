import { DataSource } from 'typeorm';
import { LIVE_SCHEMA } from '@fleetcompat/projections';

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

export interface EventRef {
  eventId: string;
  type: string;
  streamId: string;
  occurredAt: string | null;
  recordedAt: string | null;
  globalPosition: string;
}

function eventRef(r: any, prefix = ''): EventRef {
  return {
    eventId: r[`${prefix}event_id`],
    type: r[`${prefix}type`],
    streamId: r[`${prefix}stream_id`],
    occurredAt: iso(r[`${prefix}occurred_at`]),
    recordedAt: iso(r[`${prefix}recorded_at`]),
    globalPosition: r[`${prefix}global_position`],
  };
}

/**
 * Explanations from the event store, the source of truth: each decision of a guest with the
 * event that caused it and the events its facts came from; the event stream of a host.
 */
export class HistoryService {
  private readonly s = LIVE_SCHEMA;

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Every decision and withdrawal of the guest, oldest first. `causedBy` is the event after
   * which it was made; `restedOn` the events in force at that point for each fact: the
   * guest's winning observation, the host's registration and its last upgrade event, the
   * kernel's (and bootloader's) build event, operator behaviour declarations. `rule` is the
   * row of the policy that fired, with its explanation.
   */
  async guestHistory(guestId: string): Promise<any[]> {
    const s = this.s;
    const rows: any[] = await this.dataSource.query(
      `SELECT d.decision_id, d.host_id, d.sequence, d.kind, d.message, d.caused_by, d.detail, d.decided_at,
              c.event_id AS c_event_id, c.type AS c_type, c.stream_id AS c_stream_id, c.occurred_at AS c_occurred_at,
              c.recorded_at AS c_recorded_at, c.global_position::text AS c_global_position
         FROM ${s}.decisions d
         LEFT JOIN events c ON c.event_id = d.caused_by->>'eventId'
        WHERE d.guest_id = $1
        ORDER BY d.sequence`,
      [guestId],
    );
    if (!rows.length) return [];
    const facts: any[] = await this.dataSource.query(
      `WITH d AS (
         SELECT d.sequence, d.guest_id, d.host_id, d.message->>'kernelSha256' AS kernel_sha256, c.transaction_id AS tx, c.global_position AS pos
           FROM ${s}.decisions d JOIN events c ON c.event_id = d.caused_by->>'eventId'
          WHERE d.guest_id = $1 AND d.kind = 'decided'
       ), g AS (
         SELECT d.sequence, obs.*
           FROM d CROSS JOIN LATERAL (
             SELECT e.event_id, e.type, e.stream_id, e.occurred_at, e.recorded_at, e.global_position, e.data
               FROM events e
              WHERE e.stream_id = 'guest-' || d.guest_id AND e.type = 'GuestObserved'
                AND (e.transaction_id, e.global_position) <= (d.tx, d.pos)
              ORDER BY e.occurred_at DESC, e.transaction_id DESC, e.global_position DESC
              LIMIT 1) obs
       )
       SELECT g.sequence, 'guest' AS fact, g.event_id, g.type, g.stream_id, g.occurred_at, g.recorded_at, g.global_position::text AS global_position FROM g
       UNION ALL
       SELECT d.sequence, x.fact, x.event_id, x.type, x.stream_id, x.occurred_at, x.recorded_at, x.global_position::text
         FROM d LEFT JOIN g ON g.sequence = d.sequence
        CROSS JOIN LATERAL (
          (SELECT 'host' AS fact, e.* FROM events e
            WHERE e.stream_id = 'host-' || d.host_id AND e.type = 'HostRegistered' AND (e.transaction_id, e.global_position) <= (d.tx, d.pos)
            ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1)
          UNION ALL
          (SELECT 'upgrade' AS fact, e.* FROM events e
            WHERE e.stream_id = 'host-' || d.host_id
              AND e.type IN ('HypervisorUpgradePlanned', 'HypervisorUpgradeCompleted', 'HypervisorUpgradeCancelled')
              AND (e.transaction_id, e.global_position) <= (d.tx, d.pos)
            ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1)
          UNION ALL
          (SELECT 'kernel' AS fact, e.* FROM events e
            WHERE e.stream_id = 'kernel-' || d.kernel_sha256 AND (e.transaction_id, e.global_position) <= (d.tx, d.pos)
            ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1)
          UNION ALL
          (SELECT 'bootloader' AS fact, e.* FROM events e
            WHERE e.stream_id = 'kernel-' || (g.data->'boot'->>'bootloaderSha256') AND (e.transaction_id, e.global_position) <= (d.tx, d.pos)
            ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1)
          UNION ALL
          (SELECT 'behaviour' AS fact, e.* FROM events e
            WHERE e.stream_id = 'hypervisor-behaviour' AND (e.transaction_id, e.global_position) <= (d.tx, d.pos)
            ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 20)
        ) x
       ORDER BY 1`,
      [guestId],
    );
    const bySequence = new Map<number, any[]>();
    for (const f of facts) {
      const list = bySequence.get(f.sequence) ?? [];
      list.push({ fact: f.fact, ...eventRef(f) });
      bySequence.set(f.sequence, list);
    }
    return rows.map((r) => ({
      decisionId: r.decision_id,
      hostId: r.host_id,
      sequence: r.sequence,
      kind: r.kind,
      decidedAt: iso(r.decided_at),
      message: r.message,
      rule: r.detail ? { reason: r.message.reason, status: r.detail.status, explanation: r.detail.explanation, flags: r.detail.flags } : null,
      causedBy: r.c_event_id ? { ...r.caused_by, ...eventRef(r, 'c_') } : r.caused_by,
      restedOn: bySequence.get(r.sequence) ?? [],
      detail: r.detail,
    }));
  }

  /** The host's stream: registration, upgrades planned/started/completed/cancelled, acks; in order. */
  async hostTimeline(hostId: string, after: number, limit: number): Promise<{ items: any[]; next: number | null }> {
    const rows: any[] = await this.dataSource.query(
      `SELECT stream_position, event_id, type, stream_id, occurred_at, recorded_at, global_position::text AS global_position, source, data
         FROM events WHERE stream_id = $1 AND stream_position > $2 ORDER BY stream_position LIMIT $3`,
      [`host-${hostId}`, after, limit + 1],
    );
    const items = rows.slice(0, limit).map((r) => ({ position: Number(r.stream_position), ...eventRef(r), source: r.source, data: r.data }));
    return { items, next: rows.length > limit ? items[items.length - 1].position : null };
  }
}
