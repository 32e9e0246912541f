import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each host view of a guest keeps the eventId of the observation in force, so that a
 * decision records the events its facts came from (decisions.detail.restedOn) and the
 * history explains it with them, instead of guessing them again from the store's order.
 * Rows written before it are filled by the re-projection (projection version facts-3).
 */
export class ObservedEventId1764000100007 implements MigrationInterface {
  readonly name = 'ObservedEventId1764000100007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests ADD COLUMN observed_event_id text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests DROP COLUMN observed_event_id`);
  }
}
