import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { eventStoreMigrations } from './migrations';
import { PostgresEventStore } from './postgres-event-store';
import { guestObserved, openEventStoreDataSource } from './testing';
import { sqlStateOf } from './transaction';

describe('events are append-only', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('es_append_only');
    ds = await openEventStoreDataSource(db.url);
    await new PostgresEventStore(ds).store([guestObserved('ao-1', 'g1'), guestObserved('ao-2', 'g2')]);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it.each([
    ['UPDATE', `UPDATE events SET source = 'tampered' WHERE event_id = 'ao-1'`],
    ['UPDATE of no row', `UPDATE events SET source = 'tampered' WHERE false`],
    ['DELETE', `DELETE FROM events WHERE event_id = 'ao-2'`],
    ['DELETE of every row', `DELETE FROM events`],
  ])('rejects %s', async (_, sql) => {
    const error = await ds.query(sql).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    expect(sqlStateOf(error)).toBe('23001');
    expect(String((error as Error).message)).toContain('append-only');
    const rows: { event_id: string; source: string }[] = await ds.query(
      `SELECT event_id, source FROM events ORDER BY event_id`,
    );
    expect(rows).toEqual([
      { event_id: 'ao-1', source: 'test' },
      { event_id: 'ao-2', source: 'test' },
    ]);
  });

  it('the migrations can be reverted and re-applied', async () => {
    for (let i = 0; i < eventStoreMigrations.length; i++) await ds.undoLastMigration();
    const tables: { n: string }[] = await ds.query(
      `SELECT count(*)::text AS n FROM pg_tables WHERE tablename IN ('events', 'streams', 'processor_checkpoints')`,
    );
    expect(tables[0].n).toBe('0');
    const functions: { n: string }[] = await ds.query(
      `SELECT count(*)::text AS n FROM pg_proc WHERE proname LIKE 'fc\\_%'`,
    );
    expect(functions[0].n).toBe('0');
    await ds.runMigrations();
    expect(await new PostgresEventStore(ds).count()).toBe(0);
  });
});
