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
