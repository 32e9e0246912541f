import { Queryable } from '@fleetcompat/event-store';
import { assertSchemaName, LIVE_SCHEMA } from '../schema';

/** A placements answer: the JSON text of `GET /v1/hosts/{id}/placements` and its entity tag. */
export interface PlacementsAnswer {
  readonly body: string;
  /** A weak validator (`W/"p1-<md5>"`): equal tags, equal bodies. */
  readonly etag: string;
}

/** Where the placements answers come from (the projections; a stand-in in unit tests). */
export interface PlacementsSource {
  /** The body and tag of one host, read in one statement (one snapshot); null when the host is unknown. */
  placements(hostId: string): Promise<PlacementsAnswer | null>;
  /** The current tags of many hosts, without building their bodies; unknown hosts are left out. */
  etags(hostIds: readonly string[]): Promise<Map<string, string>>;
}

/**
 * The SQL of the placements answers (`GET /v1/hosts/{id}/placements`, built by Postgres as JSON
 * text in one statement: the hot path of hosts about to reboot, so no row passes through
 * JSON.parse and JSON.stringify): the host, its present guests (as readPlacements lists them)
 * with each one's current decision, whether it is acknowledged and its `remedy` (the policy's
 * remedy of a blocked decision, from the decision history's detail; [] otherwise), and
 * `withdrawn`: every guest the host reported and then removed, with the sequence of its
 * withdrawal, so that a host reading only this answer (the long-poll agent) can tell a
 * withdrawal from an older answer.
 *
 * The tag is an md5 over what the body is made of, without building it: the version the
 * decisions are for and, over the host's guest rows (present or not), their number, the sum of
 * their sequences, and a sum of 64-bit hashes of (guest, presence, status, decision id, whether
 * the ack names the decision). A decision's message never changes once written (a new decision
 * is a new id with a higher sequence), and sequences only grow, so every new decision or
 * withdrawal moves the sum of sequences: those changes always move the tag. A change that moves
 * no sequence (a status, an acknowledgement, a guest removed before it was decided) moves the
 * hash sum, short of a 64-bit collision. Weak validator: equal tags, equal bodies. The
 * long-poll checks many hosts at once with it (integer aggregates over the guests index, no
 * decision messages, no JSON).
 */
export class PlacementsReader implements PlacementsSource {
  private readonly s: string;
  private readonly bodySql: string;
  private readonly etagsSql: string;

  constructor(
    private readonly db: Queryable,
    schema: string = LIVE_SCHEMA,
  ) {
    this.s = assertSchemaName(schema);
    const s = this.s;
    // count, sum of sequences and a 64-bit hash sum over the host's guest rows: integer
    // aggregates, no per-row JSON or sort (about 2.5 times cheaper than hashing the rows' JSON)
    const fingerprint = `'W/"p2-' || (SELECT md5(concat_ws('|', coalesce(h.upgrade->>'toVersion', h.hypervisor_version), count(*), sum(g.sequence),
              sum(hashtextextended(concat_ws('|', g.guest_id, g.present, g.status, g.decision_id, a.decision_id = g.decision_id), 0))))
             FROM ${s}.guests g
             LEFT JOIN ${s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
            WHERE g.host_id = h.host_id) || '"'`;
    this.bodySql = `SELECT json_build_object(
                'hostId', h.host_id,
                'hypervisorVersion', coalesce(h.upgrade->>'toVersion', h.hypervisor_version),
                'placements', coalesce((
                  SELECT json_agg(json_build_object(
                           'guestId', g.guest_id,
                           'status', g.status,
                           'decision', d.message,
                           'acknowledged', coalesce(a.decision_id = g.decision_id, false),
                           'remedy', coalesce(d.detail->'remedy', '[]'::json))
                         ORDER BY g.guest_id)
                    FROM ${s}.guests g
                    LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id
                    LEFT JOIN ${s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
                   WHERE g.host_id = h.host_id AND g.present), '[]'::json),
                'withdrawn', coalesce((
                  SELECT json_agg(json_build_object('guestId', g.guest_id, 'sequence', g.sequence) ORDER BY g.guest_id)
                    FROM ${s}.guests g
                   WHERE g.host_id = h.host_id AND NOT g.present AND g.sequence > 0), '[]'::json)
              )::text AS body,
              ${fingerprint} AS etag
         FROM ${s}.hosts h WHERE h.host_id = $1`;
    this.etagsSql = `SELECT h.host_id, ${fingerprint} AS etag FROM ${s}.hosts h WHERE h.host_id = ANY($1::text[])`;
  }

  async placements(hostId: string): Promise<PlacementsAnswer | null> {
    const rows: { body: string; etag: string }[] = await this.db.query(this.bodySql, [hostId]);
    return rows[0] ? { body: rows[0].body, etag: rows[0].etag } : null;
  }

  async etags(hostIds: readonly string[]): Promise<Map<string, string>> {
    if (!hostIds.length) return new Map();
    const rows: { host_id: string; etag: string }[] = await this.db.query(this.etagsSql, [hostIds]);
    return new Map(rows.map((r) => [r.host_id, r.etag]));
  }
}
