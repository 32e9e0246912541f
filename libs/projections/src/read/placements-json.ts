import { ReadContext, select } from './context';

/**
 * The body of `GET /v1/hosts/{hostId}/placements` as JSON text, built by Postgres in one
 * statement (host, guests, decisions, acknowledgements): the hot path of hosts about to
 * reboot, so no row passes through JSON.parse and JSON.stringify here. Null when the host
 * is unknown. Same guests and order as readPlacements.
 */
export async function readPlacementsJson({ db, s }: ReadContext, hostId: string): Promise<string | null> {
  const rows = await select<{ body: string }>(
    db,
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
