import { createHash } from 'node:crypto';
import { Checkpoint, EVENT_COLUMNS, EventRecord, Queryable, toStoredEvent } from '@fleetcompat/event-store';
import { EventType } from '@fleetcompat/contract';
import { LIVE_SCHEMA } from './schema';

/**
 * Projector shards: the guests are split by a hash of their guestId into `count` shards;
 * shard `index` applies the events of its guests and makes their decisions, and applies the
 * host, kernel and rule events (every shard keeps its own copy of those facts). One layout
 * (a count) writes the projection at a time (see checkShardLayout).
 */
export interface ShardLayout {
  readonly index: number;
  readonly count: number;
}

/** One projector for every guest (the layout of before shards). */
export const SINGLE_SHARD: ShardLayout = { index: 0, count: 1 };

export function isSharded(layout: ShardLayout | undefined): layout is ShardLayout {
  return layout !== undefined && layout.count > 1;
}

/** Throws on a layout that does not name one shard of a whole count. */
export function assertShardLayout(layout: ShardLayout): ShardLayout {
  if (!Number.isInteger(layout.count) || layout.count < 1 || layout.count > 1024)
    throw new Error(`shard count must be a whole number from 1 to 1024 (got ${layout.count})`);
  if (!Number.isInteger(layout.index) || layout.index < 0 || layout.index >= layout.count)
    throw new Error(`shard must be from 0 to ${layout.count - 1} (got ${layout.index})`);
  return layout;
}

/**
 * The shard of a guest: the first 4 bytes of md5(UTF-8 guestId), an unsigned 32-bit
 * big-endian integer, modulo `count`. shardOfSql is the same in SQL.
 */
export function shardOf(guestId: string, count: number): number {
  if (count <= 1) return 0;
  return createHash('md5').update(guestId, 'utf8').digest().readUInt32BE(0) % count;
}

/**
 * shardOf in SQL over a text expression (the database's encoding is UTF-8, so md5 hashes the
 * same bytes). `bit(32)::bigint` reads the 32 bits as an unsigned value.
 */
export function shardOfSql(guestIdSql: string, count: number): string {
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad shard count ${count}`);
  return `((('x' || substr(md5(${guestIdSql}), 1, 8))::bit(32)::bigint % ${count})::int)`;
}

/** Event types about one guest: applied only by the guest's shard. */
export const GUEST_EVENT_TYPES: readonly EventType[] = ['GuestObserved', 'GuestRemoved', 'PlacementApplied'];
const GUEST_TYPES = new Set<string>(GUEST_EVENT_TYPES);

export function isGuestEventType(type: string): boolean {
  return GUEST_TYPES.has(type);
}

/** The guest a guest event is about, when its data says (a string guestId); null otherwise. */
export function guestOfEvent(e: { readonly type: string; readonly data: unknown }): string | null {
  if (!GUEST_TYPES.has(e.type) || typeof e.data !== 'object' || e.data === null) return null;
  const id = (e.data as { guestId?: unknown }).guestId;
  return typeof id === 'string' ? id : null;
}

/**
 * The shard that owns an event (writes its set-aside row, if any): a guest event's guest's
 * shard; shard 0 for every other event and for a guest event whose guest cannot be read.
 */
export function ownerOfEvent(e: { readonly type: string; readonly data: unknown }, count: number): number {
  const guest = guestOfEvent(e);
  return guest === null ? 0 : shardOf(guest, count);
}

/** ownerOfEvent in SQL, over the `type` and `data` (jsonb) columns of an events row aliased `e`. */
export function ownerOfEventSql(e: string, count: number): string {
  const types = GUEST_EVENT_TYPES.map((t) => `'${t}'`).join(', ');
  return `(CASE WHEN ${e}.type IN (${types}) AND jsonb_typeof(${e}.data->'guestId') = 'string'
            THEN ${shardOfSql(`${e}.data->>'guestId'`, count)} ELSE 0 END)`;
}

/** Checkpoint and lock name of a shard: 'projector' alone (as before shards), else 'projector:k/N'. */
export function processorName(layout: ShardLayout): string {
  return layout.count > 1 ? `projector:${layout.index}/${layout.count}` : 'projector';
}

/** Every processor name of a layout of `count` shards. */
export function processorNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => processorName({ index, count }));
}

/** The projection.meta key of the projection version a shard's rows were written by. */
export function versionKey(layout: ShardLayout): string {
  return layout.count > 1 ? `version:${processorName(layout)}` : 'version';
}

/** The SQL condition "this row's guest belongs to the shard" over a guest_id column. */
export function ownsGuestSql(guestIdSql: string, layout: ShardLayout): string {
  return layout.count > 1 ? `${shardOfSql(guestIdSql, layout.count)} = ${layout.index}` : 'true';
}

/** The SQL condition "this set-aside row belongs to the shard" over a set_aside row aliased `sa`. */
export function ownsSetAsideSql(sa: string, layout: ShardLayout): string {
  if (layout.count <= 1) return 'true';
  return `coalesce((SELECT ${ownerOfEventSql('e', layout.count)} FROM events e WHERE e.event_id = ${sa}.event_id), 0) = ${layout.index}`;
}

/** Shard 0 writes the rows every shard has (hosts, kernels, rules). */
export function writesSharedRows(layout: ShardLayout): boolean {
  return layout.index === 0;
}

/**
 * The stored events every shard applies (hosts, kernels, rules: not a guest's), up to and
 * including `through`, in the store's order, in pages. A shard other than 0 reads its copy of
 * those facts from here, not from the tables, which shard 0 writes at its own checkpoint.
 * Every event at or below a checkpoint was committed when the checkpoint was read.
 */
export async function* sharedEvents(q: Queryable, through: Checkpoint, pageSize = 5000) {
  let after = { transactionId: '0', globalPosition: '0' };
  for (;;) {
    const rows: EventRecord[] = await q.query(
      `SELECT ${EVENT_COLUMNS}
         FROM events
        WHERE type <> ALL($5::text[])
          AND (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
          AND (transaction_id, global_position) <= ($3::text::xid8, $4::bigint)
        ORDER BY events.transaction_id, events.global_position
        LIMIT ${Math.max(1, Math.floor(pageSize))}`,
      [after.transactionId, after.globalPosition, through.transactionId, through.globalPosition, GUEST_EVENT_TYPES],
    );
    for (const r of rows) yield toStoredEvent(r);
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1];
    after = { transactionId: last.transaction_id, globalPosition: last.global_position };
  }
}

/** The projection.meta key of the layout in force: the shard count whose projectors write the projection. */
export const SHARDS_META_KEY = 'shards';

/**
 * What an operator runs, with every projector stopped, to change the shard count: forgets
 * the layout in force and every layout's checkpoints and projection versions, so that the
 * projectors of the new count each re-project their part of the store at start (carrying
 * every guest's sequence on, publishing only the decisions that change).
 */
export const RESET_SHARD_LAYOUT_SQL =
  `DELETE FROM ${LIVE_SCHEMA}.meta WHERE key = '${SHARDS_META_KEY}' OR key = 'version' OR key LIKE 'version:projector:%'; ` +
  `DELETE FROM processor_checkpoints WHERE processor = 'projector' OR processor LIKE 'projector:%';`;

/** A projector of another shard count than the one that writes the projection: it refuses its batches. */
export class ShardLayoutError extends Error {
  constructor(
    readonly inForce: number,
    readonly mine: ShardLayout,
  ) {
    super(
      `the projection is written by ${inForce} projector shard(s) (projection.meta '${SHARDS_META_KEY}'), ` +
        `this projector is shard ${mine.index} of ${mine.count}: refusing to write. To change the shard count, stop every ` +
        `projector, run: ${RESET_SHARD_LAYOUT_SQL} then start the projectors of the new count (README "Deploying with shards")`,
    );
    this.name = 'ShardLayoutError';
  }
}

/**
 * Checks, in the batch's transaction, that the projection is written by this layout's shard
 * count; the first batch of any shard records it when none is. Throws ShardLayoutError when
 * another count is in force. A plain read per batch: no row lock, so shards never wait on
 * each other here.
 */
export async function checkShardLayout(q: Queryable, layout: ShardLayout): Promise<void> {
  const read = async () =>
    (await q.query<{ value: string }[]>(`SELECT value FROM ${LIVE_SCHEMA}.meta WHERE key = $1`, [SHARDS_META_KEY]))[0]
      ?.value;
  let value = await read();
  if (value === undefined) {
    await q.query(`INSERT INTO ${LIVE_SCHEMA}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [
      SHARDS_META_KEY,
      String(layout.count),
    ]);
    value = await read();
  }
  if (value !== String(layout.count)) throw new ShardLayoutError(Number(value), layout);
}

/** The shard count in force (projection.meta 'shards'; 1 when no projector has recorded one yet). */
export async function shardCountInForce(q: Queryable): Promise<number> {
  const rows = await q.query<{ value: string }[]>(`SELECT value FROM ${LIVE_SCHEMA}.meta WHERE key = $1`, [
    SHARDS_META_KEY,
  ]);
  const n = Number(rows[0]?.value ?? 1);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * How many stored events each shard of a layout (default: the one in force) has not applied
 * yet: every committed event past its checkpoint (a shard with no checkpoint: every event).
 * The projection has caught up when every shard is at 0.
 */
export async function shardsBehind(q: Queryable, count?: number): Promise<{ processor: string; behind: number }[]> {
  const names = processorNames(count ?? (await shardCountInForce(q)));
  const rows = await q.query<{ processor: string; n: string }[]>(
    `SELECT p.name AS processor,
            (SELECT count(*) FROM events e
              WHERE (e.transaction_id, e.global_position) > (coalesce(c.transaction_id, '0'::xid8), coalesce(c.global_position, 0)))::text AS n
       FROM unnest($1::text[]) WITH ORDINALITY AS p(name, i)
       LEFT JOIN processor_checkpoints c ON c.processor = p.name
      ORDER BY p.i`,
    [names],
  );
  return rows.map((r) => ({ processor: r.processor, behind: Number(r.n) }));
}
