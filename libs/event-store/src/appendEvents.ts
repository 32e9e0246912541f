import { Queryable } from './types';
import { RetryTransaction } from './transaction';

/** One event ready for the events table (data and origin already JSON text). */
export interface EventRow {
  readonly eventId: string;
  readonly streamId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly source: string;
  readonly data: string;
  readonly origin: string;
}

export interface AppendEventsResult {
  /** Rows newly inserted. */
  readonly stored: number;
  /** Version of each touched stream after the append (before it, if nothing was stored). */
  readonly versions: ReadonlyMap<string, number>;
}

/** Drops repeated eventIds, the first occurrence wins. */
export function dedupeByEventId<T extends { readonly eventId: string }>(rows: readonly T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const row of rows) {
    if (seen.has(row.eventId)) continue;
    seen.add(row.eventId);
    out.push(row);
  }
  return out;
}

/**
 * Appends `rows` (already deduplicated by eventId) inside the caller's READ COMMITTED
 * transaction, in four statements whatever the batch size:
 *
 * 1. lock the streams, in sorted order (deadlock-free), creating missing ones, and read
 *    their versions (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` locks every row);
 * 2. find which eventIds are already stored: a new statement sees every transaction that
 *    committed while we waited for the locks, so a concurrent writer of the same eventId
 *    in the same stream is seen here;
 * 3. `check(versions, fresh)` (expected-version checks; may throw);
 * 4. insert the new events with one `INSERT ... SELECT FROM unnest(...)` (positions
 *    allocated from the locked versions: gapless) and update the stream versions, in one
 *    statement.
 *
 * If an eventId was stored meanwhile under another stream (a producer reusing an eventId
 * for another entity), step 4 inserts fewer rows than planned; it throws RetryTransaction so
 * the caller rolls back and runs again (then step 2 sees it as a duplicate).
 */
export async function appendEvents(
  q: Queryable,
  rows: readonly EventRow[],
  check?: (versions: ReadonlyMap<string, number>, fresh: readonly EventRow[]) => void,
): Promise<AppendEventsResult> {
  const streamIds = [...new Set(rows.map((r) => r.streamId))].sort();
  if (streamIds.length === 0) return { stored: 0, versions: new Map() };

  const locked: { stream_id: string; version: string }[] = await q.query(
    `INSERT INTO streams (stream_id, version)
       SELECT s, 0 FROM unnest($1::text[]) WITH ORDINALITY AS t(s, n) ORDER BY n
     ON CONFLICT (stream_id) DO UPDATE SET version = streams.version
     RETURNING stream_id, version::text AS version`,
    [streamIds],
  );
  const versions = new Map<string, number>(locked.map((r) => [r.stream_id, Number(r.version)]));

  const existing: { event_id: string }[] = await q.query(
    `SELECT event_id FROM events WHERE event_id = ANY($1::text[])`,
    [rows.map((r) => r.eventId)],
  );
  const stored = new Set(existing.map((r) => r.event_id));
  const fresh = rows.filter((r) => !stored.has(r.eventId));

  check?.(versions, fresh);
  if (fresh.length === 0) return { stored: 0, versions };

  const next = new Map(versions);
  const positions = fresh.map((r) => {
    const position = (next.get(r.streamId) ?? 0) + 1;
    next.set(r.streamId, position);
    return position;
  });
  const touched = [...next.keys()].filter((s) => next.get(s) !== versions.get(s));

  const [{ inserted }]: { inserted: number }[] = await q.query(
    `WITH ins AS (
       INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, occurred_at, source, data, origin)
       SELECT e.event_id, e.stream_id, e.stream_position, e.type, e.schema_version, e.occurred_at, e.source,
              e.data::jsonb, e.origin::jsonb
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::timestamptz[],
                     $7::text[], $8::text[], $9::text[])
              AS e(event_id, stream_id, stream_position, type, schema_version, occurred_at, source, data, origin)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING 1
     ), upd AS (
       UPDATE streams AS s SET version = v.version
         FROM unnest($10::text[], $11::bigint[]) AS v(stream_id, version)
        WHERE s.stream_id = v.stream_id
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM ins)::int AS inserted`,
    [
      fresh.map((r) => r.eventId),
      fresh.map((r) => r.streamId),
      positions,
      fresh.map((r) => r.type),
      fresh.map((r) => r.schemaVersion),
      fresh.map((r) => r.occurredAt),
      fresh.map((r) => r.source),
      fresh.map((r) => r.data),
      fresh.map((r) => r.origin),
      touched,
      touched.map((s) => next.get(s)!),
    ],
  );
  if (inserted !== fresh.length) {
    throw new RetryTransaction(`eventId stored concurrently (${fresh.length - inserted} of ${fresh.length})`);
  }
  return { stored: fresh.length, versions: next };
}
