import { MigrationInterface, QueryRunner } from 'typeorm';

/** Bearer tokens of the HTTP API: the sha256 of each secret, never the secret. */
export class CreateAccessTokens1764000200000 implements MigrationInterface {
  readonly name = 'CreateAccessTokens1764000200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE access_tokens (
        id           text        PRIMARY KEY,
        name         text,
        role         text        NOT NULL CHECK (role IN ('planner', 'ci', 'admin') OR role LIKE 'host:%'),
        token_sha256 text        NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
        created_at   timestamptz NOT NULL DEFAULT now(),
        revoked_at   timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS access_tokens`);
  }
}
