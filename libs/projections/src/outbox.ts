import { DataSource } from 'typeorm';
import { OutboxMessage, OutboxStore } from '@fleetcompat/contract';
import { listen, withProcessorLock } from '@fleetcompat/event-store';

/** Channel notified when a transaction that queued outbox rows commits (migration NotifyOutbox). */
export const OUTBOX_CHANNEL = 'fleetcompat_outbox';

/**
 * The outbox in Postgres. The projector's transactions are serialized by its lock, so the
 * ids of committed rows follow commit order; one relay at a time (advisory lock) publishes
 * the oldest rows and deletes them in the same transaction once the broker has acked them.
 * A crash between the ack and the commit publishes those rows again (at least once); the
 * per-guest sequence lets hosts drop the repeat.
 *
 * The commit stays synchronous although a lost delete is only a repeat: `deletedThrough`
 * (below) lets the next select and delete skip what this instance deleted, so a delete lost
 * to a Postgres crash that this process did not see (its pool reconnects quietly) would leave
 * those rows below it, never read nor deleted again. With large batches the commit is a small
 * share of a batch (docs/benchmarks.md, session 4b).
 */
export class PostgresOutbox implements OutboxStore {
  /**
   * The last id this instance deleted. Every row left has a higher id (ids follow commit
   * order), so the next read starts after it instead of stepping over the index entries of
   * rows deleted but not yet vacuumed, which made a large backlog drain ever slower.
   */
  private deletedThrough = '0';

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
        topic: string;
        key: string;
        value: string;
        headers: Record<string, string> | null;
      };
      const rows = (await qr.query(
        `SELECT id::text AS id, topic, key, value::text AS value, headers FROM outbox WHERE id > $2::bigint ORDER BY outbox.id LIMIT $1`,
        [limit, this.deletedThrough],
      )) as OutboxRow[];
      if (rows.length === 0) {
        await qr.rollbackTransaction();
        return 0;
      }
      await publish(
        rows.map((r) => ({
          id: r.id,
          topic: r.topic,
          key: r.key,
          value: r.value,
          ...(r.headers ? { headers: r.headers } : {}),
        })),
      );
      const last = rows[rows.length - 1].id;
      // A range from where this instance last deleted: `id <= last` alone walked the index
      // from its start over every entry deleted but not yet vacuumed, batch after batch. Rows
      // at or below `deletedThrough` are gone: this instance's commit that deleted them was
      // synchronous (see the class comment on why it stays so), and ids follow commit order.
      await qr.query(`DELETE FROM outbox WHERE id > $1::bigint AND id <= $2::bigint`, [this.deletedThrough, last]);
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
