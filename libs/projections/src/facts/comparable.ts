// What of a projection must not depend on the order events were stored in (tests only).
import { PlacementDecided } from '@fleetcompat/contract';
import { WorkingSet } from '../working-set';
import { instant } from './time';
import { FactEvent } from './events';

/**
 * The facts and current decisions of a working set, with what only the store order can make
 * differ left out: a decision's id, sequence, decidedAt and cause (each order reaches the
 * final decision through other intermediate ones).
 */
export function comparable(ws: WorkingSet) {
  const sorted = <T>(m: Map<string, T>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v] as const);
  const decisions = new Map<string, string>();
  for (const r of ws.records) decisions.set(r.decisionId, JSON.stringify(r.message));
  return {
    kernels: sorted(ws.kernels),
    hosts: sorted(ws.hosts),
    acks: sorted(ws.acks),
    rules: sorted(ws.rules),
    guestOsRules: sorted(ws.guestOsRules),
    guests: ws.allGuests().map((g) => {
      const k = ws.keyOf(g);
      const { sequence: _s, decisionId, decisionKey: _k, superpageLost: _l, ...facts } = g;
      const message = decisionId ? (JSON.parse(decisions.get(decisionId)!) as PlacementDecided) : null;
      const decision = message
        ? {
            hostId: message.hostId,
            hypervisorVersion: message.hypervisorVersion,
            rsdp: message.rsdp,
            action: message.action,
            reason: message.reason,
            kernelSha256: message.kernelSha256 ?? null,
            costs: message.costs.map((c) => c.code),
            policyVersion: message.policyVersion,
          }
        : null;
      return [k, { ...facts, decision }] as const;
    }),
  };
}

/** The events in occurredAt order; events at the same instant keep the order they have. */
export function inTimeOrder(events: readonly FactEvent[]): FactEvent[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => instant(a.e.occurredAt) - instant(b.e.occurredAt) || a.i - b.i)
    .map(({ e }) => e);
}
