// What the decisions must be, rebuilt from the workload's own record of the events it
// generated (not from the store, not from the projections): an implementation of the fact
// rule of docs (/work/shared/domain.md, "Facts arrive in any order") that shares no code with
// libs/projections. Every fact takes its value from the event with the latest occurredAt among
// those that set it, whatever the order they were delivered or stored in. The workload gives
// every event its own occurredAt, so "ties: the one stored last" (which the workload cannot
// know) never comes up; a tie between competing events is reported, not resolved.
import { FleetEvent } from '@fleetcompat/contract';
import {
  BehaviourRule,
  BehaviourTable,
  DEFAULT_BEHAVIOUR_RULES,
  DEFAULT_GUEST_OS_RULES,
  GuestOsRule,
  GuestOsTable,
  KernelFacts,
  PlacementInput,
  RsdpNotes,
} from '@fleetcompat/policy';

/** One competitor for a fact: its time (ms) and what it says. */
interface Timed<T> {
  readonly at: number;
  readonly eventId: string;
  readonly value: T;
}

/** The latest of the events that set one fact (and the one before it); equal times are recorded as ties. */
class Latest<T> {
  best: Timed<T> | null = null;
  /** The latest of the others: what a projector that let an older event win would likely show. */
  runnerUp: Timed<T> | null = null;
  tie: string | null = null;

  offer(at: number, eventId: string, value: T): void {
    if (this.best?.eventId === eventId) return;
    if (this.best === null || at > this.best.at) {
      this.runnerUp = this.best;
      this.best = { at, eventId, value };
      this.tie = null;
    } else {
      if (at === this.best.at) this.tie = eventId;
      if (this.runnerUp === null || at > this.runnerUp.at) this.runnerUp = { at, eventId, value };
    }
  }
}

export interface ExpectedHost {
  readonly hostId: string;
  /** A HostRegistered for the host exists. */
  readonly registered: boolean;
  /** Running version and build (latest of HostRegistered and HypervisorUpgradeCompleted). */
  readonly running: { version: string; build: string | null; by: string } | null;
  /** rsdpOverrideSupported of the latest HostRegistered. */
  readonly rsdpOverrideSupported: boolean | null;
  /** The plan in force: the latest of Planned/Completed/Cancelled is a Planned. */
  readonly plan: { toVersion: string; toBuild: string | null } | null;
  /** What the host's decisions are for: the plan's target when one is in force, else the running version. */
  readonly target: { version: string; build: string | null } | null;
}

export interface ExpectedGuest {
  readonly guestId: string;
  readonly hostId: string;
  /** The latest of the host's GuestObserved/GuestRemoved for the guest is a GuestObserved. */
  readonly present: boolean;
  /** The data of that GuestObserved (present guests). */
  readonly observed: any; // or null
}

/** The facts as they stand after the rule, from the workload's events. */
export class ExpectedFacts {
  readonly hosts = new Map<string, ExpectedHost>();
  /** Per (guest, host): key `${guestId}\u0000${hostId}`. */
  readonly guests = new Map<string, ExpectedGuest>();
  /** Images whose latest KernelBuildCompleted/-Revoked is a Completed, with that event's notes. */
  readonly kernels = new Map<string, { known: boolean; xenNotes: RsdpNotes | null }>();
  readonly behaviours: BehaviourTable;
  readonly guestOses: GuestOsTable;
  /** The tables with no declaration at all (the defaults alone). */
  readonly undeclared: { behaviours: BehaviourTable; guestOses: GuestOsTable };
  /** The tables with the older declaration of each key instead of the latest, where there is one. */
  readonly stale: { behaviours: BehaviourTable; guestOses: GuestOsTable };
  /** Competing events with the same occurredAt (the workload must have none: each would make the expectation depend on store order). */
  readonly ties: string[] = [];
  /** Facts the rule leaves to an interpretation the brief does not settle (the workload must have none). */
  readonly ambiguities: string[] = [];

  constructor(events: Iterable<FleetEvent>) {
    const t = (e: FleetEvent) => {
      const ms = Date.parse(e.occurredAt);
      if (Number.isNaN(ms)) throw new Error(`${e.eventId}: occurredAt ${e.occurredAt} does not parse`);
      return ms;
    };
    const per = <T>(m: Map<string, Latest<T>>, k: string) => {
      let l = m.get(k);
      if (!l) m.set(k, (l = new Latest<T>()));
      return l;
    };
    const registered = new Set<string>();
    const hostIds = new Set<string>();
    const running = new Map<string, Latest<{ version: string; build: string | null; by: string }>>();
    const capability = new Map<string, Latest<boolean>>();
    const plan = new Map<string, Latest<{ toVersion: string; toBuild: string | null } | null>>();
    const planBuilds = new Map<string, { at: number; toVersion: string }[]>();
    const completionsWithoutBuild = new Map<string, { at: number; version: string; eventId: string }[]>();
    const guest = new Map<string, Latest<any>>(); // values may be null
    const kernel = new Map<string, Latest<RsdpNotes | null | 'revoked'>>();
    const behaviour = new Map<string, Latest<BehaviourRule>>();
    const guestOs = new Map<string, Latest<GuestOsRule>>();

    for (const e of events) {
      const at = t(e);
      switch (e.type) {
        case 'HostRegistered': {
          const d = e.data;
          registered.add(d.hostId);
          hostIds.add(d.hostId);
          per(running, d.hostId).offer(at, e.eventId, {
            version: d.hypervisor.version,
            build: d.hypervisor.build ?? null,
            by: 'HostRegistered',
          });
          per(capability, d.hostId).offer(at, e.eventId, d.rsdpOverrideSupported);
          break;
        }
        case 'HypervisorUpgradeCompleted': {
          const d = e.data;
          hostIds.add(d.hostId);
          per(running, d.hostId).offer(at, e.eventId, {
            version: d.version,
            build: d.build ?? null,
            by: 'HypervisorUpgradeCompleted',
          });
          per(plan, d.hostId).offer(at, e.eventId, null);
          if (d.build === undefined) {
            if (!completionsWithoutBuild.has(d.hostId)) completionsWithoutBuild.set(d.hostId, []);
            completionsWithoutBuild.get(d.hostId)!.push({ at, version: d.version, eventId: e.eventId });
          }
          break;
        }
        case 'HypervisorUpgradePlanned': {
          const d = e.data;
          hostIds.add(d.hostId);
          per(plan, d.hostId).offer(at, e.eventId, { toVersion: d.toVersion, toBuild: d.toBuild ?? null });
          if (d.toBuild !== undefined) {
            if (!planBuilds.has(d.hostId)) planBuilds.set(d.hostId, []);
            planBuilds.get(d.hostId)!.push({ at, toVersion: d.toVersion });
          }
          break;
        }
        case 'HypervisorUpgradeCancelled':
          hostIds.add(e.data.hostId);
          per(plan, e.data.hostId).offer(at, e.eventId, null);
          break;
        case 'HypervisorUpgradeStarted':
        case 'PlacementApplied':
          hostIds.add(e.data.hostId);
          break;
        case 'GuestObserved':
          hostIds.add(e.data.hostId);
          per(guest, `${e.data.guestId}\u0000${e.data.hostId}`).offer(at, e.eventId, e.data);
          break;
        case 'GuestRemoved':
          hostIds.add(e.data.hostId);
          per(guest, `${e.data.guestId}\u0000${e.data.hostId}`).offer(at, e.eventId, null);
          break;
        case 'KernelBuildCompleted':
          per(kernel, e.data.imageSha256).offer(at, e.eventId, e.data.xenNotes ?? null);
          break;
        case 'KernelBuildRevoked':
          per(kernel, e.data.imageSha256).offer(at, e.eventId, 'revoked');
          break;
        case 'HypervisorBehaviourDeclared': {
          const d = e.data;
          const key = d.build !== undefined ? `build:${d.build}` : `version:${d.version}`;
          const rule: BehaviourRule = {
            ...(d.build !== undefined ? { build: d.build } : { version: d.version }),
            behaviour: d.behaviour,
            ...(d.note !== undefined ? { note: d.note } : {}),
          };
          per(behaviour, key).offer(at, e.eventId, rule);
          break;
        }
        case 'GuestOsDeclared': {
          const d = e.data;
          per(guestOs, d.guestOs).offer(at, e.eventId, {
            guestOs: d.guestOs,
            copesWithHighRsdp: d.copesWithHighRsdp,
            ...(d.note !== undefined ? { note: d.note } : {}),
          });
          break;
        }
        default: {
          const never: never = e;
          throw new Error(`expected facts: no rule for ${(never as FleetEvent).type}`);
        }
      }
    }

    const tied = (what: string, l: Latest<unknown> | undefined) => {
      if (l?.tie)
        this.ties.push(
          `${what}: ${l.best!.eventId} and ${l.tie} have the same occurredAt ${new Date(l.best!.at).toISOString()}`,
        );
    };
    for (const hostId of hostIds) {
      const r = running.get(hostId);
      const c = capability.get(hostId);
      const p = plan.get(hostId);
      tied(`host ${hostId} running version`, r);
      tied(`host ${hostId} capability`, c);
      tied(`host ${hostId} plan`, p);
      const inForce = p?.best?.value ?? null;
      const run = r?.best?.value ?? null;
      const isRegistered = registered.has(hostId);
      const target = !isRegistered
        ? null
        : inForce
          ? { version: inForce.toVersion, build: inForce.toBuild }
          : run
            ? { version: run.version, build: run.build }
            : null;
      this.hosts.set(hostId, {
        hostId,
        registered: isRegistered,
        running: run,
        rsdpOverrideSupported: c?.best?.value ?? null,
        plan: inForce,
        target,
      });
      // A completion that names no build after a plan that named one for its version: the
      // brief says the build comes from the completion; another reading takes the plan's.
      for (const done of completionsWithoutBuild.get(hostId) ?? []) {
        if ((planBuilds.get(hostId) ?? []).some((pb) => pb.at < done.at && pb.toVersion === done.version)) {
          this.ambiguities.push(
            `host ${hostId}: ${done.eventId} completes ${done.version} without a build after a plan that named one`,
          );
        }
      }
    }
    for (const [k, l] of guest) {
      tied(`guest ${k.replace('\u0000', ' on ')}`, l);
      const [guestId, hostId] = k.split('\u0000');
      this.guests.set(k, { guestId, hostId, present: l.best!.value !== null, observed: l.best!.value });
    }
    for (const [sha, l] of kernel) {
      tied(`kernel ${sha}`, l);
      const v = l.best!.value;
      this.kernels.set(sha, v === 'revoked' ? { known: false, xenNotes: null } : { known: true, xenNotes: v });
    }
    for (const [k, l] of behaviour) tied(`behaviour rule ${k}`, l);
    for (const [k, l] of guestOs) tied(`GUEST_OS rule ${k}`, l);
    this.behaviours = {
      declared: [...behaviour.values()].map((l) => l.best!.value),
      defaults: DEFAULT_BEHAVIOUR_RULES,
    };
    this.guestOses = { declared: [...guestOs.values()].map((l) => l.best!.value), defaults: DEFAULT_GUEST_OS_RULES };
    this.undeclared = {
      behaviours: { declared: [], defaults: DEFAULT_BEHAVIOUR_RULES },
      guestOses: { declared: [], defaults: DEFAULT_GUEST_OS_RULES },
    };
    this.stale = {
      behaviours: {
        declared: [...behaviour.values()].map((l) => (l.runnerUp ?? l.best!).value),
        defaults: DEFAULT_BEHAVIOUR_RULES,
      },
      guestOses: {
        declared: [...guestOs.values()].map((l) => (l.runnerUp ?? l.best!).value),
        defaults: DEFAULT_GUEST_OS_RULES,
      },
    };
  }

  /** Present (guest, host) pairs on registered hosts: the ones that must have a current decision. */
  *presentOnRegistered(): Generator<ExpectedGuest> {
    for (const g of this.guests.values()) if (g.present && this.hosts.get(g.hostId)?.registered) yield g;
  }

  private known(sha: string | undefined): KernelFacts | undefined {
    if (!sha) return undefined;
    const k = this.kernels.get(sha);
    return k?.known ? { imageSha256: sha, xenNotes: k.xenNotes } : undefined;
  }

  /**
   * The policy's input for a present guest on a registered host, from these facts; null when
   * the guest is not present there or the host is not registered. `tables` replaces the
   * declared tables (to see what a declaration changes).
   */
  inputFor(
    guestId: string,
    hostId: string,
    tables?: { behaviours?: BehaviourTable; guestOses?: GuestOsTable },
  ): PlacementInput | null {
    const g = this.guests.get(`${guestId}\u0000${hostId}`);
    const h = this.hosts.get(hostId);
    if (!g?.present || !h?.target || h.rsdpOverrideSupported === null) return null;
    const o = g.observed;
    const bootloader = this.known(o.boot.bootloaderSha256);
    return {
      guest: {
        guestId,
        mode: o.mode,
        memoryMiB: o.memoryMiB,
        boot: {
          method: o.boot.method,
          kernelSha256: o.boot.kernelSha256 ?? null,
          bootloaderSha256: o.boot.bootloaderSha256 ?? null,
        },
      },
      host: {
        hostId,
        hypervisorVersion: h.target.version,
        hypervisorBuild: h.target.build,
        rsdpOverrideSupported: h.rsdpOverrideSupported,
      },
      kernel: this.known(o.boot.kernelSha256),
      ...(bootloader ? { bootloaderNotes: bootloader.xenNotes } : {}),
      behaviours: tables?.behaviours ?? this.behaviours,
      guestOses: tables?.guestOses ?? this.guestOses,
    };
  }
}
