import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A decision's outbox row names its history row (`decision_id`) instead of holding the
 * message a second time: the projector writes each decision's message once (about 930 of
 * the 2.6 KB of JSON a decision wrote), and the relay reads it through the view
 * `outbox_messages`, which takes `value` from the row when it has one (any other message)
 * and from `projection.decisions` when it names a decision. The history is append-only and
 * never pruned, so a named row is always there.
 *
 * Upgrade in place: rows already queued keep their value and are read as before.
 */
export class OutboxByReference1764000100012 implements MigrationInterface {
  readonly name = 'OutboxByReference1764000100012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE outbox ADD COLUMN decision_id text, ALTER COLUMN value DROP NOT NULL,
         ADD CONSTRAINT outbox_value_or_decision CHECK (value IS NOT NULL OR decision_id IS NOT NULL)`,
    );
    await q.query(
      `CREATE VIEW outbox_messages AS
         SELECT o.id, o.transaction_id, o.topic, o.key, COALESCE(o.value, d.message) AS value, o.headers, o.created_at,
                o.decision_id, (o.value IS NULL AND d.decision_id IS NULL) AS missing
           FROM outbox o LEFT JOIN projection.decisions d ON d.decision_id = o.decision_id`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW IF EXISTS outbox_messages`);
    await q.query(
      `UPDATE outbox o SET value = d.message FROM projection.decisions d WHERE o.value IS NULL AND d.decision_id = o.decision_id`,
    );
    await q.query(
      `ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_value_or_decision, DROP COLUMN IF EXISTS decision_id, ALTER COLUMN value SET NOT NULL`,
    );
  }
}
