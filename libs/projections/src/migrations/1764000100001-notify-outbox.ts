import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A commit that queued outbox rows notifies `fleetcompat_outbox`, so that a relay in another
 * process (PostgresOutbox.watch) wakes at once instead of at its next poll.
 */
export class NotifyOutbox1764000100001 implements MigrationInterface {
  readonly name = 'NotifyOutbox1764000100001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fc_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('fleetcompat_outbox', '');
        RETURN NULL;
      END
      $$`);
    await q.query(
      `CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION fc_outbox_notify()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS outbox_notify ON outbox`);
    await q.query(`DROP FUNCTION IF EXISTS fc_outbox_notify()`);
  }
}
