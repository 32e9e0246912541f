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
   * which it was made; `restedOn` the events in force for each fact when the projector
   * decided (recorded with the decision: the host's observation of the guest, the host's
   * registration, running version and plan, the kernel's and bootloader's build status,
   * the operator declarations that applied). `rule` is the row of the policy that fired.
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
    // the events each decision rested on, as the projector recorded them when it decided
    const restedOn = (r: any): [string, string][] =>
      Object.entries((r.detail?.restedOn ?? {}) as Record<string, string | null>).filter((x): x is [string, string] => typeof x[1] === 'string');
    const ids = [...new Set(rows.flatMap((r) => restedOn(r).map(([, id]) => id)))];
    const events: any[] = ids.length
      ? await this.dataSource.query(
          `SELECT event_id, type, stream_id, occurred_at, recorded_at, global_position::text AS global_position FROM events WHERE event_id = ANY($1::text[])`,
          [ids],
        )
      : [];
    const byId = new Map(events.map((e) => [e.event_id as string, eventRef(e)]));
    return rows.map((r) => ({
      decisionId: r.decision_id,
      hostId: r.host_id,
      sequence: r.sequence,
      kind: r.kind,
      decidedAt: iso(r.decided_at),
      message: r.message,
      rule: r.detail ? { reason: r.message.reason, status: r.detail.status, explanation: r.detail.explanation, flags: r.detail.flags } : null,
      causedBy: r.c_event_id ? { ...r.caused_by, ...eventRef(r, 'c_') } : r.caused_by,
      restedOn: restedOn(r).flatMap(([fact, id]) => (byId.has(id) ? [{ fact, ...byId.get(id)! }] : [])),
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
