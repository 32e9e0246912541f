import { isReady } from './go-no-go';
import { HostPlacement } from './placements';

export { isReady, noGoReasons, type ReadinessCounts } from './go-no-go';

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
  /** Guests still waiting for an acknowledgement of their current decision (the first 1000). */
  readonly pendingGuestIds: readonly string[];
}

/** Whether a host may reboot, from its placements (readPlacements). */
export function readinessOf(rows: readonly HostPlacement[]): Readiness {
  const pending = rows.filter((r) => !r.decision || r.acknowledgedDecisionId !== r.decision.decisionId);
  const decided = rows.filter((r) => r.decision).length;
  const blocked = rows.filter((r) => r.status === 'blocked').length;
  return {
    guests: rows.length,
    decided,
    acknowledged: rows.length - pending.length,
    blocked,
    ready: isReady({ guests: rows.length, acknowledged: rows.length - pending.length, blocked }),
    pendingGuestIds: pending.slice(0, 1000).map((r) => r.guestId),
  };
}

/** isReady over the columns guests, acknowledged and blocked of `r` (rows of readinessCountsSql). */
export function readySql(r: string): string {
  return `${r}.guests > 0 AND ${r}.acknowledged = ${r}.guests AND ${r}.blocked = 0`;
}

/**
 * The SQL of the readiness counts (host_id, guests, decided, acknowledged, blocked) of the hosts
 * in `hostsFrom` (a relation with host_id), one row per host, counted as readinessOf counts.
 */
export function readinessCountsSql(s: string, hostsFrom: string): string {
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
