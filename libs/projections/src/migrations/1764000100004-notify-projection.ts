import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A commit that moved a processor's checkpoint (the projector applied a batch, or a rebuild
 * finished) notifies `fleetcompat_projection`, so that readers holding answers from the
 * projections (the API's placements cache) drop them as soon as the batch is visible.
 */
export class NotifyProjection1764000100004 implements MigrationInterface {
  readonly name = 'NotifyProjection1764000100004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fc_projection_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('fleetcompat_projection', '');
        RETURN NULL;
      END
      $$`);
    await q.query(
      `CREATE TRIGGER projection_notify AFTER INSERT OR UPDATE ON processor_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION fc_projection_notify()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS projection_notify ON processor_checkpoints`);
    await q.query(`DROP FUNCTION IF EXISTS fc_projection_notify()`);
  }
}
