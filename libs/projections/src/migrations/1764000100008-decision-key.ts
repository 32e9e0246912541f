import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a view's current decision is made of (decisionKey) is stored with the view instead of
 * being read back from the decision's message through a SQL copy of decisionKey's fields.
 * Rows written before it are written again by the re-projection (projection version facts-4).
 */
export class DecisionKey1764000100008 implements MigrationInterface {
  readonly name = 'DecisionKey1764000100008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests ADD COLUMN decision_key text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests DROP COLUMN decision_key`);
  }
}
