import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A commit that inserted events notifies `fleetcompat_events` (once per transaction: Postgres
 * folds repeated notifications), so that a projector in another process wakes at once
 * instead of at its next poll. Statement-level: one pg_notify per INSERT, whatever its size.
 */
export class NotifyEvents1764000000002 implements MigrationInterface {
  readonly name = 'NotifyEvents1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fc_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('fleetcompat_events', '');
        RETURN NULL;
      END
      $$`);
    await q.query(
      `CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION fc_events_notify()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS events_notify ON events`);
    await q.query(`DROP FUNCTION IF EXISTS fc_events_notify()`);
  }
}
