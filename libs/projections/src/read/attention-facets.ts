import { ReadContext, select } from './context';
import { AttentionFilter, AttentionKind, attentionKinds, attentionWhereSql } from './attention-filter';

/** The counts beside the attention list: per kind, per reason, and in all. */
export interface AttentionFacets {
  total: number;
  kinds: Record<AttentionKind, number>;
  reasons: Record<string, number>;
}

/** Guests that need attention of one status, action and reason, counted. */
interface AttentionFacetDbRow {
  status: string;
  action: string | null;
  reason: string;
  n: number;
}

/**
 * Counts of the guests that need attention under the wave, host and label filters (the kind
 * and reason are not applied): per kind (a guest may be of two: unknown kernel and
 * override), per reason, and in all.
 */
export async function readAttentionFacets({ db, s }: ReadContext, filter: AttentionFilter): Promise<AttentionFacets> {
  const params: unknown[] = [];
  const where = attentionWhereSql(filter, params, false);
  const rows = await select<AttentionFacetDbRow>(
    db,
    `SELECT g.status, d.message->>'action' AS action, d.message->>'reason' AS reason, count(*)::int AS n
         FROM ${s}.guests g
         JOIN ${s}.decisions d ON d.decision_id = g.decision_id
         JOIN ${s}.hosts h ON h.host_id = g.host_id
        WHERE ${where}
        GROUP BY 1, 2, 3`,
    params,
  );
  const kinds: Record<AttentionKind, number> = { blocked: 0, override: 0, 'unknown-kernel': 0 };
  const reasons: Record<string, number> = {};
  let total = 0;
  for (const r of rows) {
    const n = r.n;
    total += n;
    for (const kind of attentionKinds(r.status, r.action)) kinds[kind] += n;
    reasons[r.reason] = (reasons[r.reason] ?? 0) + n;
  }
  return { total, kinds, reasons };
}
