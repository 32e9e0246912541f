import { HostFacts, HostRow, UpgradeRow } from '../model';
import { FactEventOf } from './events';
import { FactChange, FactsReader, NO_CHANGE } from './state';
import { instant, supersedes } from './time';

export const NO_HOST_FACTS: HostFacts = {
  running: null,
  registration: null,
  upgrade: null,
  startedAt: null,
  plannedBuilds: [],
};

/**
 * The build a completion without one installed: that of the latest plan for its version
 * made no later than the completion.
 */
function plannedBuild(facts: HostFacts, version: string, at: string): string | null {
  const t = instant(at);
  let best: { at: number; build: string } | null = null;
  for (const p of facts.plannedBuilds) {
    const pt = instant(p.at);
    if (p.toVersion === version && pt <= t && (!best || pt >= best.at)) best = { at: pt, build: p.toBuild };
  }
  return best?.build ?? null;
}

/** The newest of the host's facts, for lastEventId. */
function newestEvent(facts: HostFacts): string {
  let newest: { at: number; eventId: string } | null = null;
  for (const f of [facts.running, facts.registration, facts.upgrade]) {
    if (f && (!newest || instant(f.at) >= newest.at)) newest = { at: instant(f.at), eventId: f.eventId };
  }
  return newest?.eventId ?? '';
}

/**
 * A host's row from its facts: registered once any HostRegistered is known; the plan in
 * force is the latest plan unless a newer completion or cancellation ended it, started when
 * a HypervisorUpgradeStarted is not older than the plan.
 */
export function deriveHost(hostId: string, facts: HostFacts): HostRow {
  const running = facts.running;
  const plan = facts.upgrade?.plan ?? null;
  const upgrade: UpgradeRow | null =
    plan && facts.upgrade
      ? {
          ...plan,
          state:
            facts.startedAt !== null && instant(facts.startedAt) >= instant(facts.upgrade.at) ? 'started' : 'planned',
          plannedEventId: facts.upgrade.eventId,
        }
      : null;
  return {
    hostId,
    registered: facts.registration !== null,
    hypervisorVersion: running?.version ?? null,
    hypervisorBuild: running
      ? (running.build ??
        (running.by === 'HypervisorUpgradeCompleted' ? plannedBuild(facts, running.version, running.at) : null))
      : null,
    rsdpOverrideSupported: facts.registration?.rsdpOverrideSupported ?? false,
    labels: facts.registration?.labels ?? {},
    upgrade,
    lastEventId: newestEvent(facts),
    facts,
  };
}

function factsOf(state: FactsReader, hostId: string): HostFacts {
  return state.host(hostId)?.facts ?? NO_HOST_FACTS;
}

function changed(hostId: string, facts: HostFacts): readonly FactChange[] {
  return [{ kind: 'host', row: deriveHost(hostId, facts) }];
}

/** Sets the running version and build, and the capability and labels, where newest. */
export function onHostRegistered(state: FactsReader, e: FactEventOf<'HostRegistered'>): readonly FactChange[] {
  const d = e.data;
  const facts = factsOf(state, d.hostId);
  const running = supersedes(e.occurredAt, facts.running?.at);
  const registration = supersedes(e.occurredAt, facts.registration?.at);
  if (!running && !registration) return NO_CHANGE;
  return changed(d.hostId, {
    ...facts,
    ...(running
      ? {
          running: {
            version: d.hypervisor.version,
            build: d.hypervisor.build ?? null,
            by: 'HostRegistered' as const,
            at: e.occurredAt,
            eventId: e.eventId,
          },
        }
      : {}),
    ...(registration
      ? {
          registration: {
            rsdpOverrideSupported: d.rsdpOverrideSupported,
            labels: d.labels ?? {},
            at: e.occurredAt,
            eventId: e.eventId,
          },
        }
      : {}),
  });
}

/** Sets the plan, where newer than the last plan, completion or cancellation. */
export function onHypervisorUpgradePlanned(
  state: FactsReader,
  e: FactEventOf<'HypervisorUpgradePlanned'>,
): readonly FactChange[] {
  const d = e.data;
  const facts = factsOf(state, d.hostId);
  // kept in time order (then by version and build), so that the facts are the same whatever order the plans came in
  const plannedBuilds =
    d.toBuild !== undefined
      ? [...facts.plannedBuilds, { at: e.occurredAt, toVersion: d.toVersion, toBuild: d.toBuild }].sort(
          (a, b) =>
            instant(a.at) - instant(b.at) ||
            a.toVersion.localeCompare(b.toVersion) ||
            a.toBuild.localeCompare(b.toBuild),
        )
      : facts.plannedBuilds;
  const inForce = supersedes(e.occurredAt, facts.upgrade?.at);
  if (!inForce && plannedBuilds === facts.plannedBuilds) return NO_CHANGE;
  return changed(d.hostId, {
    ...facts,
    plannedBuilds,
    ...(inForce
      ? {
          upgrade: {
            plan: {
              fromVersion: d.fromVersion,
              toVersion: d.toVersion,
              toBuild: d.toBuild ?? null,
              plannedRebootAt: d.plannedRebootAt,
              waveId: d.waveId ?? null,
            },
            at: e.occurredAt,
            eventId: e.eventId,
          },
        }
      : {}),
  });
}

/** Records when the latest upgrade started. */
export function onHypervisorUpgradeStarted(
  state: FactsReader,
  e: FactEventOf<'HypervisorUpgradeStarted'>,
): readonly FactChange[] {
  const facts = factsOf(state, e.data.hostId);
  if (!supersedes(e.occurredAt, facts.startedAt)) return NO_CHANGE;
  return changed(e.data.hostId, { ...facts, startedAt: e.occurredAt });
}

/** Sets the running version (where newest) and ends a plan older than the completion. */
export function onHypervisorUpgradeCompleted(
  state: FactsReader,
  e: FactEventOf<'HypervisorUpgradeCompleted'>,
): readonly FactChange[] {
  const d = e.data;
  const facts = factsOf(state, d.hostId);
  const running = supersedes(e.occurredAt, facts.running?.at);
  const ends = supersedes(e.occurredAt, facts.upgrade?.at);
  if (!running && !ends) return NO_CHANGE;
  return changed(d.hostId, {
    ...facts,
    ...(running
      ? {
          running: {
            version: d.version,
            build: d.build ?? null,
            by: 'HypervisorUpgradeCompleted' as const,
            at: e.occurredAt,
            eventId: e.eventId,
          },
        }
      : {}),
    ...(ends ? { upgrade: { plan: null, at: e.occurredAt, eventId: e.eventId } } : {}),
  });
}

/** Ends a plan older than the cancellation. */
export function onHypervisorUpgradeCancelled(
  state: FactsReader,
  e: FactEventOf<'HypervisorUpgradeCancelled'>,
): readonly FactChange[] {
  const facts = factsOf(state, e.data.hostId);
  if (!supersedes(e.occurredAt, facts.upgrade?.at)) return NO_CHANGE;
  return changed(e.data.hostId, { ...facts, upgrade: { plan: null, at: e.occurredAt, eventId: e.eventId } });
}
