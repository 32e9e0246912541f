import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events the projector could not apply (data its type does not allow, a time out of range,
 * a host past its guest limit), each with the reason: set aside so that the rest go on, and
 * listed for admins (GET /v1/admin/set-aside). A rebuild sets aside the same events.
 */
export class SetAside1764000100006 implements MigrationInterface {
  readonly name = 'SetAside1764000100006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE projection.set_aside (
         event_id text PRIMARY KEY,
         type text NOT NULL,
         global_position bigint NOT NULL,
         reason text NOT NULL,
         recorded_at timestamptz NOT NULL
       )`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS projection.set_aside`);
  }
}
