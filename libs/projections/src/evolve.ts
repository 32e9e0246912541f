import { hash } from 'node:crypto';
import {
  EventDataSchemas,
  EventType,
  MIN_EVENT_TIME,
  PlacementDecided,
  PlacementWithdrawn,
} from '@fleetcompat/contract';
import {
  BehaviourRule,
  BehaviourTable,
  DEFAULT_BEHAVIOUR_RULES,
  DEFAULT_GUEST_OS_RULES,
  decidePlacement,
  GuestOsRule,
  GuestOsTable,
  KernelFacts,
  PlacementInput,
  POLICY_VERSION,
} from '@fleetcompat/policy';
import { asFactEvent, behaviourRuleKey, evolve, FactChange } from './facts';
import { decisionIdOf, GuestReport, GuestRow, HostRow, KernelRow, RestedOn } from './model';
import { View } from './guest-views';
import { isGuestEventType, ownerOfEvent, ShardLayout } from './shards';
import { WorkingSet } from './working-set';

/** The part of a stored event the projector uses. */
export interface ProjectedEvent {
  readonly eventId: string;
  readonly type: EventType;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly globalPosition: string;
  readonly data: unknown;
}

/**
 * The hypervisor version (and build) a host's decisions are for: its target during an
 * upgrade, else its current one. None before the host registers: whether it can force low
 * placement is not known until then, so its guests wait (status awaiting-host).
 */
export function decisionTarget(host: HostRow): { version: string; build: string | null } | null {
  if (!host.registered) return null;
  if (host.upgrade) return { version: host.upgrade.toVersion, build: host.upgrade.toBuild };
  if (host.hypervisorVersion === null) return null;
  return { version: host.hypervisorVersion, build: host.hypervisorBuild };
}

/** The columns of a kernel row the policy needs. */
export type PolicyKernel = Pick<KernelRow, 'imageSha256' | 'xenNotes' | 'revoked' | 'announcedAt'>;

/** A kernel the policy may call known: announced and not revoked. */
export function knownKernel(row: PolicyKernel | undefined): KernelFacts | undefined {
  if (!row || row.revoked || row.announcedAt === null) return undefined;
  return { imageSha256: row.imageSha256, xenNotes: row.xenNotes };
}

export function behaviourTable(
  rules: Iterable<{ rule: BehaviourRule }>,
  defaults: readonly BehaviourRule[],
): BehaviourTable {
  return { declared: [...rules].map((r) => r.rule), defaults };
}

export function guestOsTable(rules: Iterable<{ rule: GuestOsRule }>, defaults: readonly GuestOsRule[]): GuestOsTable {
  return { declared: [...rules].map((r) => r.rule), defaults };
}

/** The operator data the policy decides with: declared rules over this release's defaults. */
export interface PolicyTables {
  readonly behaviours: BehaviourTable;
  readonly guestOses: GuestOsTable;
}

/** The columns of an observed guest the policy needs. */
export interface PolicyGuest {
  readonly guestId: string;
  readonly mode: NonNullable<GuestRow['mode']>;
  readonly memoryMiB: number;
  readonly bootMethod: NonNullable<GuestRow['bootMethod']>;
  readonly kernelSha256: string | null;
  readonly bootloaderSha256: string | null;
}

/** The view as the policy's guest, when its host has observed it (a removal alone says nothing of the guest). */
export function observedGuest(g: GuestRow): PolicyGuest | null {
  if (g.mode === null || g.memoryMiB === null || g.bootMethod === null) return null;
  return {
    guestId: g.guestId,
    mode: g.mode,
    memoryMiB: g.memoryMiB,
    bootMethod: g.bootMethod,
    kernelSha256: g.kernelSha256,
    bootloaderSha256: g.bootloaderSha256,
  };
}

/**
 * The policy's input for a guest on a host, for a target hypervisor version: what the
 * projector decides with, and what the what-if endpoint decides with on the projections.
 * `kernelOf` looks up a kernel row by image sha256 (undefined when never announced).
 */
export function policyInputFor(
  guest: PolicyGuest,
  host: Pick<HostRow, 'hostId' | 'rsdpOverrideSupported'>,
  target: { version: string; build: string | null },
  kernelOf: (imageSha256: string) => PolicyKernel | undefined,
  tables: PolicyTables,
): PlacementInput {
  const kernel = guest.kernelSha256 ? knownKernel(kernelOf(guest.kernelSha256)) : undefined;
  const bootloader = guest.bootloaderSha256 ? knownKernel(kernelOf(guest.bootloaderSha256)) : undefined;
  return {
    guest: {
      guestId: guest.guestId,
      mode: guest.mode,
      memoryMiB: guest.memoryMiB,
      boot: { method: guest.bootMethod, kernelSha256: guest.kernelSha256, bootloaderSha256: guest.bootloaderSha256 },
    },
    host: {
      hostId: host.hostId,
      hypervisorVersion: target.version,
      hypervisorBuild: target.build,
      rsdpOverrideSupported: host.rsdpOverrideSupported,
    },
    kernel,
    bootloaderNotes: bootloader?.xenNotes,
    behaviours: tables.behaviours,
    guestOses: tables.guestOses,
  };
}

/**
 * What makes two decisions the same: a new one is published when any of this changes. A
 * SHA-256 digest of those fields (the projector keeps one per guest in memory). The fields
 * read here must stay those the projection loader selects (DECISION_KEY_FIELDS).
 */
export function decisionKey(m: PlacementDecided): string {
  const f = m.facts ?? {};
  const fields = JSON.stringify([
    m.hostId,
    m.hypervisorVersion,
    f.hypervisorBuild ?? null,
    m.rsdp,
    m.action,
    m.reason,
    m.kernelSha256 ?? null,
    f.kernelKnown ?? null,
    f.bootMethod ?? null,
    f.rsdpOverrideSupported ?? null,
    f.toolstackBehaviour ?? null,
    m.costs.map((c) => c.code),
    m.policyVersion,
  ]);
  return hash('sha256', fields, 'base64url');
}

/** The decision costs the guest its first-GiB superpage (stored with the view: superpage_lost). */
export function superpageLost(m: PlacementDecided): boolean {
  return m.costs.some((c) => c.code === 'first-gib-superpage-lost');
}

/** Default of MAX_GUESTS_PER_HOST. */
export const DEFAULT_MAX_GUESTS_PER_HOST = 10_000;

export interface EvolverOptions {
  /** Default hypervisor behaviour rules (this release's data). */
  readonly defaults?: readonly BehaviourRule[];
  /** Default GUEST_OS rules (this release's data). */
  readonly guestOsDefaults?: readonly GuestOsRule[];
  /** False: only the facts are applied, nothing is decided (a re-projection decides once at the end, see decideAll). */
  readonly decide?: boolean;
  /**
   * Most guests a host may have present; an observation past it is set aside. With shards,
   * the present guests of the host in this shard.
   */
  readonly maxGuestsPerHost?: number;
  /**
   * The shard applying (default: one shard for every guest). A guest's events are applied by
   * its shard only; every other event by every shard (each its own copy of those facts), and
   * only the event's owner (ownerOfEvent) records it when it is set aside.
   */
  readonly shard?: ShardLayout;
}

/** The latest time a stored event may carry (what timestamptz and JavaScript both take). */
const LATEST_STORED_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * Why a stored event cannot be applied, or null: its type is unknown to this release, its
 * data does not pass its type's schema (an event stored before a validation existed, or
 * written around the edge), or its time is out of range. The edge refuses all of these now.
 */
function unappliable(event: ProjectedEvent): string | null {
  if (!Object.prototype.hasOwnProperty.call(EventDataSchemas, event.type)) return `unknown event type ${event.type}`;
  const t = Date.parse(event.occurredAt);
  if (!Number.isFinite(t) || t < MIN_EVENT_TIME || t > LATEST_STORED_TIME)
    return `occurredAt ${event.occurredAt} is out of range`;
  const parsed = EventDataSchemas[event.type].safeParse(event.data);
  if (!parsed.success)
    return `invalid data: ${parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ')}`;
  return null;
}

/** What a decision or withdrawal is recorded as caused by: an event, or a change of projection version. */
export interface Cause {
  readonly eventId: string;
  readonly type: string;
  readonly globalPosition: string;
  /** The decision's decidedAt: the cause's recordedAt, so that a rebuild decides the same. */
  readonly recordedAt: string;
}

/** A decision's `causedBy`. */
type RecordedCause = Pick<Cause, 'eventId' | 'type' | 'globalPosition'>;

/** The rows an applied change asks to be decided again. */
type Reach = { readonly kind: 'views'; readonly views: readonly View[] } | { readonly kind: 'all' };

/**
 * Applies stored events to the working set: the facts through `evolve` (pure: state and
 * event in, changed rows out), then every host view of a guest whose facts changed is
 * decided again, and a new decision recorded when it differs from the current one. Never
 * throws for a well-formed stored event: a recorded event is a fact; a guest on a host not
 * registered yet waits for it (status awaiting-host).
 */
export class Evolver {
  /** The operator data the policy decides with; made again when a rule is declared. */
  private tables: PolicyTables | null = null;

  private readonly defaults: readonly BehaviourRule[];
  private readonly guestOsDefaults: readonly GuestOsRule[];
  private readonly decide: boolean;
  private readonly maxGuestsPerHost: number;
  private readonly shard: ShardLayout | undefined;
  private lastCause?: { readonly of: Cause; readonly value: RecordedCause };

  constructor(
    private readonly ws: WorkingSet,
    options: EvolverOptions = {},
  ) {
    this.defaults = options.defaults ?? DEFAULT_BEHAVIOUR_RULES;
    this.guestOsDefaults = options.guestOsDefaults ?? DEFAULT_GUEST_OS_RULES;
    this.decide = options.decide ?? true;
    this.maxGuestsPerHost = options.maxGuestsPerHost ?? DEFAULT_MAX_GUESTS_PER_HOST;
    this.shard = options.shard && options.shard.count > 1 ? options.shard : undefined;
  }

  /**
   * Applies one stored event. One that cannot be applied (its data is not what its type
   * says, its time is out of range, or it would put a host past its guest limit) is set
   * aside with the reason: recorded in the projection (projection.set_aside, visible to
   * admins, counted in metrics), the other events go on, and a rebuild sets it aside alike.
   */
  apply(event: ProjectedEvent): void {
    let owned = true;
    if (this.shard) {
      const owner = ownerOfEvent(event, this.shard.count);
      // another shard's guest (or a guest event whose guest cannot be read: shard 0's)
      if (isGuestEventType(event.type) && owner !== this.shard.index) return;
      owned = owner === this.shard.index;
    }
    const refused = unappliable(event);
    if (refused) return this.setAside(event, refused, owned);
    let changes: readonly FactChange[];
    try {
      changes = evolve(this.ws, asFactEvent(event));
    } catch (e) {
      return this.setAside(event, `the facts could not be applied: ${(e as Error).message}`, owned);
    }
    const over = this.overGuestLimit(changes);
    if (over) return this.setAside(event, over, owned);
    if (!changes.length || !this.decide) {
      for (const change of changes) this.put(change, event);
      return;
    }
    const reached = new Set<View>();
    let all = false;
    for (const change of changes) {
      const reach = this.put(change, event);
      if (reach.kind === 'all') all = true;
      else for (const v of reach.views) reached.add(v);
    }
    // in key order; each row read as it stands when its turn comes (deciding a view changes no other)
    for (const v of this.ws.sortedViews(all ? undefined : reached)) this.redecide(this.ws.guestAt(v), event);
  }

  /** Puts one changed row into the working set; returns the views to decide again. */
  private put(change: FactChange, event: Cause): Reach {
    switch (change.kind) {
      case 'kernel':
        this.ws.putKernel(change.row);
        return { kind: 'views', views: this.ws.viewsUsingImage(change.row.imageSha256) };
      case 'host':
        this.ws.putHost(change.row);
        return { kind: 'views', views: this.ws.viewsOnHost(change.row.hostId) };
      case 'guest':
        return { kind: 'views', views: [this.putReport(change.row, event)] };
      case 'ack':
        this.ws.putAck(change.row);
        return { kind: 'views', views: [] };
      case 'behaviour-rule':
        this.ws.putRule(change.row);
        this.tables = null;
        // which hosts a rule reaches depends on versions and builds: every view
        return { kind: 'all' };
      case 'guest-os-rule':
        this.ws.putGuestOsRule(change.row);
        this.tables = null;
        return { kind: 'all' };
      default: {
        const never: never = change;
        return never;
      }
    }
  }

  /** A host's view of a guest with its new facts; a view that lost its guest withdraws its decision. */
  private putReport(report: GuestReport, event: Cause): View {
    const previous = this.ws.guest(report.guestId, report.hostId);
    const row: GuestRow = {
      ...report,
      status: report.present ? (previous?.present ? previous.status : 'awaiting-host') : 'removed',
      need: report.present ? (previous?.need ?? null) : null,
      sequence: previous?.sequence ?? 0,
      decisionId: previous?.decisionId ?? null,
      decisionKey: previous?.decisionKey ?? null,
      superpageLost: previous?.superpageLost ?? false,
    };
    const view = this.ws.putGuest(row);
    if (!row.present) this.withdraw(row, event);
    return view;
  }

  /** Records the event as set aside (only its owner shard does: the others skip it alike). */
  private setAside(event: ProjectedEvent, reason: string, owned: boolean): void {
    if (!owned) return;
    this.ws.putSetAside({
      eventId: event.eventId,
      type: event.type,
      globalPosition: event.globalPosition,
      reason,
      recordedAt: event.recordedAt,
    });
  }

  /** Why the changes would put a host past its limit of present guests, or null. */
  private overGuestLimit(changes: readonly FactChange[]): string | null {
    for (const c of changes) {
      if (c.kind !== 'guest' || !c.row.present || this.ws.guest(c.row.guestId, c.row.hostId)?.present) continue;
      const n = this.ws.presentOnHost(c.row.hostId);
      if (n >= this.maxGuestsPerHost)
        return `limit-exceeded: host ${c.row.hostId} already has ${n} guests (MAX_GUESTS_PER_HOST ${this.maxGuestsPerHost})`;
    }
    return null;
  }

  /** Decides every view again (present ones) or withdraws its decision (the others): a change of policy. */
  decideAll(cause: Cause): void {
    for (const v of this.ws.sortedViews()) {
      const g = this.ws.guestAt(v);
      if (g.present) this.redecide(g, cause);
      else this.withdraw(g, cause);
    }
  }

  /**
   * The cause as recorded with each decision. One object for all the decisions of one cause
   * (an upgrade re-decides a host's guests): its JSON text is then made once for the history's
   * COPY (projection-store's jsonText keeps it by object). Never mutated.
   */
  private causedBy(cause: Cause): RecordedCause {
    if (this.lastCause?.of !== cause)
      this.lastCause = {
        of: cause,
        value: { eventId: cause.eventId, type: cause.type, globalPosition: cause.globalPosition },
      };
    return this.lastCause.value;
  }

  /** Publishes a withdrawal of the view's current decision, if it has one. */
  private withdraw(guest: GuestRow, event: Cause): void {
    if (!guest.decisionId) return;
    const sequence = this.ws.nextSequence(guest.guestId);
    const message: PlacementWithdrawn = {
      type: 'PlacementWithdrawn',
      hostId: guest.hostId,
      guestId: guest.guestId,
      sequence,
      withdrawnAt: event.recordedAt,
    };
    this.ws.records.push({
      decisionId: decisionIdOf(guest.guestId, sequence),
      guestId: guest.guestId,
      hostId: guest.hostId,
      sequence,
      kind: 'withdrawn',
      message,
      causedBy: this.causedBy(event),
      detail: null,
      decidedAt: event.recordedAt,
    });
    this.ws.putGuest({ ...guest, sequence, decisionId: null, decisionKey: null, superpageLost: false });
  }

  private policyTables(): PolicyTables {
    return (this.tables ??= {
      behaviours: behaviourTable(this.ws.rules.values(), this.defaults),
      guestOses: guestOsTable(this.ws.guestOsRules.values(), this.guestOsDefaults),
    });
  }

  /** The events the facts of a decision came from (see RestedOn). */
  private restedOn(guest: GuestRow, host: HostRow, target: { version: string; build: string | null }): RestedOn {
    const kernel = guest.kernelSha256 ? this.ws.kernels.get(guest.kernelSha256) : undefined;
    const bootloader = guest.bootloaderSha256 ? this.ws.kernels.get(guest.bootloaderSha256) : undefined;
    const guestOs = kernel && !kernel.revoked ? kernel.xenNotes?.guestOs : undefined;
    return {
      guest: guest.observedEventId,
      host: host.facts.registration?.eventId ?? null,
      running: host.facts.running?.eventId ?? null,
      upgrade: host.facts.upgrade?.eventId ?? null,
      kernel: kernel?.lastEventId ?? null,
      bootloader: bootloader?.lastEventId ?? null,
      // declared rules match a build exactly, then a version (lookupBehaviour's order)
      behaviour:
        (target.build ? this.ws.rules.get(behaviourRuleKey({ build: target.build }))?.eventId : undefined) ??
        this.ws.rules.get(behaviourRuleKey({ version: target.version }))?.eventId ??
        null,
      guestOs: guestOs !== undefined ? (this.ws.guestOsRules.get(guestOs)?.eventId ?? null) : null,
    };
  }

  private redecide(guest: GuestRow, event: Cause): void {
    if (!guest.present) return;
    const observed = observedGuest(guest);
    const host = this.ws.hosts.get(guest.hostId);
    const target = host ? decisionTarget(host) : null;
    if (!observed || !host || !target) {
      if (guest.status !== 'awaiting-host') this.ws.putGuest({ ...guest, status: 'awaiting-host', need: null });
      return;
    }
    const decision = decidePlacement(
      policyInputFor(observed, host, target, (sha) => this.ws.kernels.get(sha), this.policyTables()),
    );
    const sequence = this.ws.peekSequence(guest.guestId) + 1;
    const message: PlacementDecided = {
      type: 'PlacementDecided',
      decisionId: decisionIdOf(guest.guestId, sequence),
      hostId: host.hostId,
      guestId: guest.guestId,
      sequence,
      hypervisorVersion: target.version,
      rsdp: decision.rsdp,
      action: decision.action,
      reason: decision.reason,
      ...(guest.kernelSha256 ? { kernelSha256: guest.kernelSha256 } : {}),
      costs: decision.costs,
      policyVersion: POLICY_VERSION,
      decidedAt: event.recordedAt,
      facts: decision.facts as unknown as Record<string, unknown>,
    };
    const key = decisionKey(message);
    if (guest.decisionKey === key) {
      if (guest.status !== decision.status || guest.need !== decision.facts.need) {
        this.ws.putGuest({ ...guest, status: decision.status, need: decision.facts.need });
      }
      return;
    }
    this.ws.nextSequence(guest.guestId);
    this.ws.records.push({
      decisionId: message.decisionId,
      guestId: guest.guestId,
      hostId: host.hostId,
      sequence,
      kind: 'decided',
      message,
      causedBy: this.causedBy(event),
      detail: {
        status: decision.status,
        flags: decision.flags,
        explanation: decision.explanation,
        remedy: decision.remedy,
        restedOn: this.restedOn(guest, host, target),
      },
      decidedAt: event.recordedAt,
    });
    this.ws.putGuest({
      ...guest,
      status: decision.status,
      need: decision.facts.need,
      sequence,
      decisionId: message.decisionId,
      decisionKey: key,
      superpageLost: superpageLost(message),
    });
  }
}
