import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { eventStoreMigrations } from './migrations';
import { PostgresEventStore } from './postgres-event-store';
import { guestObserved, hostRegistered } from './testing';

// AppendEventsOneStatement1764000000004 on a store written by the function before it.
describe('fc_append_events in one statement (migration 1764000000004)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  const indexes = async (): Promise<string[]> => {
    const rows: { indexname: string }[] = await ds.query(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'events' ORDER BY indexname`,
    );
    return rows.map((r) => r.indexname);
  };

  beforeAll(async () => {
    db = await createTestDatabase('es_one_statement');
    ds = new DataSource({
      type: 'postgres',
      url: db.url,
      migrations: eventStoreMigrations.slice(0, 4),
      migrationsRun: false,
      synchronize: false,
      extra: { max: 20 },
    });
    await ds.initialize();
    await ds.runMigrations();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('upgrades a store in place: positions go on from the stored versions, stored ids stay duplicates', async () => {
    const before = new PostgresEventStore(ds);
    await before.store([guestObserved('m-1', 'm-g1'), guestObserved('m-2', 'm-g1'), hostRegistered('m-3', 'm-h1')]);
    expect(await indexes()).toContain('events_type_idx');

    const upgraded = new DataSource({ ...ds.options, migrations: eventStoreMigrations });
    await upgraded.initialize();
    try {
      await upgraded.runMigrations();
      expect(await indexes()).not.toContain('events_type_idx');
      const store = new PostgresEventStore(upgraded);
      const outcome = await store.store([
        guestObserved('m-2', 'm-g1'),
        guestObserved('m-4', 'm-g1'),
        hostRegistered('m-5', 'm-h1'),
        guestObserved('m-6', 'm-g2'),
      ]);
      expect(outcome.stored).toBe(3);
      expect(outcome.duplicates).toBe(1);
      expect([...(outcome.storedIds ?? [])].sort()).toEqual(['m-4', 'm-5', 'm-6']);
      expect((await store.readStream('guest-m-g1')).map((e) => [e.eventId, e.streamPosition])).toEqual([
        ['m-1', 1],
        ['m-2', 2],
        ['m-4', 3],
      ]);
      expect((await store.readStream('host-m-h1')).map((e) => e.streamPosition)).toEqual([1, 2]);
      expect(await store.streamVersion('guest-m-g1')).toBe(3);
      expect(await store.streamVersion('guest-m-g2')).toBe(1);
      await expect(
        store.append('guest-m-g1', [guestObserved('m-7', 'm-g1')], { expectedVersion: 2 }),
      ).rejects.toMatchObject({ code: 'wrong-expected-version' });
      expect(await store.append('guest-m-g1', [guestObserved('m-7', 'm-g1')], { expectedVersion: 3 })).toEqual({
        stored: 1,
        duplicates: 0,
        nextExpectedVersion: 4,
      });

      // down: the function before and the index again, and the store still appends
      await upgraded.undoLastMigration();
      expect(await indexes()).toContain('events_type_idx');
      expect((await before.store([guestObserved('m-8', 'm-g1')])).stored).toBe(1);
      expect(await before.streamVersion('guest-m-g1')).toBe(5);
      await upgraded.runMigrations();
      expect(await indexes()).not.toContain('events_type_idx');
    } finally {
      await upgraded.destroy();
    }
  });

  it('the same new batch delivered by 8 concurrent callers is stored once, positions gapless', async () => {
    const store = new PostgresEventStore(ds);
    const batch = Array.from({ length: 40 }, (_, i) => guestObserved(`c-${i}`, `c-g${i % 4}`));
    const results = await Promise.all(Array.from({ length: 8 }, () => store.store(batch)));
    expect(results.reduce((n, r) => n + r.stored, 0)).toBe(40);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(7 * 40);
    for (let g = 0; g < 4; g++) {
      const stream = await store.readStream(`guest-c-g${g}`);
      expect(stream.map((e) => e.eventId)).toEqual(batch.filter((_, i) => i % 4 === g).map((e) => e.event.eventId));
      expect(stream.map((e) => e.streamPosition)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await store.streamVersion(`guest-c-g${g}`)).toBe(10);
    }
  });
});
