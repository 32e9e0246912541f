import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether a view's current decision costs the guest its first-GiB superpage, stored with the
 * view (`superpage_lost`, written by the projector with the decision), so that `/v1/summary`
 * counts it without a join and a parse of every decision's JSON message. Rows written before
 * it are written again by the re-projection (projection version facts-5).
 */
export class SuperpageLost1764000100009 implements MigrationInterface {
  readonly name = 'SuperpageLost1764000100009';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests ADD COLUMN superpage_lost boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests DROP COLUMN superpage_lost`);
  }
}
