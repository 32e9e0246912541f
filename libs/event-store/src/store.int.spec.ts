import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { PostgresEventStore } from './postgres-event-store';
import { guestObserved, hostRegistered, openEventStoreDataSource } from './testing';

describe('PostgresEventStore.store', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('es_store');
    ds = await openEventStoreDataSource(db.url);
    store = new PostgresEventStore(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('stores a batch across streams with gapless stream positions and all fields', async () => {
    const outcome = await store.store([
      guestObserved('s1-a', 's1-g1'),
      hostRegistered('s1-b', 's1-h1'),
      guestObserved('s1-c', 's1-g1'),
      guestObserved('s1-d', 's1-g2'),
    ]);
    expect(outcome).toEqual({
      stored: 4,
      duplicates: 0,
      storedIds: expect.arrayContaining(['s1-a', 's1-b', 's1-c', 's1-d']),
    });
    expect(outcome.storedIds).toHaveLength(4);

    const g1 = await store.readStream('guest-s1-g1');
    expect(g1.map((e) => [e.eventId, e.streamPosition])).toEqual([
      ['s1-a', 1],
      ['s1-c', 2],
    ]);
    const [host] = await store.readStream('host-s1-h1');
    expect(host).toMatchObject({
      eventId: 's1-b',
      streamId: 'host-s1-h1',
      streamPosition: 1,
      type: 'HostRegistered',
      schemaVersion: 1,
      occurredAt: '2026-11-24T10:00:00.000Z',
      source: 'test',
      data: { hostId: 's1-h1', hypervisor: { name: 'xen', version: '4.10.4' }, rsdpOverrideSupported: true },
      origin: { channel: 'kafka', topic: 'fleet.guest-inventory.v1', partition: 0, offset: '7' },
    });
    expect(host.globalPosition).toMatch(/^\d+$/);
    expect(host.transactionId).toMatch(/^\d+$/);
    expect(new Date(host.recordedAt).toISOString()).toBe(host.recordedAt);
    expect(await store.streamVersion('guest-s1-g1')).toBe(2);

    const more = await store.store([guestObserved('s1-e', 's1-g1')]);
    expect(more).toEqual({ stored: 1, duplicates: 0, storedIds: ['s1-e'] });
    expect((await store.readStream('guest-s1-g1')).map((e) => e.streamPosition)).toEqual([1, 2, 3]);
  });

  it('stores a repeated eventId once: within a batch (first wins) and across calls (no effect); one with other content is a conflict', async () => {
    const first = guestObserved('s2-a', 's2-g1', 'host-first');
    const second = guestObserved('s2-a', 's2-g1', 'host-second');
    expect(await store.store([first, second, guestObserved('s2-b', 's2-g1')])).toEqual({
      stored: 2,
      duplicates: 1,
      storedIds: expect.arrayContaining(['s2-a', 's2-b']),
      conflicts: [{ index: 1, eventId: 's2-a' }],
    });

    const before = await store.count();
    const head = await store.head();
    // another event under a stored id (a squatter, or a careless producer): not stored, and said so
    expect(await store.store([guestObserved('s2-a', 's2-g1', 'host-third')])).toEqual({
      stored: 0,
      duplicates: 1,
      storedIds: [],
      conflicts: [{ index: 0, eventId: 's2-a' }],
    });
    expect(await store.store([first, guestObserved('s2-b', 's2-g1'), guestObserved('s2-c', 's2-g1')])).toEqual({
      stored: 1,
      duplicates: 2,
      storedIds: ['s2-c'], // which of a partly new call were new: the ids the store reports
    });

    const events = await store.readStream('guest-s2-g1');
    expect(events.map((e) => [e.eventId, e.streamPosition])).toEqual([
      ['s2-a', 1],
      ['s2-b', 2],
      ['s2-c', 3],
    ]);
    expect((events[0].data as { hostId: string }).hostId).toBe('host-first');
    expect(await store.count()).toBe(before + 1);
    expect(await store.head()).not.toEqual(head);
  });

  it('an all-duplicate batch leaves no trace (no stream row, no new transaction id)', async () => {
    await store.store([guestObserved('s3-a', 's3-g1')]);
    const head = await store.head();
    expect(await store.store([guestObserved('s3-a', 's3-g1')])).toEqual({ stored: 0, duplicates: 1, storedIds: [] });
    expect(await store.head()).toEqual(head);
    expect(await store.store([])).toEqual({ stored: 0, duplicates: 0 });
  });

  it('concurrent store() calls with overlapping eventIds store each eventId exactly once, positions gapless', async () => {
    const writers = 8;
    const ids = Array.from({ length: 60 }, (_, i) => i);
    // each writer stores a shuffled, overlapping subset, in batches, over 6 guests
    const batchesOf = (w: number) => {
      const mine = ids.filter((i) => (i + w) % 3 !== 0).sort(() => Math.random() - 0.5);
      const batches = [];
      for (let i = 0; i < mine.length; i += 7) batches.push(mine.slice(i, i + 7));
      return batches;
    };
    const results = await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        let stored = 0;
        let duplicates = 0;
        for (const batch of batchesOf(w)) {
          const outcome = await store.store(batch.map((i) => guestObserved(`s4-${i}`, `s4-g${i % 6}`)));
          stored += outcome.stored;
          duplicates += outcome.duplicates;
        }
        return { stored, duplicates };
      }),
    );
    const totalStored = results.reduce((n, r) => n + r.stored, 0);
    expect(totalStored).toBe(ids.length);

    const rows: { event_id: string; n: string }[] = await ds.query(
      `SELECT event_id, count(*)::text AS n FROM events WHERE event_id LIKE 's4-%' GROUP BY event_id`,
    );
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((r) => r.n === '1')).toBe(true);

    for (let g = 0; g < 6; g++) {
      const stream = await store.readStream(`guest-s4-g${g}`);
      expect(stream.map((e) => e.streamPosition)).toEqual(stream.map((_, i) => i + 1));
      expect(stream.length).toBe(ids.filter((i) => i % 6 === g).length);
      expect(await store.streamVersion(`guest-s4-g${g}`)).toBe(stream.length);
    }
  });

  it('an eventId reused for different streams by concurrent callers is stored once, without surfacing a conflict', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        store.store([guestObserved(`s5-own-${w}`, `s5-g${w}`), guestObserved('s5-shared', `s5-g${w}`)]),
      ),
    );
    expect(results.reduce((n, r) => n + r.stored, 0)).toBe(9);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(7);
    const shared: { stream_id: string }[] = await ds.query(`SELECT stream_id FROM events WHERE event_id = 's5-shared'`);
    expect(shared).toHaveLength(1);
    for (let w = 0; w < 8; w++) {
      const stream = await store.readStream(`guest-s5-g${w}`);
      expect(stream.map((e) => e.streamPosition)).toEqual(stream.map((_, i) => i + 1));
    }
  });
});
