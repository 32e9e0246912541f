import { Queryable } from '@fleetcompat/event-store';
import { select } from './context';
import { EVENT_REF_COLUMNS, EventRef, eventRefFromDb, EventRefDbRow } from './event-ref';

/** The stored events of these ids, by id (ids not stored are missing from the map). */
export async function readEventRefs(db: Queryable, eventIds: readonly string[]): Promise<Map<string, EventRef>> {
  if (!eventIds.length) return new Map();
  const rows = await select<EventRefDbRow>(
    db,
    `SELECT ${EVENT_REF_COLUMNS} FROM events WHERE event_id = ANY($1::text[])`,
    [eventIds],
  );
  return new Map(rows.map((r) => [r.event_id, eventRefFromDb(r)]));
}
