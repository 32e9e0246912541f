import { DataSource } from 'typeorm';
import { OutboxMessage, OutboxStore } from '@fleetcompat/contract';
import { listen, withProcessorLock } from '@fleetcompat/event-store';

/**
 * The outbox rows with their messages (migration OutboxByReference): a decision's row names
 * its history row instead of holding the message again. Read through this view, never the
 * table's `value`, which is null for those rows.
 */
export const OUTBOX_MESSAGES = 'outbox_messages';

/** Channel notified when a transaction that queued outbox rows commits (migration NotifyOutbox). */
export const OUTBOX_CHANNEL = 'fleetcompat_outbox';

/**
 * The outbox in Postgres. Several projector transactions may write it at once (one per
 * shard), so ids do not follow commit order: a row with a lower id can commit after a
 * higher one. The relay reads the rows as the event store is read, in an order no reader can
 * skip: `(transaction_id, id)`, only rows of transactions older than every transaction still
 * in progress (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`); an open
 * transaction that writes the outbox holds back every row after it until it ends. One relay
 * at a time (advisory lock) publishes the oldest rows and deletes them in the same
 * transaction once the broker has acked them. A crash between the ack and the commit
 * publishes those rows again (at least once); the per-guest sequence lets hosts drop the
 * repeat. A guest's rows come from one shard, whose batches are serialized by its lock, so
 * its rows are read in the order they were written.
 *
 * The commit stays synchronous although a lost delete is only a repeat: `deletedThrough`
 * (below) lets the next select and delete skip what this instance deleted, so a delete lost
 * to a Postgres crash that this process did not see (its pool reconnects quietly) would leave
 * those rows below it, never read nor deleted again. With large batches the commit is a small
 * share of a batch (docs/benchmarks.md, session 4b).
 */
export class PostgresOutbox implements OutboxStore {
  /**
   * The last (transaction_id, id) this instance deleted. Every row left is after it: rows
   * at or before it were all committed (or rolled back) when it was read (its transaction id
   * was below the snapshot's xmin, and so were those of every row before it), so they were in
   * that read and deleted with it. The next read starts after it instead of stepping over the
   * index entries of rows deleted but not yet vacuumed, which made a large backlog drain ever
   * slower.
   */
  private deletedThrough = { transactionId: '0', id: '0' };

  constructor(private readonly dataSource: DataSource) {}

  async publishBatch(limit: number, publish: (messages: readonly OutboxMessage[]) => Promise<void>): Promise<number> {
    const qr = this.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      if (!(await withProcessorLock('outbox-relay', qr))) {
        await qr.rollbackTransaction();
        return 0;
      }
      type OutboxRow = {
        id: string;
        transaction_id: string;
        topic: string;
        key: string;
        value: string | null;
        headers: Record<string, string> | null;
        decision_id: string | null;
        missing: boolean;
      };
      const from = this.deletedThrough;
      // ORDER BY the view's columns, qualified: unqualified, it would sort by the text aliases ("10" before "9")
      const rows = (await qr.query(
        `SELECT id::text AS id, transaction_id::text AS transaction_id, topic, key, value::text AS value, headers, decision_id, missing
           FROM ${OUTBOX_MESSAGES}
          WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
            AND (transaction_id, id) > ($2::text::xid8, $3::bigint)
          ORDER BY ${OUTBOX_MESSAGES}.transaction_id, ${OUTBOX_MESSAGES}.id
          LIMIT $1`,
        [limit, from.transactionId, from.id],
      )) as OutboxRow[];
      if (rows.length === 0) {
        await qr.rollbackTransaction();
        return 0;
      }
      const lost = rows.find((r) => r.missing || r.value === null);
      if (lost) {
        // never publish nothing in its place, nor delete it: the history row it names is gone
        throw new Error(
          `outbox row ${lost.id} names decision ${JSON.stringify(lost.decision_id)}, which is not in the decision history`,
        );
      }
      await publish(
        rows.map((r) => ({
          id: r.id,
          topic: r.topic,
          key: r.key,
          value: r.value!,
          ...(r.headers ? { headers: r.headers } : {}),
        })),
      );
      const lastRow = rows[rows.length - 1];
      const last = { transactionId: lastRow.transaction_id, id: lastRow.id };
      // A range from where this instance last deleted: a bound from the start walked the index
      // over every entry deleted but not yet vacuumed, batch after batch. Every row in the
      // range was in the read (see deletedThrough), so nothing unpublished is deleted; rows at
      // or before `from` are gone (this instance's commit that deleted them was synchronous).
      await qr.query(
        `DELETE FROM outbox
          WHERE (transaction_id, id) > ($1::text::xid8, $2::bigint)
            AND (transaction_id, id) <= ($3::text::xid8, $4::bigint)`,
        [from.transactionId, from.id, last.transactionId, last.id],
      );
      await qr.commitTransaction();
      this.deletedThrough = last;
      return rows.length;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }

  /** Wakes `onChange` when rows are committed, from any process (LISTEN fleetcompat_outbox). */
  watch(onChange: () => void): Promise<() => Promise<void>> {
    return listen(this.dataSource, OUTBOX_CHANNEL, onChange);
  }

  /** Backlog size and the age of the oldest row in seconds (for metrics and readiness). */
  async backlog(): Promise<{ count: number; oldestAgeSeconds: number }> {
    const rows: { n: string; age: number | null }[] = await this.dataSource.query(
      `SELECT count(*)::text AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age FROM outbox`,
    );
    return { count: Number(rows[0].n), oldestAgeSeconds: rows[0].age ?? 0 };
  }
}
