import { SetAsideRow } from '../model';
import { ReadContext, isoOf, select } from './context';

interface SetAsideDbRow {
  event_id: string;
  type: string;
  global_position: string;
  reason: string;
  recorded_at: Date | string;
}

/** Events the projector set aside (not applied), in store order, with the reason. */
export async function readSetAside({ db, s }: ReadContext, limit = 1000): Promise<SetAsideRow[]> {
  const rows = await select<SetAsideDbRow>(
    db,
    `SELECT event_id, type, global_position::text AS global_position, reason, recorded_at FROM ${s}.set_aside ORDER BY global_position LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    type: r.type,
    globalPosition: r.global_position,
    reason: r.reason,
    recordedAt: isoOf(r.recorded_at),
  }));
}
