import { BehaviourRule, GuestOsRule } from '@fleetcompat/policy';
import { FactEventOf } from './events';
import { FactChange, FactsReader, NO_CHANGE } from './state';
import { supersedes } from './time';

/** The key of a declared behaviour rule: the build, else the version, it is for. */
export function behaviourRuleKey(d: { readonly version?: string; readonly build?: string }): string {
  return d.build !== undefined ? `build:${d.build}` : `version:${d.version}`;
}

/** An operator's hypervisor behaviour rule: per version or build, the latest declaration. */
export function onHypervisorBehaviourDeclared(
  state: FactsReader,
  e: FactEventOf<'HypervisorBehaviourDeclared'>,
): readonly FactChange[] {
  const d = e.data;
  const key = behaviourRuleKey(d);
  if (!supersedes(e.occurredAt, state.behaviourRule(key)?.declaredAt)) return NO_CHANGE;
  const rule: BehaviourRule = {
    ...(d.build !== undefined ? { build: d.build } : { version: d.version }),
    behaviour: d.behaviour,
    ...(d.note !== undefined ? { note: d.note } : {}),
  };
  return [{ kind: 'behaviour-rule', row: { key, rule, eventId: e.eventId, declaredAt: e.occurredAt } }];
}

/** An operator's word on a GUEST_OS value: per value, the latest declaration. */
export function onGuestOsDeclared(state: FactsReader, e: FactEventOf<'GuestOsDeclared'>): readonly FactChange[] {
  const d = e.data;
  if (!supersedes(e.occurredAt, state.guestOsRule(d.guestOs)?.declaredAt)) return NO_CHANGE;
  const rule: GuestOsRule = {
    guestOs: d.guestOs,
    copesWithHighRsdp: d.copesWithHighRsdp,
    ...(d.note !== undefined ? { note: d.note } : {}),
  };
  return [{ kind: 'guest-os-rule', row: { guestOs: d.guestOs, rule, eventId: e.eventId, declaredAt: e.occurredAt } }];
}

/** A host's acknowledgement of a decision: per host and guest, the latest. */
export function onPlacementApplied(state: FactsReader, e: FactEventOf<'PlacementApplied'>): readonly FactChange[] {
  const d = e.data;
  if (!supersedes(e.occurredAt, state.ack(d.hostId, d.guestId)?.appliedAt)) return NO_CHANGE;
  return [
    {
      kind: 'ack',
      row: {
        hostId: d.hostId,
        guestId: d.guestId,
        decisionId: d.decisionId,
        appliedAt: e.occurredAt,
        eventId: e.eventId,
      },
    },
  ];
}
