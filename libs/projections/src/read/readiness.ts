import { HostPlacement } from './placements';

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
    ready: rows.length > 0 && pending.length === 0 && blocked === 0,
    pendingGuestIds: pending.slice(0, 1000).map((r) => r.guestId),
  };
}
