import { Checkpoint, Queryable, ReadAllOptions, ReadAllResult, START, StoredEvent } from './types';

export const EVENT_COLUMNS = `global_position::text AS global_position, transaction_id::text AS transaction_id,
  event_id, stream_id, stream_position::text AS stream_position, type, schema_version,
  occurred_at, recorded_at, source, data, origin`;

export interface EventRecord {
  global_position: string;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  stream_position: string;
  type: string;
  schema_version: number;
  occurred_at: Date | string;
  recorded_at: Date | string;
  source: string;
  data: unknown;
  origin: unknown;
}

const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString();

export function toStoredEvent(r: EventRecord): StoredEvent {
  return {
    globalPosition: r.global_position,
    transactionId: r.transaction_id,
    eventId: r.event_id,
    streamId: r.stream_id,
    streamPosition: Number(r.stream_position),
    type: r.type as StoredEvent['type'],
    schemaVersion: r.schema_version,
    occurredAt: iso(r.occurred_at),
    recordedAt: iso(r.recorded_at),
    source: r.source,
    data: r.data,
    origin: r.origin as StoredEvent['origin'],
  };
}

export const checkpointOf = (e: Pick<StoredEvent, 'transactionId' | 'globalPosition'>): Checkpoint => ({
  transactionId: e.transactionId,
  globalPosition: e.globalPosition,
});

/**
 * Up to `limit` events after `after`, in the global order no reader can skip: only rows
 * written by transactions older than every transaction still in progress
 * (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`), ordered by
 * `(transaction_id, global_position)`. An event whose transaction is still open holds back
 * every later one until it commits (or rolls back), so resuming after the returned
 * checkpoint never misses an event.
 *
 * Note: any long-running transaction in the database (not only writers of events) holds
 * readers back for as long as it is open.
 */
export async function readAll(q: Queryable, options: ReadAllOptions): Promise<ReadAllResult> {
  const after = options.after ?? START;
  const limit = Math.max(1, Math.floor(options.limit));
  const rows: EventRecord[] = await q.query(
    `SELECT ${EVENT_COLUMNS}
       FROM events
      WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        AND (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
      ORDER BY events.transaction_id, events.global_position
      LIMIT $3`,
    [after.transactionId, after.globalPosition, limit],
  );
  const events = rows.map(toStoredEvent);
  const last = events[events.length - 1];
  return { events, checkpoint: last ? checkpointOf(last) : after };
}

/**
 * The checkpoint of the last event a reader can see now (START when there is none). With
 * `committed`, of the last event committed so far, which readAll may still hold back while
 * an older transaction is open: a reader that must see everything committed before it
 * started waits until it reaches this one.
 */
export async function readHead(q: Queryable, options: { committed?: boolean } = {}): Promise<Checkpoint> {
  const rows: { transaction_id: string; global_position: string }[] = await q.query(
    `SELECT transaction_id::text AS transaction_id, global_position::text AS global_position
       FROM events
      ${options.committed ? '' : 'WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())'}
      ORDER BY events.transaction_id DESC, events.global_position DESC
      LIMIT 1`,
  );
  return rows[0] ? { transactionId: rows[0].transaction_id, globalPosition: rows[0].global_position } : START;
}

/** A stream's events in stream order, optionally from a position (inclusive). */
export async function readStream(q: Queryable, streamId: string, fromPosition = 1): Promise<StoredEvent[]> {
  const rows: EventRecord[] = await q.query(
    `SELECT ${EVENT_COLUMNS} FROM events
      WHERE stream_id = $1 AND stream_position >= $2
      ORDER BY events.stream_position`,
    [streamId, fromPosition],
  );
  return rows.map(toStoredEvent);
}
