import { Checkpoint, checkpointText, compareCheckpoints, Queryable, readAll, START } from '@fleetcompat/event-store';
import { PlacementDecided } from '@fleetcompat/contract';
import { POLICY_VERSION } from '@fleetcompat/policy';
import { decisionKey, Evolver, EvolverOptions, superpageLost } from './evolve';
import { unobservedRemoval } from './facts/guests';
import { LIVE_SCHEMA } from './schema';
import { ownsGuestSql, ownsSetAsideSql, SINGLE_SHARD, ShardLayout, versionKey, writesSharedRows } from './shards';
import { DECISIONS } from './tables';
import { WorkingSet } from './working-set';

/**
 * What the live projection tables were written by: how facts are kept (bump `facts-N` when
 * a release changes what evolve keeps or how) and the policy version. A projector that finds
 * another version re-projects before its next batch.
 */
export const PROJECTION_VERSION = `facts-5+policy-${POLICY_VERSION}`;

const s = LIVE_SCHEMA;

/** The projection version a shard's rows were written by (the key is per layout: versionKey). */
export async function projectionVersion(q: Queryable, layout: ShardLayout = SINGLE_SHARD): Promise<string | null> {
  const rows: { value: string }[] = await q.query(`SELECT value FROM ${s}.meta WHERE key = $1`, [versionKey(layout)]);
  return rows[0]?.value ?? null;
}

/**
 * Whether any decision was ever made in these tables. A checkpoint at the start of the store is
 * not enough to say "nothing was projected": an operator may have reset it to replay, and the
 * store's reads may show nothing yet (they stop below transactions still open on the server).
 */
export async function hasDecisionHistory(q: Queryable, layout: ShardLayout = SINGLE_SHARD): Promise<boolean> {
  const rows: { any: boolean }[] = await q.query(
    `SELECT EXISTS (SELECT 1 FROM ${s}.${DECISIONS.name} WHERE ${ownsGuestSql('guest_id', layout)}) AS any`,
  );
  return rows[0]?.any === true;
}

export async function saveProjectionVersion(q: Queryable, layout: ShardLayout = SINGLE_SHARD): Promise<void> {
  await q.query(
    `INSERT INTO ${s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [versionKey(layout), PROJECTION_VERSION],
  );
}

/**
 * The live projection made again from the store, up to `checkpoint`, after a release changed
 * the facts or the policy: every event's facts are applied (nothing decided on the way), each
 * guest's sequence and each host view's current decision are carried on from the decision
 * history (which is kept: hosts hold those sequences), then every view is decided once with
 * the new policy. Decisions that differ are recorded (so published) with the next sequence;
 * a view whose guest is gone withdraws its decision. The projection rows are deleted here;
 * the caller saves the returned working set (every row dirty) in the same transaction.
 *
 * A shard (options.shard) re-projects its part: its guests' views, acks and set-aside rows
 * and their history; shard 0 also the rows every shard has (kernels, hosts, rules).
 */
export async function reproject(
  q: Queryable,
  checkpoint: Checkpoint,
  options: EvolverOptions & { batchSize: number; stats?: { events: number } },
): Promise<WorkingSet> {
  const layout = options.shard ?? SINGLE_SHARD;
  const ws = new WorkingSet();
  const facts = new Evolver(ws, { ...options, decide: false });
  let at: Checkpoint = START;
  let last: { recordedAt: string } | null = null;
  let heldBackSince: number | null = null;
  while (compareCheckpoints(at, checkpoint) < 0) {
    const { events } = await readAll(q, { after: at, limit: options.batchSize });
    if (!events.length) {
      // events up to the checkpoint that a transaction open elsewhere holds back (reads stop
      // below the oldest one on the server; a checkpoint saved from the committed head can be
      // past it): wait for them, never re-project without them; past a few seconds, give the
      // batch up (its transaction, lock and connection) and let the projector retry it
      if (!(await committedBetween(q, at, checkpoint))) break;
      heldBackSince ??= Date.now();
      if (Date.now() - heldBackSince >= HELD_BACK_WAIT_MS) throw new HeldBackError(at, checkpoint);
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    heldBackSince = null;
    for (const e of events) {
      if (compareCheckpoints({ transactionId: e.transactionId, globalPosition: e.globalPosition }, checkpoint) > 0)
        break;
      facts.apply(e);
      if (options.stats) options.stats.events++;
      at = { transactionId: e.transactionId, globalPosition: e.globalPosition };
      last = e;
    }
  }

  // carried on from the history: the last sequence of each guest, the current decision of each view
  const carried: {
    guest_id: string;
    host_id: string;
    decision_id: string;
    sequence: number;
    kind: string;
    message: PlacementDecided;
    top: number;
  }[] = await q.query(
    `SELECT DISTINCT ON (guest_id, host_id) guest_id, host_id, decision_id, sequence, kind, message,
              max(sequence) OVER (PARTITION BY guest_id) AS top
         FROM ${s}.decisions WHERE ${ownsGuestSql('guest_id', layout)} ORDER BY guest_id, host_id, sequence DESC`,
  );
  for (const c of carried) {
    const view = ws.guest(c.guest_id, c.host_id);
    const current =
      c.kind === 'decided'
        ? { decisionId: c.decision_id, decisionKey: decisionKey(c.message), superpageLost: superpageLost(c.message) }
        : { decisionId: null, decisionKey: null, superpageLost: false };
    // a view the old projection had and the facts no longer do: kept as removed, to withdraw its decision
    const row = view ?? {
      ...unobservedRemoval(c.guest_id, c.host_id, new Date(0).toISOString(), ''),
      status: 'removed' as const,
      need: null,
    };
    ws.putGuest({
      ...row,
      ...current,
      sequence: Math.max(c.sequence, view?.sequence ?? 0),
      decisionKey: current.decisionKey,
    });
    ws.raiseSequence(c.guest_id, Number(c.top));
  }

  if (writesSharedRows(layout))
    for (const table of ['kernels', 'hosts', 'behaviour_rules', 'guest_os_rules'])
      await q.query(`DELETE FROM ${s}.${table}`);
  for (const table of ['guests', 'acks'])
    await q.query(`DELETE FROM ${s}.${table} WHERE ${ownsGuestSql('guest_id', layout)}`);
  await q.query(`DELETE FROM ${s}.set_aside sa WHERE ${ownsSetAsideSql('sa', layout)}`);
  ws.beginBatch();
  ws.markAllDirty();
  new Evolver(ws, options).decideAll({
    eventId: `projection-version:${PROJECTION_VERSION}`,
    type: 'ProjectionVersionChanged',
    globalPosition: at.globalPosition,
    recordedAt: last?.recordedAt ?? new Date(0).toISOString(),
  });
  return ws;
}

/** How long a re-projection waits for events a transaction open elsewhere holds back before giving its batch up. */
export const HELD_BACK_WAIT_MS = 5000;

/** The events a re-projection must apply are stored but not readable yet: a transaction open elsewhere holds them back. */
export class HeldBackError extends Error {
  constructor(at: Checkpoint, through: Checkpoint) {
    super(
      `re-projection waited ${HELD_BACK_WAIT_MS} ms for stored events after ${checkpointText(at)} through ${checkpointText(through)}: a transaction open elsewhere on the server holds them back (see pg_stat_activity, state 'idle in transaction'); the batch is given up and retried`,
    );
    this.name = 'HeldBackError';
  }
}

/** Whether an event is stored after `after` and at or before `through`, readable yet or not. */
async function committedBetween(q: Queryable, after: Checkpoint, through: Checkpoint): Promise<boolean> {
  const rows: unknown[] = await q.query(
    `SELECT 1 FROM events
      WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
        AND (transaction_id, global_position) <= ($3::text::xid8, $4::bigint)
      LIMIT 1`,
    [after.transactionId, after.globalPosition, through.transactionId, through.globalPosition],
  );
  return rows.length > 0;
}
