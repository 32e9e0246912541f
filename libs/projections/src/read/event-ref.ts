import { isoOf } from './context';

/** A stored event as the history names it. */
export interface EventRef {
  eventId: string;
  type: string;
  streamId: string;
  occurredAt: string;
  recordedAt: string;
  globalPosition: string;
}

/** The columns of an event that make its EventRef (global_position as text). */
export interface EventRefDbRow {
  event_id: string;
  type: string;
  stream_id: string;
  occurred_at: Date | string;
  recorded_at: Date | string;
  global_position: string;
}

export const EVENT_REF_COLUMNS =
  'event_id, type, stream_id, occurred_at, recorded_at, global_position::text AS global_position';

export function eventRefFromDb(r: EventRefDbRow): EventRef {
  return {
    eventId: r.event_id,
    type: r.type,
    streamId: r.stream_id,
    occurredAt: isoOf(r.occurred_at),
    recordedAt: isoOf(r.recorded_at),
    globalPosition: r.global_position,
  };
}
