import { copyRows, CopyClient, Queryable } from '@fleetcompat/event-store';
import { Topics } from '@fleetcompat/contract';
import { AckRow, BehaviourRuleRow, DecisionRecord, GuestRow, HostRow, KernelRow } from './model';
import { decisionKey, ProjectedEvent } from './evolve';
import { assertSchemaName } from './schema';
import { WorkingSet } from './working-set';

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

export function kernelFromDb(r: any): KernelRow {
  return {
    imageSha256: r.image_sha256,
    release: r.release,
    arch: r.arch,
    distro: r.distro,
    xenNotes: r.xen_notes,
    pipeline: r.pipeline,
    revoked: r.revoked,
    revokedReason: r.revoked_reason,
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
  };
}
/** A guest row; `r.decision_message` (joined from projection.decisions) gives its decisionKey. */
export function guestFromDb(r: any): GuestRow {
  return {
    guestId: r.guest_id,
    hostId: r.host_id,
    present: r.present,
    mode: r.mode,
    memoryMiB: r.memory_mib,
    bootMethod: r.boot_method,
    kernelSha256: r.kernel_sha256,
    bootloaderSha256: r.bootloader_sha256,
    observedAt: iso(r.observed_at),
    status: r.status,
    need: r.need,
    sequence: r.sequence,
    decisionId: r.decision_id,
    decisionKey: r.decision_message ? decisionKey(r.decision_message) : null,
    lastEventId: r.last_event_id,
  };
}

/** Which rows a batch of events can reach. */
function reach(events: readonly ProjectedEvent[]) {
  const hostIds = new Set<string>();
  const guestIds = new Set<string>();
  const kernelShas = new Set<string>();
  const fanoutHosts = new Set<string>();
  const fanoutImages = new Set<string>();
  let allGuests = false;
  for (const e of events) {
    const d = e.data;
    switch (e.type) {
      case 'KernelBuildCompleted':
      case 'KernelBuildRevoked':
        kernelShas.add(d.imageSha256);
        fanoutImages.add(d.imageSha256);
        break;
      case 'HostRegistered':
      case 'HypervisorUpgradePlanned':
      case 'HypervisorUpgradeCompleted':
      case 'HypervisorUpgradeCancelled':
        hostIds.add(d.hostId);
        fanoutHosts.add(d.hostId);
        break;
      case 'HypervisorUpgradeStarted':
      case 'PlacementApplied':
        hostIds.add(d.hostId);
        break;
      case 'GuestObserved':
        guestIds.add(d.guestId);
        hostIds.add(d.hostId);
        if (d.boot?.kernelSha256) kernelShas.add(d.boot.kernelSha256);
        if (d.boot?.bootloaderSha256) kernelShas.add(d.boot.bootloaderSha256);
        break;
      case 'GuestRemoved':
        guestIds.add(d.guestId);
        break;
      case 'HypervisorBehaviourDeclared':
        allGuests = true;
        break;
    }
  }
  return { hostIds, guestIds, kernelShas, fanoutHosts, fanoutImages, allGuests };
}

/** Loads and saves the projection rows of one schema. */
export class ProjectionStore {
  readonly schema: string;

  constructor(schema: string) {
    this.schema = assertSchemaName(schema);
  }

  /** Fills a working set with every row the events can reach. */
  async load(q: Queryable, events: readonly ProjectedEvent[]): Promise<WorkingSet> {
    const s = this.schema;
    const ws = new WorkingSet();
    const r = reach(events);

    // Each guest with its current decision's message, from which the evolver tells whether a new decision differs.
    const guestsWithDecision = `SELECT g.*, d.message AS decision_message FROM ${s}.guests g LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id`;
    const guestRows: any[] = r.allGuests
      ? await q.query(guestsWithDecision)
      : await q.query(
          `${guestsWithDecision}
            WHERE g.guest_id = ANY($1::text[]) OR g.host_id = ANY($2::text[])
               OR g.kernel_sha256 = ANY($3::text[]) OR g.bootloader_sha256 = ANY($3::text[])`,
          [[...r.guestIds], [...r.fanoutHosts], [...r.fanoutImages]],
        );
    for (const row of guestRows) {
      const g = guestFromDb(row);
      ws.loadGuest(g);
      r.hostIds.add(g.hostId);
      if (g.kernelSha256) r.kernelShas.add(g.kernelSha256);
      if (g.bootloaderSha256) r.kernelShas.add(g.bootloaderSha256);
    }
    const hostRows: any[] = await q.query(`SELECT * FROM ${s}.hosts WHERE host_id = ANY($1::text[])`, [[...r.hostIds]]);
    for (const row of hostRows) ws.hosts.set(row.host_id, hostFromDb(row));
    const kernelRows: any[] = await q.query(`SELECT * FROM ${s}.kernels WHERE image_sha256 = ANY($1::text[])`, [[...r.kernelShas]]);
    for (const row of kernelRows) ws.kernels.set(row.image_sha256, kernelFromDb(row));
    const ruleRows: any[] = await q.query(`SELECT * FROM ${s}.behaviour_rules ORDER BY key`);
    for (const row of ruleRows) ws.rules.set(row.key, { key: row.key, rule: row.rule, eventId: row.event_id });
    return ws;
  }

  /**
   * Saves what the batch changed; with `outbox`, also queues the decisions for publishing.
   * Changed rows are upserted; the decision history and the outbox, append-only and the
   * bulk of the bytes, go in with COPY (in the batch's order: the outbox ids follow it).
   * `client` is the connection of `q`'s transaction.
   */
  async save(q: Queryable, client: CopyClient, ws: WorkingSet, options: { outbox: boolean }): Promise<void> {
    const s = this.schema;
    await writeRows(q, s, KERNELS, [...ws.dirtyKernels].map((k) => ws.kernels.get(k)!));
    await writeRows(q, s, HOSTS, [...ws.dirtyHosts].map((h) => ws.hosts.get(h)!));
    await writeRows(q, s, GUESTS, [...ws.dirtyGuests].map((g) => ws.guests.get(g)!));
    await writeRows(q, s, ACKS, [...ws.dirtyAcks].map((k) => ws.acks.get(k)!));
    await writeRows(q, s, RULES, [...ws.dirtyRules].map((k) => ws.rules.get(k)!));
    if (!ws.records.length) return;
    await copyTable(client, s, DECISIONS, ws.records);
    if (options.outbox) await copyTable(client, 'public', OUTBOX, ws.records);
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
  }

  /** Appends decision history rows with COPY (the history is append-only). */
  async copyRecords(client: CopyClient, records: readonly DecisionRecord[]): Promise<void> {
    await copyTable(client, this.schema, DECISIONS, records);
  }
}

function* fields<R>(spec: TableWrite<R>, rows: Iterable<R>): Iterable<unknown[]> {
  const json = spec.columns.map(([, type]) => type === 'jsonb');
  for (const row of rows) {
    yield spec.columns.map(([, , value], i) => {
      const v = value(row);
      return json[i] && typeof v === 'string' ? JSON.stringify(v) : v;
    });
  }
}

function copyTable<R>(client: CopyClient, schema: string, spec: TableWrite<R>, rows: Iterable<R>): Promise<number> {
  return copyRows(client, `${schema}.${spec.table}`, spec.columns.map(([name]) => name), fields(spec, rows));
}

/** Rows per statement. */
const CHUNK = 5000;

/** How the rows of one projection table are written: its columns (name, SQL type, value) and its key. */
interface TableWrite<R> {
  readonly table: string;
  readonly columns: readonly (readonly [name: string, type: string, value: (row: R) => unknown])[];
  /** The conflict key of an upsert; none for an append-only table. */
  readonly key?: readonly string[];
}

/** Writes rows in chunks, one statement each: `jsonb_to_recordset` in, upsert on the key (or plain insert). */
async function writeRows<R>(q: Queryable, schema: string, spec: TableWrite<R>, rows: readonly R[]): Promise<void> {
  const names = spec.columns.map(([name]) => name);
  const key = spec.key ?? [];
  const updates = names.filter((n) => !key.includes(n)).map((n) => `${n} = EXCLUDED.${n}`);
  const sql =
    `INSERT INTO ${schema}.${spec.table} (${names.join(', ')})
     SELECT ${names.map((n) => `x.${n}`).join(', ')}
       FROM jsonb_to_recordset($1::jsonb) AS x(${spec.columns.map(([name, type]) => `${name} ${type}`).join(', ')})` +
    (key.length ? `\n     ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${updates.join(', ')}` : '');
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK).map((row) => Object.fromEntries(spec.columns.map(([name, , value]) => [name, value(row)])));
    await q.query(sql, [JSON.stringify(chunk)]);
  }
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
  ],
};

const GUESTS: TableWrite<GuestRow> = {
  table: 'guests',
  key: ['guest_id'],
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
  ],
};

/** Queued for the relay: the published message, keyed by host, with the type and guest in headers. */
const OUTBOX: TableWrite<DecisionRecord> = {
  table: 'outbox',
  columns: [
    ['topic', 'text', () => Topics.placementDecisions],
    ['key', 'text', (d) => d.hostId],
    ['value', 'jsonb', (d) => d.message],
    ['headers', 'jsonb', (d) => ({ type: d.message.type, guestId: d.guestId })],
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
    ['message', 'jsonb', (d) => d.message],
    ['caused_by', 'jsonb', (d) => d.causedBy],
    ['detail', 'jsonb', (d) => d.detail],
    ['decided_at', 'timestamptz', (d) => d.decidedAt],
  ],
};
