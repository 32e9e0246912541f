import { createTableSql, PROJECTION_TABLES } from './tables';

/** The projection tables, in a schema of their own so that a rebuild can fill a fresh copy beside the live one. */
export const LIVE_SCHEMA = 'projection';

/** Notified (pg_notify) when a commit moved a processor's checkpoint: the projections changed. */
export const PROJECTION_CHANNEL = 'fleetcompat_projection';

export function assertSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  return schema;
}

/**
 * The projection tables of `schema`, in their current shape, made from their definitions
 * (tables.ts). The live schema gets its shape from the migrations, which are frozen: a
 * column added by a later migration comes last in its definition too, so that a rebuild's
 * rows compare with the live ones column for column (tables.int.spec.ts checks the two agree). `unlogged` (rebuilds
 * beside the live schema): no WAL is written for them, several times less I/O; a crash of
 * Postgres empties them, and they are not replicated, which suits a copy made to be compared
 * and dropped. `indexes: false` leaves out the secondary indexes (projectionIndexesSql).
 */
export function projectionTablesSql(schema: string, options: { unlogged?: boolean; indexes?: boolean } = {}): string[] {
  const s = assertSchemaName(schema);
  const table = options.unlogged ? 'CREATE UNLOGGED TABLE' : 'CREATE TABLE';
  const tables = [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    ...PROJECTION_TABLES.map((def) => createTableSql(def, `${s}.${def.name}`, table)),
  ];
  return options.indexes === false ? tables : [...tables, ...projectionIndexesSql(s)];
}

/** The secondary indexes of the projection tables (a rebuild creates them after loading the rows: faster than row by row). */
export function projectionIndexesSql(schema: string): string[] {
  const s = assertSchemaName(schema);
  return [
    `CREATE INDEX ON ${s}.hosts (wave_id)`,
    `CREATE INDEX ON ${s}.guests (host_id, guest_id)`,
    `CREATE INDEX ON ${s}.guests (kernel_sha256) WHERE kernel_sha256 IS NOT NULL`,
    `CREATE INDEX ON ${s}.guests (bootloader_sha256) WHERE bootloader_sha256 IS NOT NULL`,
    `CREATE INDEX ON ${s}.guests (status, guest_id)`,
  ];
}

export function dropProjectionTablesSql(schema: string): string[] {
  return [`DROP SCHEMA IF EXISTS ${assertSchemaName(schema)} CASCADE`];
}
