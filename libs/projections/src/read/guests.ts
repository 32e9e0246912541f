import { GuestView } from '../model';
import { ReadContext, select } from './context';
import { decodeKey, encodeKey } from './cursor';
import { GuestViewDbRow, guestViewFromDb, guestViewSql } from './guest-view';

export interface GuestListFilter {
  readonly status?: string;
  readonly hostId?: string;
  readonly waveId?: string;
  /** The cursor after which the page starts (keyset pagination; `next` of the previous page). */
  readonly after?: string;
  readonly limit: number;
}

/**
 * The page cursor of the guest list: the last (guest, host) view of the page, opaque to
 * clients. A cursor that is not one (a bare guest id, as earlier releases gave) resumes
 * after every view of that guest.
 */
export function encodeCursor(guestId: string, hostId: string): string {
  return encodeKey([guestId, hostId]);
}

export function decodeCursor(cursor: string): [string, string] {
  const key = decodeKey(cursor, 2);
  // not a cursor of ours: a guest id
  return key ? [key[0], key[1]] : [cursor, '\u{10FFFF}'];
}

/** One page of the present guest views matching the filter, in (guest id, host id) order, and the cursor of the next. */
export async function listGuests(
  { db, s }: ReadContext,
  filter: GuestListFilter,
): Promise<{ items: GuestView[]; next: string | null }> {
  const where: string[] = ['g.present'];
  const params: unknown[] = [];
  if (filter.status) {
    params.push(filter.status);
    where.push(`g.status = $${params.length}`);
  }
  if (filter.hostId) {
    params.push(filter.hostId);
    where.push(`g.host_id = $${params.length}`);
  }
  if (filter.waveId) {
    params.push(filter.waveId);
    where.push(`g.host_id IN (SELECT host_id FROM ${s}.hosts WHERE wave_id = $${params.length})`);
  }
  if (filter.after) {
    const [guestId, hostId] = decodeCursor(filter.after);
    params.push(guestId, hostId);
    where.push(`(g.guest_id, g.host_id) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(filter.limit + 1);
  const rows = await select<GuestViewDbRow>(
    db,
    `${guestViewSql(s)} WHERE ${where.join(' AND ')} ORDER BY g.guest_id, g.host_id LIMIT $${params.length}`,
    params,
  );
  const items = rows.slice(0, filter.limit).map(guestViewFromDb);
  const last = items[items.length - 1];
  return { items, next: rows.length > filter.limit ? encodeCursor(last.guestId, last.hostId) : null };
}
