import { Queryable } from '@fleetcompat/event-store';
import { select } from './context';
import { EVENT_REF_COLUMNS, EventRef, eventRefFromDb, EventRefDbRow } from './event-ref';

/** An event of a stream, with its position in the stream, source and data. */
export interface StreamEvent extends EventRef {
  position: number;
  source: string;
  data: unknown;
}

/** One page of a stream's events after `after` (a stream position), in stream order, and the position of the next page. */
export async function readStreamPage(
  db: Queryable,
  streamId: string,
  after: number,
  limit: number,
): Promise<{ items: StreamEvent[]; next: number | null }> {
  const rows = await select<EventRefDbRow & { stream_position: string; source: string; data: unknown }>(
    db,
    `SELECT stream_position, ${EVENT_REF_COLUMNS}, source, data
       FROM events WHERE stream_id = $1 AND stream_position > $2 ORDER BY stream_position LIMIT $3`,
    [streamId, after, limit + 1],
  );
  const items = rows
    .slice(0, limit)
    .map((r) => ({ position: Number(r.stream_position), ...eventRefFromDb(r), source: r.source, data: r.data }));
  return { items, next: rows.length > limit ? items[items.length - 1].position : null };
}
