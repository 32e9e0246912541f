import { copyRows, CopyClient, Queryable } from '@fleetcompat/event-store';
import { Topics } from '@fleetcompat/contract';
import { AckRow, BehaviourRuleRow, DecisionRecord, GuestOsRuleRow, GuestRow, HostRow, KernelRow, SetAsideRow } from './model';
import { decisionKey } from './evolve';
import { assertSchemaName } from './schema';
import { WorkingSet } from './working-set';

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

export function kernelFromDb(r: any): KernelRow {
  return {
    imageSha256: r.image_sha256,
    release: r.release,
    arch: r.arch,
    distro: r.distro,
    xenNotes: r.xen_notes,
    pipeline: r.pipeline,
    announcedAt: isoOrNull(r.announced_at),
    revoked: r.revoked,
    revokedReason: r.revoked_reason,
    statusAt: iso(r.status_at),
    lastEventId: r.last_event_id,
  };
}
export function hostFromDb(r: any): HostRow {
  return {
    hostId: r.host_id,
    registered: r.registered,
    hypervisorVersion: r.hypervisor_version,
    hypervisorBuild: r.hypervisor_build,
    rsdpOverrideSupported: r.rsdp_override_supported,
    labels: r.labels ?? {},
    upgrade: r.upgrade,
    lastEventId: r.last_event_id,
    facts: r.facts,
  };
}
export function ackFromDb(r: any): AckRow {
  return { hostId: r.host_id, guestId: r.guest_id, decisionId: r.decision_id, appliedAt: iso(r.applied_at), eventId: r.event_id };
}
/** A guest row (decisionKey left null: only the projector's loader needs it, see loadAll). */
export function guestFromDb(r: any): GuestRow {
  return {
    guestId: r.guest_id,
    hostId: r.host_id,
    present: r.present,
    presenceAt: iso(r.presence_at),
    mode: r.mode,
    memoryMiB: r.memory_mib,
    bootMethod: r.boot_method,
    kernelSha256: r.kernel_sha256,
    bootloaderSha256: r.bootloader_sha256,
    observedAt: isoOrNull(r.observed_at),
    observedEventId: r.observed_event_id,
    status: r.status,
    need: r.need,
    sequence: r.sequence,
    decisionId: r.decision_id,
    decisionKey: null,
    lastEventId: r.last_event_id,
  };
}

/** Guests per query when the whole projection is loaded. */
const GUESTS_PER_PAGE = 20_000;

/**
 * The fields of a stored decision message that decisionKey reads (not the whole message with
 * its facts and costs' details): enough to tell whether a new decision differs.
 */
const DECISION_KEY_FIELDS = `CASE WHEN d.message IS NOT NULL THEN json_build_object(
    'hostId', d.message->'hostId', 'hypervisorVersion', d.message->'hypervisorVersion', 'rsdp', d.message->'rsdp',
    'action', d.message->'action', 'reason', d.message->'reason', 'kernelSha256', d.message->'kernelSha256',
    'costs', d.message->'costs', 'policyVersion', d.message->'policyVersion',
    'facts', json_build_object('hypervisorBuild', d.message->'facts'->'hypervisorBuild', 'kernelKnown', d.message->'facts'->'kernelKnown',
      'bootMethod', d.message->'facts'->'bootMethod', 'rsdpOverrideSupported', d.message->'facts'->'rsdpOverrideSupported',
      'toolstackBehaviour', d.message->'facts'->'toolstackBehaviour')) END`;

/** Loads and saves the projection rows of one schema. */
export class ProjectionStore {
  readonly schema: string;

  constructor(schema: string) {
    this.schema = assertSchemaName(schema);
  }

  /**
   * The whole projection as a working set (nothing dirty): kernels, hosts, behaviour rules,
   * acknowledgements (evolve compares their times), and every host view of a guest with what
   * its current decision is made of (decisionKey). Guests are read in pages.
   */
  async loadAll(q: Queryable): Promise<WorkingSet> {
    const s = this.schema;
    const ws = new WorkingSet();
    for (const row of await q.query(`SELECT * FROM ${s}.kernels`)) ws.kernels.set(row.image_sha256, kernelFromDb(row));
    for (const row of await q.query(`SELECT * FROM ${s}.hosts`)) ws.hosts.set(row.host_id, hostFromDb(row));
    for (const row of await q.query(`SELECT * FROM ${s}.behaviour_rules ORDER BY key`))
      ws.rules.set(row.key, { key: row.key, rule: row.rule, eventId: row.event_id, declaredAt: iso(row.declared_at) });
    for (const row of await q.query(`SELECT * FROM ${s}.guest_os_rules ORDER BY guest_os`))
      ws.guestOsRules.set(row.guest_os, { guestOs: row.guest_os, rule: row.rule, eventId: row.event_id, declaredAt: iso(row.declared_at) });
    for (const row of await q.query(`SELECT * FROM ${s}.set_aside`))
      ws.setAside.set(row.event_id, { eventId: row.event_id, type: row.type, globalPosition: String(row.global_position), reason: row.reason, recordedAt: iso(row.recorded_at) });
    for (const row of await q.query(`SELECT * FROM ${s}.acks`)) ws.acks.set(WorkingSet.ackKey(row.host_id, row.guest_id), ackFromDb(row));
    for (let after = ['', '']; ; ) {
      const rows: any[] = await q.query(
        `SELECT g.*, ${DECISION_KEY_FIELDS} AS decision_message
           FROM ${s}.guests g LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id
          WHERE (g.guest_id, g.host_id) > ($1, $2) ORDER BY g.guest_id, g.host_id LIMIT ${GUESTS_PER_PAGE}`,
        after,
      );
      for (const row of rows) {
        const g = guestFromDb(row);
        g.decisionKey = row.decision_message ? decisionKey(row.decision_message) : null;
        // one string per image in memory, not one per guest
        if (g.kernelSha256) g.kernelSha256 = ws.kernels.get(g.kernelSha256)?.imageSha256 ?? g.kernelSha256;
        if (g.bootloaderSha256) g.bootloaderSha256 = ws.kernels.get(g.bootloaderSha256)?.imageSha256 ?? g.bootloaderSha256;
        ws.loadGuest(g);
      }
      if (rows.length < GUESTS_PER_PAGE) return ws;
      after = [rows[rows.length - 1].guest_id, rows[rows.length - 1].host_id];
    }
  }

  /**
   * Saves what the batch changed and queues its decisions for publishing (the outbox).
   * Changed rows are upserted; the decision history and the outbox, append-only and the
   * bulk of the bytes, go in with COPY (in the batch's order: the outbox ids follow it).
   * `client` is the connection of `q`'s transaction.
   */
  async save(q: Queryable, client: CopyClient, ws: WorkingSet): Promise<void> {
    const s = this.schema;
    await upsertRows(q, client, s, KERNELS, [...ws.dirtyKernels].map((k) => ws.kernels.get(k)!));
    await upsertRows(q, client, s, HOSTS, [...ws.dirtyHosts].map((h) => ws.hosts.get(h)!));
    await upsertRows(q, client, s, GUESTS, [...ws.dirtyGuests].map((g) => ws.guests.get(g)!));
    await upsertRows(q, client, s, ACKS, [...ws.dirtyAcks].map((k) => ws.acks.get(k)!));
    await upsertRows(q, client, s, RULES, [...ws.dirtyRules].map((k) => ws.rules.get(k)!));
    await upsertRows(q, client, s, GUEST_OS_RULES, [...ws.dirtyGuestOsRules].map((k) => ws.guestOsRules.get(k)!));
    await upsertRows(q, client, s, SET_ASIDE, [...ws.dirtySetAside].map((k) => ws.setAside.get(k)!));
    if (!ws.records.length) return;
    await copyTable(client, s, DECISIONS, ws.records);
    await copyTable(client, 'public', OUTBOX, ws.records);
  }

  /**
   * Writes every row of a whole-projection working set into this schema's fresh (empty)
   * tables with COPY: a rebuild's final state, written once.
   */
  async copyAll(client: CopyClient, ws: WorkingSet): Promise<void> {
    const s = this.schema;
    await copyTable(client, s, KERNELS, ws.kernels.values());
    await copyTable(client, s, HOSTS, ws.hosts.values());
    await copyTable(client, s, GUESTS, ws.guests.values());
    await copyTable(client, s, ACKS, ws.acks.values());
    await copyTable(client, s, RULES, ws.rules.values());
    await copyTable(client, s, GUEST_OS_RULES, ws.guestOsRules.values());
    await copyTable(client, s, SET_ASIDE, ws.setAside.values());
  }

  /** Appends decision history rows with COPY (the history is append-only). */
  async copyRecords(client: CopyClient, records: readonly DecisionRecord[]): Promise<void> {
    await copyTable(client, this.schema, DECISIONS, records);
  }
}

/** JSON text of values already written once (a decision's message goes to the history and the outbox). */
const jsonTexts = new WeakMap<object, string>();

function jsonText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return JSON.stringify(value);
  let text = jsonTexts.get(value);
  if (text === undefined) jsonTexts.set(value, (text = JSON.stringify(value)));
  return text;
}

function* fields<R>(spec: TableWrite<R>, rows: Iterable<R>): Iterable<unknown[]> {
  const json = spec.columns.map(([, type]) => type === 'json' || type === 'jsonb');
  for (const row of rows) yield spec.columns.map(([, , value], i) => (json[i] ? jsonText(value(row)) : value(row)));
}

function copyTable<R>(client: CopyClient, schema: string, spec: TableWrite<R>, rows: Iterable<R>): Promise<number> {
  return copyRows(client, `${schema}.${spec.table}`, spec.columns.map(([name]) => name), fields(spec, rows));
}

/** How the rows of one projection table are written: its columns (name, SQL type, value) and its key. */
interface TableWrite<R> {
  readonly table: string;
  readonly columns: readonly (readonly [name: string, type: string, value: (row: R) => unknown])[];
  /** The conflict key of an upsert; none for an append-only table. */
  readonly key?: readonly string[];
}

/**
 * Upserts rows on the table's key: COPY into a temporary staging table of the same columns
 * (one per connection, emptied at commit), then one INSERT ... ON CONFLICT DO UPDATE from it.
 * `client` is the connection of `q`, in the batch's transaction.
 */
async function upsertRows<R>(q: Queryable, client: CopyClient, schema: string, spec: TableWrite<R>, rows: readonly R[]): Promise<void> {
  if (!rows.length) return;
  const names = spec.columns.map(([name]) => name);
  const key = spec.key!;
  const stage = `fc_stage_${schema}_${spec.table}`;
  await q.query(
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${stage} (${spec.columns.map(([name, type]) => `${name} ${type}`).join(', ')}) ON COMMIT DELETE ROWS`,
  );
  await copyTable(client, `pg_temp`, { ...spec, table: stage }, rows);
  await q.query(
    `INSERT INTO ${schema}.${spec.table} (${names.join(', ')}) SELECT ${names.join(', ')} FROM pg_temp.${stage}
     ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${names.filter((n) => !key.includes(n)).map((n) => `${n} = EXCLUDED.${n}`).join(', ')}`,
  );
}

const KERNELS: TableWrite<KernelRow> = {
  table: 'kernels',
  key: ['image_sha256'],
  columns: [
    ['image_sha256', 'text', (k) => k.imageSha256],
    ['release', 'text', (k) => k.release],
    ['arch', 'text', (k) => k.arch],
    ['distro', 'text', (k) => k.distro],
    ['xen_notes', 'jsonb', (k) => k.xenNotes],
    ['pipeline', 'jsonb', (k) => k.pipeline],
    ['revoked', 'boolean', (k) => k.revoked],
    ['revoked_reason', 'text', (k) => k.revokedReason],
    ['last_event_id', 'text', (k) => k.lastEventId],
    ['announced_at', 'timestamptz', (k) => k.announcedAt],
    ['status_at', 'timestamptz', (k) => k.statusAt],
  ],
};

const HOSTS: TableWrite<HostRow> = {
  table: 'hosts',
  key: ['host_id'],
  columns: [
    ['host_id', 'text', (h) => h.hostId],
    ['registered', 'boolean', (h) => h.registered],
    ['hypervisor_version', 'text', (h) => h.hypervisorVersion],
    ['hypervisor_build', 'text', (h) => h.hypervisorBuild],
    ['rsdp_override_supported', 'boolean', (h) => h.rsdpOverrideSupported],
    ['labels', 'jsonb', (h) => h.labels],
    ['upgrade', 'jsonb', (h) => h.upgrade],
    ['last_event_id', 'text', (h) => h.lastEventId],
    ['facts', 'jsonb', (h) => h.facts],
  ],
};

const GUESTS: TableWrite<GuestRow> = {
  table: 'guests',
  key: ['guest_id', 'host_id'],
  columns: [
    ['guest_id', 'text', (g) => g.guestId],
    ['host_id', 'text', (g) => g.hostId],
    ['present', 'boolean', (g) => g.present],
    ['mode', 'text', (g) => g.mode],
    ['memory_mib', 'integer', (g) => g.memoryMiB],
    ['boot_method', 'text', (g) => g.bootMethod],
    ['kernel_sha256', 'text', (g) => g.kernelSha256],
    ['bootloader_sha256', 'text', (g) => g.bootloaderSha256],
    ['observed_at', 'timestamptz', (g) => g.observedAt],
    ['status', 'text', (g) => g.status],
    ['need', 'text', (g) => g.need],
    ['sequence', 'integer', (g) => g.sequence],
    ['last_event_id', 'text', (g) => g.lastEventId],
    ['decision_id', 'text', (g) => g.decisionId],
    ['presence_at', 'timestamptz', (g) => g.presenceAt],
    ['observed_event_id', 'text', (g) => g.observedEventId],
  ],
};

const ACKS: TableWrite<AckRow> = {
  table: 'acks',
  key: ['host_id', 'guest_id'],
  columns: [
    ['host_id', 'text', (a) => a.hostId],
    ['guest_id', 'text', (a) => a.guestId],
    ['decision_id', 'text', (a) => a.decisionId],
    ['applied_at', 'timestamptz', (a) => a.appliedAt],
    ['event_id', 'text', (a) => a.eventId],
  ],
};

const RULES: TableWrite<BehaviourRuleRow> = {
  table: 'behaviour_rules',
  key: ['key'],
  columns: [
    ['key', 'text', (r) => r.key],
    ['rule', 'jsonb', (r) => r.rule],
    ['event_id', 'text', (r) => r.eventId],
    ['declared_at', 'timestamptz', (r) => r.declaredAt],
  ],
};

const SET_ASIDE: TableWrite<SetAsideRow> = {
  table: 'set_aside',
  key: ['event_id'],
  columns: [
    ['event_id', 'text', (r) => r.eventId],
    ['type', 'text', (r) => r.type],
    ['global_position', 'bigint', (r) => r.globalPosition],
    ['reason', 'text', (r) => r.reason],
    ['recorded_at', 'timestamptz', (r) => r.recordedAt],
  ],
};

const GUEST_OS_RULES: TableWrite<GuestOsRuleRow> = {
  table: 'guest_os_rules',
  key: ['guest_os'],
  columns: [
    ['guest_os', 'text', (r) => r.guestOs],
    ['rule', 'jsonb', (r) => r.rule],
    ['event_id', 'text', (r) => r.eventId],
    ['declared_at', 'timestamptz', (r) => r.declaredAt],
  ],
};

/** Queued for the relay: the published message, keyed by host, with the type and guest in headers. */
const OUTBOX: TableWrite<DecisionRecord> = {
  table: 'outbox',
  columns: [
    ['topic', 'text', () => Topics.placementDecisions],
    ['key', 'text', (d) => d.hostId],
    ['value', 'json', (d) => d.message],
    ['headers', 'json', (d) => ({ type: d.message.type, guestId: d.guestId })],
  ],
};

/** The decision history is append-only: a (guest, sequence) written twice is a bug, and the unique key says so. */
const DECISIONS: TableWrite<DecisionRecord> = {
  table: 'decisions',
  columns: [
    ['decision_id', 'text', (d) => d.decisionId],
    ['guest_id', 'text', (d) => d.guestId],
    ['host_id', 'text', (d) => d.hostId],
    ['sequence', 'integer', (d) => d.sequence],
    ['kind', 'text', (d) => d.kind],
    ['message', 'json', (d) => d.message],
    ['caused_by', 'json', (d) => d.causedBy],
    ['detail', 'json', (d) => d.detail],
    ['decided_at', 'timestamptz', (d) => d.decidedAt],
  ],
};
