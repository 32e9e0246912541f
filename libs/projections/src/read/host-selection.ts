/** Hosts named by ids, labels (all of them) and/or a wave: the what-if's selection. */
export interface HostSelection {
  readonly ids?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly waveId?: string;
}

/**
 * The condition on `hosts` columns for a selection, over parameters $1..$3 (selectionParams):
 * a semi-join, never a long array compared row by row. Unset parts match every host.
 */
export const HOST_SELECTION_SQL = `($1::text[] IS NULL OR host_id IN (SELECT unnest($1::text[])))
            AND ($2::jsonb IS NULL OR labels @> $2::jsonb) AND ($3::text IS NULL OR wave_id = $3::text)`;

/** $1..$3 of HOST_SELECTION_SQL. */
export function selectionParams(sel: HostSelection): [readonly string[] | null, string | null, string | null] {
  return [sel.ids ?? null, sel.labels ? JSON.stringify(sel.labels) : null, sel.waveId ?? null];
}

/** The ids of the registered hosts selected, as a subquery. */
export function registeredSelectedSql(s: string): string {
  return `SELECT host_id FROM ${s}.hosts WHERE registered AND ${HOST_SELECTION_SQL}`;
}

/**
 * The condition on the hosts `h` of a selection (and, for the dashboard's attention list, one
 * host id), built with only the parts given, their values appended to `params`: the
 * dashboard's paged reads, where each filter keeps its own plan. Unset parts match every host.
 */
export function hostSelectorSql(sel: HostSelection & { readonly hostId?: string }, params: unknown[]): string {
  const where: string[] = [];
  if (sel.ids?.length) {
    params.push(sel.ids);
    where.push(`h.host_id IN (SELECT unnest($${params.length}::text[]))`);
  }
  if (sel.hostId) {
    params.push(sel.hostId);
    where.push(`h.host_id = $${params.length}`);
  }
  if (sel.labels && Object.keys(sel.labels).length) {
    params.push(JSON.stringify(sel.labels));
    where.push(`h.labels @> $${params.length}::jsonb`);
  }
  if (sel.waveId) {
    params.push(sel.waveId);
    where.push(`h.wave_id = $${params.length}`);
  }
  return where.length ? where.join(' AND ') : 'true';
}
