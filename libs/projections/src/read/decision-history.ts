import { DecisionRecord } from '../model';
import { DECISIONS, rowFromDb } from '../tables';
import { ReadContext, select } from './context';
import { EventRef, eventRefFromDb, EventRefDbRow } from './event-ref';

/** A decision (or withdrawal) of a guest with the stored event it was made after (null when that event is not in the store). */
export interface DecisionWithCause extends DecisionRecord {
  cause: EventRef | null;
}

/** Every decision and withdrawal of the guest (all its host views), in sequence order, each with the event that caused it. */
export async function readDecisionHistory({ db, s }: ReadContext, guestId: string): Promise<DecisionWithCause[]> {
  const rows = await select<Record<string, unknown> & { cause: EventRefDbRow | null }>(
    db,
    `SELECT d.*,
            CASE WHEN c.event_id IS NULL THEN NULL
                 ELSE json_build_object('event_id', c.event_id, 'type', c.type, 'stream_id', c.stream_id, 'occurred_at', c.occurred_at,
                                        'recorded_at', c.recorded_at, 'global_position', c.global_position::text) END AS cause
       FROM ${s}.decisions d
       LEFT JOIN events c ON c.event_id = d.caused_by->>'eventId'
      WHERE d.guest_id = $1
      ORDER BY d.sequence`,
    [guestId],
  );
  return rows.map((r) => ({ ...rowFromDb(DECISIONS, r), cause: r.cause ? eventRefFromDb(r.cause) : null }));
}
