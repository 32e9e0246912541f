import {
  AckRow,
  BehaviourRuleRow,
  DecisionRecord,
  GuestOsRuleRow,
  GuestRow,
  HostRow,
  KernelRow,
  PlacementsAnswerRow,
  SetAsideRow,
} from './model';

/**
 * The projection tables, each defined once: its columns in their physical order (name, SQL
 * type, whether NULL is allowed, and the row field it holds), its key, and columns Postgres
 * computes. The current DDL (schema.ts), the writes (projection-store.ts) and the reads
 * (rowFromDb) are all made from these; a test compares them with the schema the frozen
 * migrations produce, column by column (tables.int.spec.ts).
 */

/** How a column's value is written and read back. */
export type ColumnType = 'text' | 'boolean' | 'integer' | 'bigint' | 'timestamptz' | 'jsonb' | 'json' | 'bytea';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable?: boolean;
}

/** Every stored field of R has exactly one column (the compiler checks it); `NotStored` fields are left to `defaults`. */
export type Columns<R, NotStored extends keyof R = never> = { readonly [K in Exclude<keyof R, NotStored>]-?: Column };

export interface TableDef<R, NotStored extends keyof R = never> {
  readonly name: string;
  readonly primaryKey: readonly string[];
  /** Rows are only ever added (the decision history): copied, never upserted. */
  readonly appendOnly?: boolean;
  /** Column by row field, in the table's physical column order (the object's key order). */
  readonly columns: Columns<R, NotStored>;
  /** Columns Postgres computes from others (not written, not read into the row). */
  readonly generated?: readonly { readonly name: string; readonly sql: string; readonly after: string }[];
  /** Values of the fields that are not stored, for a row read back. */
  readonly defaults?: Pick<R, NotStored>;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

function decode(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'timestamptz':
      return iso(v);
    case 'bigint':
      return (v as string | number | bigint).toString(); // pg gives int8 as a string
    default:
      return v;
  }
}

/** The columns of a table, in order, with the field each holds. */
export function columnsOf<R, N extends keyof R>(
  def: TableDef<R, N>,
): { readonly field: keyof R; readonly column: Column }[] {
  return (Object.entries(def.columns) as [keyof R, Column][]).map(([field, column]) => ({ field, column }));
}

/** A row read from the table (`r`: the driver's row, by column name). */
export function rowFromDb<R, N extends keyof R>(def: TableDef<R, N>, r: Record<string, unknown>): R {
  const row: Record<string, unknown> = { ...(def.defaults ?? {}) };
  for (const { field, column } of columnsOf(def)) row[field as string] = decode(column.type, r[column.name]);
  return row as R;
}

export const KERNELS: TableDef<KernelRow> = {
  name: 'kernels',
  primaryKey: ['image_sha256'],
  columns: {
    imageSha256: { name: 'image_sha256', type: 'text' },
    release: { name: 'release', type: 'text', nullable: true },
    arch: { name: 'arch', type: 'text', nullable: true },
    distro: { name: 'distro', type: 'text', nullable: true },
    xenNotes: { name: 'xen_notes', type: 'jsonb', nullable: true },
    pipeline: { name: 'pipeline', type: 'jsonb', nullable: true },
    revoked: { name: 'revoked', type: 'boolean' },
    revokedReason: { name: 'revoked_reason', type: 'text', nullable: true },
    lastEventId: { name: 'last_event_id', type: 'text' },
    announcedAt: { name: 'announced_at', type: 'timestamptz', nullable: true },
    statusAt: { name: 'status_at', type: 'timestamptz' },
  },
};

export const HOSTS: TableDef<HostRow> = {
  name: 'hosts',
  primaryKey: ['host_id'],
  columns: {
    hostId: { name: 'host_id', type: 'text' },
    registered: { name: 'registered', type: 'boolean' },
    hypervisorVersion: { name: 'hypervisor_version', type: 'text', nullable: true },
    hypervisorBuild: { name: 'hypervisor_build', type: 'text', nullable: true },
    rsdpOverrideSupported: { name: 'rsdp_override_supported', type: 'boolean' },
    labels: { name: 'labels', type: 'jsonb' },
    upgrade: { name: 'upgrade', type: 'jsonb', nullable: true },
    lastEventId: { name: 'last_event_id', type: 'text' },
    facts: { name: 'facts', type: 'jsonb' },
  },
  generated: [{ name: 'wave_id', sql: `text GENERATED ALWAYS AS (upgrade->>'waveId') STORED`, after: 'upgrade' }],
};

export const GUESTS: TableDef<GuestRow> = {
  name: 'guests',
  primaryKey: ['guest_id', 'host_id'],
  columns: {
    guestId: { name: 'guest_id', type: 'text' },
    hostId: { name: 'host_id', type: 'text' },
    present: { name: 'present', type: 'boolean' },
    mode: { name: 'mode', type: 'text', nullable: true },
    memoryMiB: { name: 'memory_mib', type: 'integer', nullable: true },
    bootMethod: { name: 'boot_method', type: 'text', nullable: true },
    kernelSha256: { name: 'kernel_sha256', type: 'text', nullable: true },
    bootloaderSha256: { name: 'bootloader_sha256', type: 'text', nullable: true },
    observedAt: { name: 'observed_at', type: 'timestamptz', nullable: true },
    status: { name: 'status', type: 'text' },
    need: { name: 'need', type: 'text', nullable: true },
    sequence: { name: 'sequence', type: 'integer' },
    lastEventId: { name: 'last_event_id', type: 'text' },
    decisionId: { name: 'decision_id', type: 'text', nullable: true },
    presenceAt: { name: 'presence_at', type: 'timestamptz' },
    observedEventId: { name: 'observed_event_id', type: 'text', nullable: true },
    decisionKey: { name: 'decision_key', type: 'text', nullable: true },
    superpageLost: { name: 'superpage_lost', type: 'boolean' },
  },
};

/** The decision history is append-only: a (guest, sequence) written twice is a bug, and the unique key says so. */
export const DECISIONS: TableDef<DecisionRecord> = {
  name: 'decisions',
  primaryKey: ['decision_id'],
  appendOnly: true,
  columns: {
    decisionId: { name: 'decision_id', type: 'text' },
    guestId: { name: 'guest_id', type: 'text' },
    hostId: { name: 'host_id', type: 'text' },
    sequence: { name: 'sequence', type: 'integer' },
    kind: { name: 'kind', type: 'text' },
    message: { name: 'message', type: 'json' },
    causedBy: { name: 'caused_by', type: 'json' },
    detail: { name: 'detail', type: 'json', nullable: true },
    decidedAt: { name: 'decided_at', type: 'timestamptz' },
  },
};

export const ACKS: TableDef<AckRow> = {
  name: 'acks',
  primaryKey: ['host_id', 'guest_id'],
  columns: {
    hostId: { name: 'host_id', type: 'text' },
    guestId: { name: 'guest_id', type: 'text' },
    decisionId: { name: 'decision_id', type: 'text' },
    appliedAt: { name: 'applied_at', type: 'timestamptz' },
    eventId: { name: 'event_id', type: 'text' },
  },
};

export const BEHAVIOUR_RULES: TableDef<BehaviourRuleRow> = {
  name: 'behaviour_rules',
  primaryKey: ['key'],
  columns: {
    key: { name: 'key', type: 'text' },
    rule: { name: 'rule', type: 'jsonb' },
    eventId: { name: 'event_id', type: 'text' },
    declaredAt: { name: 'declared_at', type: 'timestamptz' },
  },
};

export const GUEST_OS_RULES: TableDef<GuestOsRuleRow> = {
  name: 'guest_os_rules',
  primaryKey: ['guest_os'],
  columns: {
    guestOs: { name: 'guest_os', type: 'text' },
    rule: { name: 'rule', type: 'jsonb' },
    eventId: { name: 'event_id', type: 'text' },
    declaredAt: { name: 'declared_at', type: 'timestamptz' },
  },
};

export const SET_ASIDE: TableDef<SetAsideRow> = {
  name: 'set_aside',
  primaryKey: ['event_id'],
  columns: {
    eventId: { name: 'event_id', type: 'text' },
    type: { name: 'type', type: 'text' },
    globalPosition: { name: 'global_position', type: 'bigint' },
    reason: { name: 'reason', type: 'text' },
    recordedAt: { name: 'recorded_at', type: 'timestamptz' },
  },
};

/**
 * Built placements answers, one per host, kept by the readers that built them (a cache in
 * Postgres shared by every API process and kept across their restarts; see PlacementsReader).
 */
export const PLACEMENTS_ANSWERS: TableDef<PlacementsAnswerRow> = {
  name: 'placements_answers',
  primaryKey: ['host_id'],
  columns: {
    hostId: { name: 'host_id', type: 'text' },
    etag: { name: 'etag', type: 'text' },
    body: { name: 'body', type: 'text', nullable: true },
    gzip: { name: 'gzip', type: 'bytea', nullable: true },
  },
};

/** Every projection table (in the order the DDL creates them). */
// Tables of different row types: each is a TableDef of its own row, read here as of some object.
export const PROJECTION_TABLES: readonly TableDef<object, never>[] = [
  KERNELS,
  HOSTS,
  GUESTS,
  DECISIONS,
  ACKS,
  BEHAVIOUR_RULES,
  GUEST_OS_RULES,
  SET_ASIDE,
  PLACEMENTS_ANSWERS,
];

/** Unique constraints besides the key (the history's one row per guest and sequence). */
export const UNIQUE: Readonly<Record<string, readonly string[][]>> = { decisions: [['guest_id', 'sequence']] };

/** The DDL of one table: its columns in order, generated ones in their place, the key. */
export function createTableSql<R, N extends keyof R>(def: TableDef<R, N>, qualified: string, create: string): string {
  const lines: string[] = [];
  for (const { column } of columnsOf(def)) {
    lines.push(`${column.name} ${column.type}${column.nullable ? '' : ' NOT NULL'}`);
    for (const g of def.generated ?? []) if (g.after === column.name) lines.push(`${g.name} ${g.sql}`);
  }
  lines.push(`PRIMARY KEY (${def.primaryKey.join(', ')})`);
  for (const u of UNIQUE[def.name] ?? []) lines.push(`UNIQUE (${u.join(', ')})`);
  return `${create} ${qualified} (\n  ${lines.join(',\n  ')}\n)`;
}
