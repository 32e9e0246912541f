import { BehaviourRule, GuestStatus, Placement, PlacementDecision } from '@fleetcompat/policy';
import { PlacementDecided, PlacementWithdrawn } from '@fleetcompat/contract';

/** Projection rows, as the projector keeps them in memory and in Postgres. */

export interface KernelRow {
  imageSha256: string;
  release: string;
  arch: string;
  distro: string | null;
  xenNotes: Record<string, any> | null;
  pipeline: Record<string, any> | null;
  revoked: boolean;
  revokedReason: string | null;
  lastEventId: string;
}

export interface UpgradeRow {
  fromVersion: string;
  toVersion: string;
  toBuild: string | null;
  plannedRebootAt: string;
  waveId: string | null;
  state: 'planned' | 'started';
  plannedEventId: string;
}

export interface HostRow {
  hostId: string;
  registered: boolean;
  hypervisorVersion: string | null;
  hypervisorBuild: string | null;
  rsdpOverrideSupported: boolean;
  labels: Record<string, string>;
  upgrade: UpgradeRow | null;
  lastEventId: string;
}

/** Guest status in the projection: the policy's five, plus waiting for the host to register. */
export type ProjectedStatus = GuestStatus | 'awaiting-host' | 'removed';

/**
 * The current decision of a guest as the read side shows it: the message as published and
 * what the API explains with. Stored once, in the decision history (projection.decisions);
 * the guest row points at it by id.
 */
export interface CurrentDecision {
  message: PlacementDecided;
  flags: readonly string[];
  explanation: readonly string[];
  /** The event after which this decision was made. */
  causedBy: { eventId: string; type: string; globalPosition: string };
}

export interface GuestRow {
  guestId: string;
  hostId: string;
  present: boolean;
  mode: 'pvh' | 'hvm' | 'pv';
  memoryMiB: number;
  bootMethod: 'direct' | 'pvh-grub' | 'other';
  kernelSha256: string | null;
  bootloaderSha256: string | null;
  observedAt: string;
  status: ProjectedStatus;
  need: Placement | null;
  /** The last sequence number used for this guest (decisions and withdrawals share it). */
  sequence: number;
  /** The current decision's id (a row of projection.decisions); null when the guest has none. */
  decisionId: string | null;
  /**
   * What the current decision is made of (decisionKey of its message): a new decision is
   * published only when this changes. Held in memory by the projector, not stored: its
   * loader computes it from the stored message; null on the read side.
   */
  decisionKey: string | null;
  lastEventId: string;
}

/** A guest as the read side shows it: the row with its current decision. */
export interface GuestView extends GuestRow {
  decision: CurrentDecision | null;
}

export interface AckRow {
  hostId: string;
  guestId: string;
  decisionId: string;
  appliedAt: string;
  eventId: string;
}

/** A published message, recorded in the decision history and the outbox. */
export interface DecisionRecord {
  decisionId: string;
  guestId: string;
  hostId: string;
  sequence: number;
  kind: 'decided' | 'withdrawn';
  message: PlacementDecided | PlacementWithdrawn;
  causedBy: { eventId: string; type: string; globalPosition: string };
  /** For decided: the policy output (explanation, flags, status); null for withdrawn. */
  detail: Pick<PlacementDecision, 'status' | 'flags' | 'explanation'> | null;
  decidedAt: string;
}

export interface BehaviourRuleRow {
  key: string;
  rule: BehaviourRule;
  eventId: string;
}

export function decisionIdOf(guestId: string, sequence: number): string {
  return `${guestId}#${sequence}`;
}
