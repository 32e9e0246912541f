import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every statement that changes access_tokens notifies `fleetcompat_tokens` (TOKENS_CHANNEL)
 * when its transaction commits: API processes keep verified tokens only while they hear of
 * every change (TokenCache), so a revocation takes effect at once in each of them.
 */
export class TokensNotify1764000200002 implements MigrationInterface {
  readonly name = 'TokensNotify1764000200002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION fc_tokens_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('fleetcompat_tokens', '');
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER tokens_notify AFTER INSERT OR UPDATE OR DELETE ON access_tokens FOR EACH STATEMENT EXECUTE FUNCTION fc_tokens_notify()`,
    );
    await q.query(
      `CREATE TRIGGER tokens_notify_truncate AFTER TRUNCATE ON access_tokens FOR EACH STATEMENT EXECUTE FUNCTION fc_tokens_notify()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS tokens_notify_truncate ON access_tokens`);
    await q.query(`DROP TRIGGER IF EXISTS tokens_notify ON access_tokens`);
    await q.query(`DROP FUNCTION IF EXISTS fc_tokens_notify()`);
  }
}
