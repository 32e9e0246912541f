import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A guest row points at its current decision (projection.decisions.decision_id) instead of
 * holding a second copy of it: the projector writes each decision once. Existing rows keep
 * their decision by id.
 */
export class GuestDecisionId1764000100002 implements MigrationInterface {
  readonly name = 'GuestDecisionId1764000100002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests ADD COLUMN decision_id text`);
    await q.query(
      `UPDATE projection.guests SET decision_id = decision->'message'->>'decisionId' WHERE decision IS NOT NULL`,
    );
    await q.query(`ALTER TABLE projection.guests DROP COLUMN decision`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projection.guests ADD COLUMN decision jsonb`);
    // Rebuilt from the history row it points at (the column now comes after last_event_id).
    await q.query(
      `UPDATE projection.guests g
          SET decision = jsonb_build_object('message', d.message, 'status', d.detail->'status', 'need', d.message->'facts'->'need',
                                            'flags', d.detail->'flags', 'explanation', d.detail->'explanation', 'causedBy', d.caused_by)
         FROM projection.decisions d WHERE d.decision_id = g.decision_id`,
    );
    await q.query(`ALTER TABLE projection.guests DROP COLUMN decision_id`);
  }
}
