import { DataSource } from 'typeorm';
import { hostStreamId } from '@fleetcompat/event-store';
import {
  DecisionWithCause,
  EventRef,
  readContext,
  readDecisionHistory,
  readEventRefs,
  readStreamPage,
  RestedOn,
  StreamEvent,
} from '@fleetcompat/projections';

export type { EventRef };

/** One decision or withdrawal of a guest, explained by the events it was made after and rested on. */
export interface GuestHistoryItem {
  decisionId: string;
  hostId: string;
  sequence: number;
  kind: DecisionWithCause['kind'];
  decidedAt: string;
  message: DecisionWithCause['message'];
  /** The row of the policy that fired (null for a withdrawal). */
  rule: { reason: string; status: string; explanation: readonly string[]; flags: readonly string[] } | null;
  /** The event after which it was made, with where the store holds it (when it does). */
  causedBy: DecisionWithCause['causedBy'] | (DecisionWithCause['causedBy'] & EventRef);
  /** The events in force for each fact when the projector decided (those still stored). */
  restedOn: ({ fact: string } & EventRef)[];
  detail: DecisionWithCause['detail'];
}

/** The events a decision rested on, as the projector recorded them when it decided: [fact, eventId]. */
function restedOnIds(d: DecisionWithCause): [keyof RestedOn, string][] {
  return (Object.entries(d.detail?.restedOn ?? {}) as [keyof RestedOn, string | null][]).filter(
    (x): x is [keyof RestedOn, string] => typeof x[1] === 'string',
  );
}

/**
 * Explanations from the event store, the source of truth: each decision of a guest with the
 * event that caused it and the events its facts came from; the event stream of a host.
 */
export class HistoryService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Every decision and withdrawal of the guest, oldest first. `causedBy` is the event after
   * which it was made; `restedOn` the events in force for each fact when the projector
   * decided (recorded with the decision: the host's observation of the guest, the host's
   * registration, running version and plan, the kernel's and bootloader's build status,
   * the operator declarations that applied). `rule` is the row of the policy that fired.
   */
  async guestHistory(guestId: string): Promise<GuestHistoryItem[]> {
    const decisions = await readDecisionHistory(readContext(this.dataSource), guestId);
    if (!decisions.length) return [];
    const byId = await readEventRefs(this.dataSource, [
      ...new Set(decisions.flatMap((d) => restedOnIds(d).map(([, id]) => id))),
    ]);
    return decisions.map((d) => ({
      decisionId: d.decisionId,
      hostId: d.hostId,
      sequence: d.sequence,
      kind: d.kind,
      decidedAt: d.decidedAt,
      message: d.message,
      rule:
        d.detail && d.message.type === 'PlacementDecided'
          ? {
              reason: d.message.reason,
              status: d.detail.status,
              explanation: d.detail.explanation,
              flags: d.detail.flags,
            }
          : null,
      causedBy: d.cause ? { ...d.causedBy, ...d.cause } : d.causedBy,
      restedOn: restedOnIds(d).flatMap(([fact, id]) => {
        const e = byId.get(id);
        return e ? [{ fact, ...e }] : [];
      }),
      detail: d.detail,
    }));
  }

  /** The host's stream: registration, upgrades planned/started/completed/cancelled, acks; in order. */
  hostTimeline(hostId: string, after: number, limit: number): Promise<{ items: StreamEvent[]; next: number | null }> {
    return readStreamPage(this.dataSource, hostStreamId(hostId), after, limit);
  }
}
