import { HostRow } from '../model';
import { hostFromDb } from '../projection-store';
import { ReadContext, select } from './context';

/** A host's row; null when no event named it. */
export async function readHost({ db, s }: ReadContext, hostId: string): Promise<HostRow | null> {
  const rows = await select<Record<string, unknown>>(db, `SELECT * FROM ${s}.hosts WHERE host_id = $1`, [hostId]);
  return rows[0] ? hostFromDb(rows[0]) : null;
}
