import { EventDataOf, EventType } from '@fleetcompat/contract';

/** A stored event as the facts see it: `data` narrowed by `type`. */
export type FactEvent = {
  [T in EventType]: {
    readonly type: T;
    readonly eventId: string;
    readonly occurredAt: string;
    readonly data: EventDataOf<T>;
  };
}[EventType];

/** The event of one type. */
export type FactEventOf<T extends EventType> = Extract<FactEvent, { type: T }>;

/**
 * A stored event as a FactEvent. Every stored event passed the contract's validation at the
 * edge (ingest and POST /v1/events), so its data has the shape its type says.
 */
export function asFactEvent(e: {
  readonly type: EventType;
  readonly eventId: string;
  readonly occurredAt: string;
  readonly data: unknown;
}): FactEvent {
  return e as FactEvent;
}
