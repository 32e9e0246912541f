import { MigrationInterface, QueryRunner } from 'typeorm';
import { dropProjectionTablesSql, LIVE_SCHEMA, OUTBOX_TABLE_SQL, projectionTablesSql } from '../schema';

export class CreateProjections1764000100000 implements MigrationInterface {
  name = 'CreateProjections1764000100000';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of [...projectionTablesSql(LIVE_SCHEMA), ...OUTBOX_TABLE_SQL]) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox');
    for (const sql of dropProjectionTablesSql(LIVE_SCHEMA)) await q.query(sql);
  }
}
