import { Queryable } from '@fleetcompat/event-store';
import { assertSchemaName, LIVE_SCHEMA } from '../schema';

/**
 * Where the read-side queries run: a connection (a DataSource, a query runner in a
 * transaction, or a prepared-statement wrapper) and the projection schema, already checked.
 */
export interface ReadContext {
  readonly db: Queryable;
  /** The projection schema's name, safe to splice into SQL (assertSchemaName). */
  readonly s: string;
}

export function readContext(db: Queryable, schema: string = LIVE_SCHEMA): ReadContext {
  return { db, s: assertSchemaName(schema) };
}

/** Runs `sql` and types its rows as `R` (the row type each query declares beside its SQL). */
export async function select<R>(db: Queryable, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  const rows: unknown = await db.query(sql, [...params]);
  return rows as R[];
}

/** A timestamp as the driver returns it (Date, or text from JSON), as an ISO string. */
export function isoOf(v: Date | string): string {
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}
