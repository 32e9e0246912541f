import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `projection.placements_answers` keeps each answer gzip-compressed (`gzip`), as the API sends
 * it, instead of its JSON text: a kept answer is about a tenth of the bytes to read, and is
 * neither decoded nor compressed again on each read. Postgres cannot make gzip, so a reader
 * builds the body in one statement and keeps its compressed bytes with a second
 * (PlacementsReader). The bytes are stored as they are (`STORAGE EXTERNAL`: compressing them
 * again gains nothing). `body` stays, nullable, for the rows of older releases; nothing reads
 * it any more. The rows kept so far are dropped: the tags of this release are of another
 * format (`p3-`), so none of them would be served again.
 */
export class PlacementsAnswersGzip1764000100014 implements MigrationInterface {
  readonly name = 'PlacementsAnswersGzip1764000100014';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM projection.placements_answers`);
    await q.query(`ALTER TABLE projection.placements_answers ALTER COLUMN body DROP NOT NULL, ADD COLUMN gzip bytea`);
    await q.query(`ALTER TABLE projection.placements_answers ALTER COLUMN gzip SET STORAGE EXTERNAL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM projection.placements_answers WHERE body IS NULL`);
    await q.query(`ALTER TABLE projection.placements_answers DROP COLUMN gzip, ALTER COLUMN body SET NOT NULL`);
  }
}
