import { PlacementDecided } from '@fleetcompat/contract';
import { ReadContext, select } from './context';

/** A present guest of a host with what the host needs of it before it reboots. */
export interface HostPlacement {
  readonly guestId: string;
  readonly status: string;
  /** The current decision as published; null when the guest has none. */
  readonly decision: PlacementDecided | null;
  /** The decision the host last acknowledged (PlacementApplied), if any. */
  readonly acknowledgedDecisionId: string | null;
}

interface PlacementDbRow {
  guest_id: string;
  status: string;
  decision: PlacementDecided | null;
  ack_decision_id: string | null;
}

/** Every present guest of the host with its current decision and acknowledgement, in guest id order. */
export async function readPlacements({ db, s }: ReadContext, hostId: string): Promise<HostPlacement[]> {
  const rows = await select<PlacementDbRow>(
    db,
    `SELECT g.guest_id, g.status, d.message AS decision, a.decision_id AS ack_decision_id
       FROM ${s}.guests g
       LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id
       LEFT JOIN ${s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
      WHERE g.host_id = $1 AND g.present
      ORDER BY g.guest_id`,
    [hostId],
  );
  return rows.map((r) => ({
    guestId: r.guest_id,
    status: r.status,
    decision: r.decision ?? null,
    acknowledgedDecisionId: r.ack_decision_id ?? null,
  }));
}
