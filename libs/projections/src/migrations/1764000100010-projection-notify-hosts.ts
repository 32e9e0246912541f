import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The projector's batches name the hosts they changed in their own `fleetcompat_projection`
 * notification (notify-hosts.ts), and set `fleetcompat.projection_notified` for their
 * transaction; the checkpoint trigger then sends no "everything changed" notification (an empty
 * payload) of its own. Every other writer of a checkpoint (a rebuild, a re-projection, an older
 * projector) still notifies everything.
 */
export class ProjectionNotifyHosts1764000100010 implements MigrationInterface {
  readonly name = 'ProjectionNotifyHosts1764000100010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION fc_projection_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF coalesce(current_setting('fleetcompat.projection_notified', true), '') <> 'hosts' THEN
          PERFORM pg_notify('fleetcompat_projection', '');
        END IF;
        RETURN NULL;
      END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION fc_projection_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('fleetcompat_projection', '');
        RETURN NULL;
      END
      $$`);
  }
}
