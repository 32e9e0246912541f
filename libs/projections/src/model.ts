import { BehaviourRule, GuestOsRule, GuestStatus, Placement, PlacementDecision } from '@fleetcompat/policy';
import { EventDataOf, PlacementDecided, PlacementWithdrawn, XenNotes } from '@fleetcompat/contract';

/** Projection rows, as the projector keeps them in memory and in Postgres. */

/**
 * A kernel (or bootloader) image. Two facts, each from the event with the latest occurredAt
 * that sets it (ties: the one stored last): its build and notes (KernelBuildCompleted), and
 * whether it is revoked (KernelBuildCompleted: no, KernelBuildRevoked: yes). A revocation of
 * an image never announced is kept too, so that an older announcement stored after it does
 * not bring the image back.
 */
export interface KernelRow {
  imageSha256: string;
  /** From the latest KernelBuildCompleted; null while the image was never announced. */
  release: string | null;
  arch: string | null;
  distro: string | null;
  xenNotes: XenNotes | null;
  pipeline: KernelPipeline | null;
  /** occurredAt of the latest KernelBuildCompleted; null when never announced. */
  announcedAt: string | null;
  revoked: boolean;
  revokedReason: string | null;
  /** occurredAt of the latest KernelBuildCompleted or KernelBuildRevoked (the revoked fact). */
  statusAt: string;
  /** The event that set the row's newest fact. */
  lastEventId: string;
}

export type KernelPipeline = NonNullable<EventDataOf<'KernelBuildCompleted'>['pipeline']>;

/** The planned upgrade in force, as the read side shows it. */
export interface UpgradeRow {
  fromVersion: string;
  toVersion: string;
  toBuild: string | null;
  plannedRebootAt: string;
  waveId: string | null;
  state: 'planned' | 'started';
  plannedEventId: string;
}

/** A fact with the time and event it came from. */
export type Timed<T> = T & { readonly at: string; readonly eventId: string };

export interface UpgradePlan {
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly toBuild: string | null;
  readonly plannedRebootAt: string;
  readonly waveId: string | null;
}

/**
 * What a host's row is derived from: each fact with the occurredAt of the event that set it
 * (the latest of those that set it wins; ties: the one stored last). Stored with the row.
 */
export interface HostFacts {
  /** Running version and build: HostRegistered and HypervisorUpgradeCompleted. */
  readonly running: Timed<{
    version: string;
    build: string | null;
    by: 'HostRegistered' | 'HypervisorUpgradeCompleted';
  }> | null;
  /** Capability and labels: HostRegistered. */
  readonly registration: Timed<{ rsdpOverrideSupported: boolean; labels: Record<string, string> }> | null;
  /** The plan: set by HypervisorUpgradePlanned, ended (plan null) by -Completed and -Cancelled. */
  readonly upgrade: Timed<{ plan: UpgradePlan | null }> | null;
  /** occurredAt of the latest HypervisorUpgradeStarted: the plan in force is started when this is not older than it. */
  readonly startedAt: string | null;
  /**
   * The builds plans named, for a completion that names none: it completed the build of the
   * latest plan for its version made before it.
   */
  readonly plannedBuilds: readonly { readonly at: string; readonly toVersion: string; readonly toBuild: string }[];
}

/** A host: its facts, and what the policy and the read side use, derived from them (deriveHost). */
export interface HostRow {
  hostId: string;
  registered: boolean;
  hypervisorVersion: string | null;
  hypervisorBuild: string | null;
  rsdpOverrideSupported: boolean;
  labels: Record<string, string>;
  upgrade: UpgradeRow | null;
  lastEventId: string;
  facts: HostFacts;
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
  /** For a blocked guest: what would unblock it. */
  remedy: readonly string[];
  /** The event after which this decision was made. */
  causedBy: { eventId: string; type: string; globalPosition: string };
}

/**
 * One host's view of a guest: a guest reported by two hosts has a row for each, and each is
 * decided (so that neither reboots it unprotected). Two facts: whether the host has the guest
 * (presence: that host's GuestObserved and GuestRemoved, the latest wins) and what it
 * observed (the latest GuestObserved). A removal is kept, so that an older observation
 * stored after it does not bring the guest back.
 */
export interface GuestRow {
  guestId: string;
  hostId: string;
  present: boolean;
  /** occurredAt of the event that set `present`. */
  presenceAt: string;
  /** From the latest GuestObserved; null when this host only ever reported the guest removed. */
  mode: 'pvh' | 'hvm' | 'pv' | null;
  memoryMiB: number | null;
  bootMethod: 'direct' | 'pvh-grub' | 'other' | null;
  kernelSha256: string | null;
  bootloaderSha256: string | null;
  /** occurredAt of the latest GuestObserved; null when none. */
  observedAt: string | null;
  /** The eventId of that GuestObserved (what the decision rests on, for the history). */
  observedEventId: string | null;
  status: ProjectedStatus;
  need: Placement | null;
  /** The last sequence number used for this host's view of the guest (the guest's counter is the highest over its views). */
  sequence: number;
  /** The current decision's id (a row of projection.decisions); null when the guest has none. */
  decisionId: string | null;
  /**
   * What the current decision is made of (decisionKey of its message), stored with the view:
   * a new decision is published only when this changes.
   */
  decisionKey: string | null;
  /** The current decision costs the guest its first-GiB superpage (for /v1/summary, without reading the decision). */
  superpageLost: boolean;
  /** The event that set `present` (the view's newest fact). */
  lastEventId: string;
}

/** The facts part of a guest view: what evolve sets (the decision columns are the projector's). */
export type GuestReport = Pick<
  GuestRow,
  | 'guestId'
  | 'hostId'
  | 'present'
  | 'presenceAt'
  | 'mode'
  | 'memoryMiB'
  | 'bootMethod'
  | 'kernelSha256'
  | 'bootloaderSha256'
  | 'observedAt'
  | 'observedEventId'
  | 'lastEventId'
>;

/** A guest as the read side shows it: the row with its current decision. */
export interface GuestView extends GuestRow {
  decision: CurrentDecision | null;
}

/** A host's acknowledgement of a guest's decision: the PlacementApplied with the latest occurredAt. */
export interface AckRow {
  hostId: string;
  guestId: string;
  decisionId: string;
  appliedAt: string;
  eventId: string;
}

/**
 * The events a decision's facts came from (eventIds), as the projector had them in force
 * when it decided: the host's view of the guest, the host's registration (host: capability), its
 * running version, the plan (or its end), the kernel's and the bootloader's build status,
 * and the operator declarations that applied. The history explains a decision with these.
 */
export interface RestedOn {
  readonly guest: string | null;
  readonly host: string | null;
  readonly running: string | null;
  readonly upgrade: string | null;
  readonly kernel: string | null;
  readonly bootloader: string | null;
  readonly behaviour: string | null;
  readonly guestOs: string | null;
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
  /** For decided: the policy output (explanation, flags, status, remedy) and the events its facts came from; null for withdrawn. */
  detail: (Pick<PlacementDecision, 'status' | 'flags' | 'explanation' | 'remedy'> & { restedOn?: RestedOn }) | null;
  decidedAt: string;
}

/** A declared behaviour rule: per key (version or build), the declaration with the latest occurredAt. */
export interface BehaviourRuleRow {
  key: string;
  rule: BehaviourRule;
  eventId: string;
  declaredAt: string;
}

/** A declared GUEST_OS rule: per GUEST_OS value, the declaration with the latest occurredAt. */
export interface GuestOsRuleRow {
  guestOs: string;
  rule: GuestOsRule;
  eventId: string;
  declaredAt: string;
}

export function decisionIdOf(guestId: string, sequence: number): string {
  return `${guestId}#${sequence}`;
}

/** The key of one host's view of a guest (and of an acknowledgement). */
export function viewKey(guestId: string, hostId: string): string {
  return `${guestId}\u0000${hostId}`;
}

/**
 * A placements answer as the read side last built it (projection.placements_answers): the body
 * of `GET /v1/hosts/{id}/placements`, gzip-compressed, and the tag it was built with (read in
 * one snapshot with the body). Not a projection: written by readers, never by the projector,
 * and served only while the host's current tag is still `etag` (PlacementsReader). `body`, the
 * JSON text, is what releases before the gzip column kept; it is no longer written or served.
 */
export interface PlacementsAnswerRow {
  hostId: string;
  etag: string;
  body: string | null;
  gzip: Buffer | null;
}

/** A stored event the projector could not apply, with the reason (projection.set_aside). */
export interface SetAsideRow {
  eventId: string;
  type: string;
  globalPosition: string;
  reason: string;
  recordedAt: string;
}
