import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The decision history and the outbox keep messages as `json` (the text as written), not
 * `jsonb`: they are written once per decision, read back whole and never searched inside, so
 * the binary form only cost a parse per write; the relay now sends the stored text as it is.
 * The unused index on decisions(host_id) goes too.
 */
export class DecisionsAsJson1764000100003 implements MigrationInterface {
  readonly name = 'DecisionsAsJson1764000100003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS projection.decisions_host_id_idx`);
    await q.query(
      `ALTER TABLE projection.decisions
         ALTER COLUMN message TYPE json USING message::json,
         ALTER COLUMN caused_by TYPE json USING caused_by::json,
         ALTER COLUMN detail TYPE json USING detail::json`,
    );
    await q.query(
      `ALTER TABLE outbox ALTER COLUMN value TYPE json USING value::json, ALTER COLUMN headers TYPE json USING headers::json`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE outbox ALTER COLUMN value TYPE jsonb USING value::jsonb, ALTER COLUMN headers TYPE jsonb USING headers::jsonb`,
    );
    await q.query(
      `ALTER TABLE projection.decisions
         ALTER COLUMN message TYPE jsonb USING message::jsonb,
         ALTER COLUMN caused_by TYPE jsonb USING caused_by::jsonb,
         ALTER COLUMN detail TYPE jsonb USING detail::jsonb`,
    );
    await q.query(`CREATE INDEX IF NOT EXISTS decisions_host_id_idx ON projection.decisions (host_id)`);
  }
}
