/** The projection tables, in a schema of their own so that a rebuild can fill a fresh copy beside the live one. */
export const LIVE_SCHEMA = 'projection';

/** Notified (pg_notify) when a commit moved a processor's checkpoint: the projections changed. */
export const PROJECTION_CHANNEL = 'fleetcompat_projection';

export function assertSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  return schema;
}

/**
 * The projection tables of `schema`, in their current shape (the live schema gets it from the
 * migrations, which are frozen: a column added by a later migration comes last here too, so
 * that a rebuild's rows compare with the live ones column for column). `unlogged` (rebuilds
 * beside the live schema): no WAL is written for them, several times less I/O; a crash of
 * Postgres empties them, and they are not replicated, which suits a copy made to be compared
 * and dropped. `indexes: false` leaves out the secondary indexes (projectionIndexesSql).
 */
export function projectionTablesSql(schema: string, options: { unlogged?: boolean; indexes?: boolean } = {}): string[] {
  const s = assertSchemaName(schema);
  const table = options.unlogged ? 'CREATE UNLOGGED TABLE' : 'CREATE TABLE';
  const tables = [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `${table} ${s}.kernels (
       image_sha256 text PRIMARY KEY,
       release text,
       arch text,
       distro text,
       xen_notes jsonb,
       pipeline jsonb,
       revoked boolean NOT NULL DEFAULT false,
       revoked_reason text,
       last_event_id text NOT NULL,
       announced_at timestamptz,
       status_at timestamptz NOT NULL
     )`,
    `${table} ${s}.hosts (
       host_id text PRIMARY KEY,
       registered boolean NOT NULL,
       hypervisor_version text,
       hypervisor_build text,
       rsdp_override_supported boolean NOT NULL,
       labels jsonb NOT NULL DEFAULT '{}',
       upgrade jsonb,
       wave_id text GENERATED ALWAYS AS (upgrade->>'waveId') STORED,
       last_event_id text NOT NULL,
       facts jsonb NOT NULL
     )`,
    `${table} ${s}.guests (
       guest_id text NOT NULL,
       host_id text NOT NULL,
       present boolean NOT NULL,
       mode text,
       memory_mib integer,
       boot_method text,
       kernel_sha256 text,
       bootloader_sha256 text,
       observed_at timestamptz,
       status text NOT NULL,
       need text,
       sequence integer NOT NULL,
       last_event_id text NOT NULL,
       decision_id text,
       presence_at timestamptz NOT NULL,
       observed_event_id text,
       PRIMARY KEY (guest_id, host_id)
     )`,
    `${table} ${s}.decisions (
       decision_id text PRIMARY KEY,
       guest_id text NOT NULL,
       host_id text NOT NULL,
       sequence integer NOT NULL,
       kind text NOT NULL,
       message json NOT NULL,
       caused_by json NOT NULL,
       detail json,
       decided_at timestamptz NOT NULL,
       UNIQUE (guest_id, sequence)
     )`,
    `${table} ${s}.acks (
       host_id text NOT NULL,
       guest_id text NOT NULL,
       decision_id text NOT NULL,
       applied_at timestamptz NOT NULL,
       event_id text NOT NULL,
       PRIMARY KEY (host_id, guest_id)
     )`,
    `${table} ${s}.behaviour_rules (
       key text PRIMARY KEY,
       rule jsonb NOT NULL,
       event_id text NOT NULL,
       declared_at timestamptz NOT NULL
     )`,
    `${table} ${s}.guest_os_rules (
       guest_os text PRIMARY KEY,
       rule jsonb NOT NULL,
       event_id text NOT NULL,
       declared_at timestamptz NOT NULL
     )`,
    `${table} ${s}.set_aside (
       event_id text PRIMARY KEY,
       type text NOT NULL,
       global_position bigint NOT NULL,
       reason text NOT NULL,
       recorded_at timestamptz NOT NULL
     )`,
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
