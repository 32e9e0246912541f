import { createHash } from 'node:crypto';
import { EventDataOf, EventType, PlacementDecided, PlacementWithdrawn } from '@fleetcompat/contract';
import { BehaviourRule, BehaviourTable, decidePlacement, KernelFacts, PlacementInput, POLICY_VERSION, RsdpNotes } from '@fleetcompat/policy';
import { decisionIdOf, GuestRow, HostRow, KernelRow } from './model';
import { WorkingSet } from './working-set';

/** The part of a stored event the projector uses. */
export interface ProjectedEvent {
  readonly eventId: string;
  readonly type: EventType;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly globalPosition: string;
  readonly data: any;
}

function data<T extends EventType>(event: ProjectedEvent, _type: T): EventDataOf<T> {
  return event.data as EventDataOf<T>;
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
export type PolicyKernel = Pick<KernelRow, 'imageSha256' | 'xenNotes' | 'revoked'>;

/** A kernel the policy may call known: announced and not revoked. */
export function knownKernel(row: PolicyKernel | undefined): KernelFacts | undefined {
  if (!row || row.revoked) return undefined;
  return { imageSha256: row.imageSha256, xenNotes: row.xenNotes as RsdpNotes | null };
}

export function behaviourTable(rules: Iterable<{ rule: BehaviourRule }>, defaults: readonly BehaviourRule[]): BehaviourTable {
  return { declared: [...rules].map((r) => r.rule), defaults };
}

/** The columns of a guest row the policy needs. */
export type PolicyGuest = Pick<GuestRow, 'guestId' | 'mode' | 'memoryMiB' | 'bootMethod' | 'kernelSha256' | 'bootloaderSha256'>;

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
  behaviours: BehaviourTable,
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
    behaviours,
  };
}

/**
 * What makes two decisions the same: a new one is published when any of this changes. A
 * SHA-256 digest of those fields (the projector keeps one per guest in memory). The fields
 * read here must stay those the projection loader selects (DECISION_KEY_FIELDS).
 */
export function decisionKey(m: PlacementDecided): string {
  const f = (m.facts ?? {}) as Record<string, unknown>;
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
  return createHash('sha256').update(fields).digest('base64url');
}

/**
 * Applies one stored event to the working set and re-decides every guest whose facts it
 * changed. Never throws for a well-formed stored event: a recorded event is a fact; facts
 * that refer to what is not known yet (a guest on an unregistered host) wait for it.
 */
export class Evolver {
  /** The behaviour table the policy decides with; made again when a rule is declared. */
  private behaviours: BehaviourTable | null = null;

  constructor(
    private readonly ws: WorkingSet,
    private readonly defaults: readonly BehaviourRule[],
  ) {}

  apply(event: ProjectedEvent): void {
    switch (event.type) {
      case 'KernelBuildCompleted': {
        const d = data(event, 'KernelBuildCompleted');
        this.ws.putKernel({
          imageSha256: d.imageSha256,
          release: d.release,
          arch: d.arch,
          distro: d.distro ?? null,
          xenNotes: d.xenNotes ?? null,
          pipeline: d.pipeline ?? null,
          revoked: false,
          revokedReason: null,
          lastEventId: event.eventId,
        });
        return this.redecideAll(this.ws.guestsUsingImage(d.imageSha256), event);
      }
      case 'KernelBuildRevoked': {
        const d = data(event, 'KernelBuildRevoked');
        const row = this.ws.kernels.get(d.imageSha256);
        if (!row) return; // revoking what was never announced: it stays unknown
        this.ws.putKernel({ ...row, revoked: true, revokedReason: d.reason, lastEventId: event.eventId });
        return this.redecideAll(this.ws.guestsUsingImage(d.imageSha256), event);
      }
      case 'HostRegistered': {
        const d = data(event, 'HostRegistered');
        const previous = this.ws.hosts.get(d.hostId);
        this.ws.putHost({
          hostId: d.hostId,
          registered: true,
          hypervisorVersion: d.hypervisor.version,
          hypervisorBuild: d.hypervisor.build ?? null,
          rsdpOverrideSupported: d.rsdpOverrideSupported,
          labels: d.labels ?? {},
          upgrade: previous?.upgrade ?? null,
          lastEventId: event.eventId,
        });
        return this.redecideAll(this.ws.guestsOnHost(d.hostId), event);
      }
      case 'HypervisorUpgradePlanned': {
        const d = data(event, 'HypervisorUpgradePlanned');
        const host = this.hostOrPlaceholder(d.hostId);
        this.ws.putHost({
          ...host,
          upgrade: {
            fromVersion: d.fromVersion,
            toVersion: d.toVersion,
            toBuild: d.toBuild ?? null,
            plannedRebootAt: d.plannedRebootAt,
            waveId: d.waveId ?? null,
            state: 'planned',
            plannedEventId: event.eventId,
          },
          lastEventId: event.eventId,
        });
        return this.redecideAll(this.ws.guestsOnHost(d.hostId), event);
      }
      case 'HypervisorUpgradeStarted': {
        const d = data(event, 'HypervisorUpgradeStarted');
        const host = this.ws.hosts.get(d.hostId);
        if (!host?.upgrade) return; // nothing planned: nothing to start
        this.ws.putHost({ ...host, upgrade: { ...host.upgrade, state: 'started' }, lastEventId: event.eventId });
        return;
      }
      case 'HypervisorUpgradeCompleted': {
        const d = data(event, 'HypervisorUpgradeCompleted');
        const host = this.hostOrPlaceholder(d.hostId);
        const build = d.build ?? (host.upgrade && host.upgrade.toVersion === d.version ? host.upgrade.toBuild : null);
        this.ws.putHost({ ...host, hypervisorVersion: d.version, hypervisorBuild: build, upgrade: null, lastEventId: event.eventId });
        return this.redecideAll(this.ws.guestsOnHost(d.hostId), event);
      }
      case 'HypervisorUpgradeCancelled': {
        const d = data(event, 'HypervisorUpgradeCancelled');
        const host = this.ws.hosts.get(d.hostId);
        if (!host?.upgrade) return;
        this.ws.putHost({ ...host, upgrade: null, lastEventId: event.eventId });
        return this.redecideAll(this.ws.guestsOnHost(d.hostId), event);
      }
      case 'GuestObserved': {
        const d = data(event, 'GuestObserved');
        const previous = this.ws.guests.get(d.guestId);
        if (previous && previous.observedAt > event.occurredAt) return; // an older observation: last occurredAt wins
        if (previous?.present && previous.hostId !== d.hostId) this.withdraw(previous, event);
        const current = this.ws.guests.get(d.guestId);
        this.ws.putGuest({
          guestId: d.guestId,
          hostId: d.hostId,
          present: true,
          mode: d.mode,
          memoryMiB: d.memoryMiB,
          bootMethod: d.boot.method,
          kernelSha256: d.boot.kernelSha256 ?? null,
          bootloaderSha256: d.boot.bootloaderSha256 ?? null,
          observedAt: event.occurredAt,
          status: current?.status ?? 'awaiting-host',
          need: current?.need ?? null,
          sequence: current?.sequence ?? 0,
          ...(current?.present && current.hostId === d.hostId
            ? { decisionId: current.decisionId, decisionKey: current.decisionKey }
            : { decisionId: null, decisionKey: null }),
          lastEventId: event.eventId,
        });
        return this.redecide(this.ws.guests.get(d.guestId)!, event);
      }
      case 'GuestRemoved': {
        const d = data(event, 'GuestRemoved');
        const guest = this.ws.guests.get(d.guestId);
        if (!guest || !guest.present || guest.hostId !== d.hostId || guest.observedAt > event.occurredAt) return;
        this.withdraw(guest, event);
        const after = this.ws.guests.get(d.guestId)!;
        this.ws.putGuest({ ...after, present: false, status: 'removed', need: null, observedAt: event.occurredAt, lastEventId: event.eventId });
        return;
      }
      case 'PlacementApplied': {
        const d = data(event, 'PlacementApplied');
        this.ws.putAck({ hostId: d.hostId, guestId: d.guestId, decisionId: d.decisionId, appliedAt: event.occurredAt, eventId: event.eventId });
        return;
      }
      case 'HypervisorBehaviourDeclared': {
        const d = data(event, 'HypervisorBehaviourDeclared');
        const key = d.build !== undefined ? `build:${d.build}` : `version:${d.version}`;
        const rule: BehaviourRule = {
          ...(d.build !== undefined ? { build: d.build } : { version: d.version }),
          behaviour: d.behaviour,
          ...(d.note !== undefined ? { note: d.note } : {}),
        };
        this.ws.putRule({ key, rule, eventId: event.eventId });
        this.behaviours = null;
        // Which hosts the rule reaches depends on versions and builds: re-decide every loaded guest.
        return this.redecideAll(this.ws.allGuests(), event);
      }
      default: {
        const never: never = event.type;
        return never;
      }
    }
  }

  private hostOrPlaceholder(hostId: string): HostRow {
    return (
      this.ws.hosts.get(hostId) ?? {
        hostId,
        registered: false,
        hypervisorVersion: null,
        hypervisorBuild: null,
        rsdpOverrideSupported: false,
        labels: {},
        upgrade: null,
        lastEventId: '',
      }
    );
  }

  private redecideAll(guests: GuestRow[], event: ProjectedEvent): void {
    for (const g of guests) this.redecide(g, event);
  }

  private causedBy(event: ProjectedEvent) {
    return { eventId: event.eventId, type: event.type, globalPosition: event.globalPosition };
  }

  /** Publishes a withdrawal of the guest's current decision, if it has one. */
  private withdraw(guest: GuestRow, event: ProjectedEvent): void {
    if (!guest.decisionId) return;
    const sequence = guest.sequence + 1;
    const message: PlacementWithdrawn = {
      type: 'PlacementWithdrawn',
      // a guest's decision is for the host it is on: moving to another host withdraws it first
      hostId: guest.hostId,
      guestId: guest.guestId,
      sequence,
      withdrawnAt: event.recordedAt,
    };
    this.ws.records.push({
      decisionId: decisionIdOf(guest.guestId, sequence),
      guestId: guest.guestId,
      hostId: message.hostId,
      sequence,
      kind: 'withdrawn',
      message,
      causedBy: this.causedBy(event),
      detail: null,
      decidedAt: event.recordedAt,
    });
    this.ws.putGuest({ ...guest, sequence, decisionId: null, decisionKey: null });
  }

  private redecide(guest: GuestRow, event: ProjectedEvent): void {
    if (!guest.present) return;
    const host = this.ws.hosts.get(guest.hostId);
    const target = host ? decisionTarget(host) : null;
    if (!host || !target) {
      if (guest.status !== 'awaiting-host') this.ws.putGuest({ ...guest, status: 'awaiting-host', need: null });
      return;
    }
    const decision = decidePlacement(
      policyInputFor(guest, host, target, (sha) => this.ws.kernels.get(sha), (this.behaviours ??= behaviourTable(this.ws.rules.values(), this.defaults))),
    );
    const sequence = guest.sequence + 1;
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
    this.ws.records.push({
      decisionId: message.decisionId,
      guestId: guest.guestId,
      hostId: host.hostId,
      sequence,
      kind: 'decided',
      message,
      causedBy: this.causedBy(event),
      detail: { status: decision.status, flags: decision.flags, explanation: decision.explanation },
      decidedAt: event.recordedAt,
    });
    this.ws.putGuest({ ...guest, status: decision.status, need: decision.facts.need, sequence, decisionId: message.decisionId, decisionKey: key });
  }
}
