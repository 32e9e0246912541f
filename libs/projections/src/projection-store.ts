import { copyRows, CopyClient, Queryable } from '@fleetcompat/event-store';
import { Topics } from '@fleetcompat/contract';
import { AckRow, DecisionRecord, GuestRow, HostRow, KernelRow } from './model';
import {
  ACKS,
  BEHAVIOUR_RULES,
  columnsOf,
  DECISIONS,
  GUEST_OS_RULES,
  GUESTS,
  HOSTS,
  KERNELS,
  rowFromDb,
  SET_ASIDE,
  TableDef,
} from './tables';
import { assertSchemaName, LIVE_SCHEMA } from './schema';
import { ownsGuestSql, ownsSetAsideSql, ShardLayout, SINGLE_SHARD, writesSharedRows } from './shards';
import { WorkingSet } from './working-set';

export const kernelFromDb = (r: Record<string, unknown>): KernelRow => rowFromDb(KERNELS, r);
export const hostFromDb = (r: Record<string, unknown>): HostRow => rowFromDb(HOSTS, r);
export const ackFromDb = (r: Record<string, unknown>): AckRow => rowFromDb(ACKS, r);
export const guestFromDb = (r: Record<string, unknown>): GuestRow => rowFromDb(GUESTS, r);

/** Guests per query when the whole projection is loaded. */
const GUESTS_PER_PAGE = 20_000;

/** Loads and saves the projection rows of one schema. */
export class ProjectionStore {
  readonly schema: string;

  /**
   * `layout`: the shard whose rows are loaded and saved (default: one shard, every row). A
   * shard loads and writes its own guests, acks and set-aside rows; only shard 0 writes the
   * rows every shard has (kernels, hosts, rules).
   */
  constructor(
    schema: string,
    readonly layout: ShardLayout = SINGLE_SHARD,
  ) {
    this.schema = assertSchemaName(schema);
  }

  /**
   * The whole projection as a working set (nothing dirty): kernels, hosts, behaviour rules,
   * acknowledgements (evolve compares their times), and every host view of a guest (with
   * what its current decision is made of, stored with it: decisionKey). Guests are read in
   * pages. A shard's: its guests, acks and set-aside rows only; with `shared` given, the
   * kernels, hosts and rules are those of that working set (a shard other than 0 makes them
   * from the store, see Projector), not read from the tables.
   */
  async loadAll(q: Queryable, shared?: WorkingSet): Promise<WorkingSet> {
    const s = this.schema;
    type Row = Record<string, unknown>;
    const rowsOf = (sql: string) => q.query<Row[]>(sql);
    const text = (v: unknown): string => v as string; // a text key column
    const ws = shared ?? new WorkingSet();
    if (!shared) {
      for (const row of await rowsOf(`SELECT * FROM ${s}.kernels`))
        ws.kernels.set(text(row.image_sha256), kernelFromDb(row));
      for (const row of await rowsOf(`SELECT * FROM ${s}.hosts`)) ws.hosts.set(text(row.host_id), hostFromDb(row));
      for (const row of await rowsOf(`SELECT * FROM ${s}.behaviour_rules ORDER BY key`))
        ws.rules.set(text(row.key), rowFromDb(BEHAVIOUR_RULES, row));
      for (const row of await rowsOf(`SELECT * FROM ${s}.guest_os_rules ORDER BY guest_os`))
        ws.guestOsRules.set(text(row.guest_os), rowFromDb(GUEST_OS_RULES, row));
    }
    const mine = this.layout;
    for (const row of await rowsOf(`SELECT * FROM ${s}.set_aside sa WHERE ${ownsSetAsideSql('sa', mine)}`))
      ws.setAside.set(text(row.event_id), rowFromDb(SET_ASIDE, row));
    for (const row of await rowsOf(`SELECT * FROM ${s}.acks WHERE ${ownsGuestSql('guest_id', mine)}`))
      ws.acks.set(WorkingSet.ackKey(text(row.host_id), text(row.guest_id)), ackFromDb(row));
    for (let after = ['', '']; ;) {
      const rows = await q.query<Row[]>(
        `SELECT * FROM ${s}.guests WHERE (guest_id, host_id) > ($1, $2) AND ${ownsGuestSql('guest_id', mine)} ORDER BY guest_id, host_id LIMIT ${GUESTS_PER_PAGE}`,
        after,
      );
      for (const row of rows) {
        ws.loadGuest(guestFromDb(row));
      }
      if (rows.length < GUESTS_PER_PAGE) return ws;
      after = [text(rows[rows.length - 1].guest_id), text(rows[rows.length - 1].host_id)];
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
    const shared = writesSharedRows(this.layout);
    if (shared) {
      await upsertRows(
        q,
        client,
        s,
        KERNELS_W,
        [...ws.dirtyKernels].map((k) => ws.kernels.get(k)!),
      );
      await upsertRows(
        q,
        client,
        s,
        HOSTS_W,
        [...ws.dirtyHosts].map((h) => ws.hosts.get(h)!),
      );
    }
    // one row at a time from the columns (a re-projection writes every view)
    await upsertRows(q, client, s, GUESTS_W, { rows: ws.dirtyGuestRows(), count: ws.dirtyGuestCount });
    await upsertRows(
      q,
      client,
      s,
      ACKS_W,
      [...ws.dirtyAcks].map((k) => ws.acks.get(k)!),
    );
    if (shared) {
      await upsertRows(
        q,
        client,
        s,
        RULES_W,
        [...ws.dirtyRules].map((k) => ws.rules.get(k)!),
      );
      await upsertRows(
        q,
        client,
        s,
        GUEST_OS_RULES_W,
        [...ws.dirtyGuestOsRules].map((k) => ws.guestOsRules.get(k)!),
      );
    }
    await upsertRows(
      q,
      client,
      s,
      SET_ASIDE_W,
      [...ws.dirtySetAside].map((k) => ws.setAside.get(k)!),
    );
    if (!ws.records.length) return;
    // the outbox rows name the live history's rows (OUTBOX_MESSAGES): only the live projection queues decisions
    if (s !== LIVE_SCHEMA) throw new Error(`decisions are queued for publishing from ${LIVE_SCHEMA} only, not ${s}`);
    await copyTable(client, s, DECISIONS_W, ws.records);
    await copyTable(client, 'public', OUTBOX, ws.records);
  }

  /**
   * Writes every row of a whole-projection working set into this schema's fresh (empty)
   * tables with COPY: a rebuild's final state, written once.
   */
  async copyAll(client: CopyClient, ws: WorkingSet): Promise<void> {
    const s = this.schema;
    await copyTable(client, s, KERNELS_W, ws.kernels.values());
    await copyTable(client, s, HOSTS_W, ws.hosts.values());
    await copyTable(client, s, GUESTS_W, ws.eachGuest());
    await copyTable(client, s, ACKS_W, ws.acks.values());
    await copyTable(client, s, RULES_W, ws.rules.values());
    await copyTable(client, s, GUEST_OS_RULES_W, ws.guestOsRules.values());
    await copyTable(client, s, SET_ASIDE_W, ws.setAside.values());
  }

  /** Appends decision history rows with COPY (the history is append-only). */
  async copyRecords(client: CopyClient, records: readonly DecisionRecord[]): Promise<void> {
    await copyTable(client, this.schema, DECISIONS_W, records);
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
  return copyRows(
    client,
    `${schema}.${spec.table}`,
    spec.columns.map(([name]) => name),
    fields(spec, rows),
  );
}

/** How the rows of one table are written: its columns (name, SQL type, value) and its key. */
interface TableWrite<R> {
  readonly table: string;
  readonly columns: readonly (readonly [name: string, type: string, value: (row: R) => unknown])[];
  /** The conflict key of an upsert; none for an append-only table. */
  readonly key?: readonly string[];
}

/** The writes of a projection table, from its definition. */
function writeOf<R, N extends keyof R>(def: TableDef<R, N>): TableWrite<R> {
  return {
    table: def.name,
    columns: columnsOf(def).map(({ field, column }) => [column.name, column.type, (row: R) => row[field]] as const),
    ...(def.appendOnly ? {} : { key: def.primaryKey }),
  };
}

const KERNELS_W = writeOf(KERNELS);
const HOSTS_W = writeOf(HOSTS);
const GUESTS_W = writeOf(GUESTS);
const ACKS_W = writeOf(ACKS);
const RULES_W = writeOf(BEHAVIOUR_RULES);
const GUEST_OS_RULES_W = writeOf(GUEST_OS_RULES);
const SET_ASIDE_W = writeOf(SET_ASIDE);
const DECISIONS_W = writeOf(DECISIONS);

/**
 * Upserts rows on the table's key: COPY into a temporary staging table of the same columns
 * (one per connection, emptied at commit), then one INSERT ... ON CONFLICT DO UPDATE from it.
 * `client` is the connection of `q`, in the batch's transaction.
 */
async function upsertRows<R>(
  q: Queryable,
  client: CopyClient,
  schema: string,
  spec: TableWrite<R>,
  /** The rows: an array, or rows made one at a time with how many there are (so an empty batch costs nothing). */
  changed: readonly R[] | { readonly rows: Iterable<R>; readonly count: number },
): Promise<void> {
  const { rows, count } = 'rows' in changed ? changed : { rows: changed, count: changed.length };
  if (!count) return;
  const names = spec.columns.map(([name]) => name);
  const key = spec.key!;
  const stage = `fc_stage_${schema}_${spec.table}`;
  await q.query(
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${stage} (${spec.columns.map(([name, type]) => `${name} ${type}`).join(', ')}) ON COMMIT DELETE ROWS`,
  );
  await copyTable(client, `pg_temp`, { ...spec, table: stage }, rows);
  await q.query(
    `INSERT INTO ${schema}.${spec.table} (${names.join(', ')}) SELECT ${names.join(', ')} FROM pg_temp.${stage}
     ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${names
       .filter((n) => !key.includes(n))
       .map((n) => `${n} = EXCLUDED.${n}`)
       .join(', ')}`,
  );
}

/**
 * Queued for the relay: the decision (its message is read from the history row it names,
 * see OUTBOX_MESSAGES), keyed by host, with the type and guest in headers.
 */
const OUTBOX: TableWrite<DecisionRecord> = {
  table: 'outbox',
  columns: [
    ['topic', 'text', () => Topics.placementDecisions],
    ['key', 'text', (d) => d.hostId],
    ['decision_id', 'text', (d) => d.decisionId],
    ['headers', 'json', (d) => ({ type: d.message.type, guestId: d.guestId })],
  ],
};
