import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox rows carry the id of the transaction that wrote them, and the relay reads them in
 * the store's never-skip order: `(transaction_id, id)`, only below
 * `pg_snapshot_xmin(pg_current_snapshot())`. With projector shards several transactions
 * write the outbox at once, and a row with a lower id can commit after a higher one: the
 * relay's bound `id > deletedThrough` would have skipped it forever.
 *
 * Upgrade in place: the rows already there get the id of this migration's transaction (a
 * volatile default is evaluated per row), above every transaction that wrote them, so they
 * keep their id order and come before any row written after.
 */
export class OutboxTransactionOrder1764000100011 implements MigrationInterface {
  readonly name = 'OutboxTransactionOrder1764000100011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id()`);
    await q.query(`CREATE INDEX outbox_transaction_order_idx ON outbox (transaction_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS outbox_transaction_order_idx`);
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS transaction_id`);
  }
}
