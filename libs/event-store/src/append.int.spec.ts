import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { PostgresEventStore } from './postgres-event-store';
import { guestObserved, openEventStoreDataSource } from './testing';
import { ConcurrencyError } from './types';

describe('PostgresEventStore.append (expected version)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('es_append');
    ds = await openEventStoreDataSource(db.url);
    store = new PostgresEventStore(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('appends when the stream is at the expected version, and rejects otherwise', async () => {
    const s = 'decisions-a1';
    expect(
      await store.append(s, [guestObserved('a1-1', 'g'), guestObserved('a1-2', 'g')], { expectedVersion: 'no-stream' }),
    ).toEqual({ stored: 2, duplicates: 0, nextExpectedVersion: 2 });
    expect(await store.append(s, [guestObserved('a1-3', 'g')], { expectedVersion: 2 })).toEqual({
      stored: 1,
      duplicates: 0,
      nextExpectedVersion: 3,
    });
    expect(await store.append(s, [guestObserved('a1-4', 'g')], { expectedVersion: 'any' })).toMatchObject({
      nextExpectedVersion: 4,
    });

    const wrong = store.append(s, [guestObserved('a1-5', 'g')], { expectedVersion: 3 });
    await expect(wrong).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(wrong).rejects.toMatchObject({
      code: 'wrong-expected-version',
      streamId: s,
      expectedVersion: 3,
      actualVersion: 4,
    });
    await expect(store.append(s, [guestObserved('a1-6', 'g')], { expectedVersion: 'no-stream' })).rejects.toMatchObject(
      {
        code: 'wrong-expected-version',
      },
    );
    await expect(
      store.append('decisions-a1-none', [guestObserved('a1-7', 'g')], { expectedVersion: 1 }),
    ).rejects.toMatchObject({
      code: 'wrong-expected-version',
      actualVersion: 0,
    });

    expect((await store.readStream(s)).map((e) => [e.eventId, e.streamPosition])).toEqual([
      ['a1-1', 1],
      ['a1-2', 2],
      ['a1-3', 3],
      ['a1-4', 4],
    ]);
    expect(await store.streamVersion('decisions-a1-none')).toBe(0);
  });

  it('is idempotent by eventId: a retried append succeeds without effect, whatever the expected version', async () => {
    const s = 'decisions-a2';
    const events = [guestObserved('a2-1', 'g'), guestObserved('a2-2', 'g')];
    await store.append(s, events, { expectedVersion: 'no-stream' });
    expect(await store.append(s, events, { expectedVersion: 'no-stream' })).toEqual({
      stored: 0,
      duplicates: 2,
      nextExpectedVersion: 2,
    });
    // one new event among duplicates: the version check applies
    await expect(
      store.append(s, [...events, guestObserved('a2-3', 'g')], { expectedVersion: 0 }),
    ).rejects.toMatchObject({
      code: 'wrong-expected-version',
    });
    expect(await store.append(s, [...events, guestObserved('a2-3', 'g')], { expectedVersion: 2 })).toEqual({
      stored: 1,
      duplicates: 2,
      nextExpectedVersion: 3,
    });
    expect(await store.count()).toBeGreaterThanOrEqual(3);
    expect((await store.readStream(s)).map((e) => e.eventId)).toEqual(['a2-1', 'a2-2', 'a2-3']);
  });

  it('two appenders with the same expected version: exactly one wins, the other gets ConcurrencyError', async () => {
    for (let round = 0; round < 10; round++) {
      const s = `decisions-a3-${round}`;
      await store.append(s, [guestObserved(`a3-${round}-0`, 'g')], { expectedVersion: 'no-stream' });
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map((w) => store.append(s, [guestObserved(`a3-${round}-w${w}`, 'g')], { expectedVersion: 1 })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(3);
      for (const l of lost) {
        expect(l.reason).toBeInstanceOf(ConcurrencyError);
        expect(l.reason.code).toBe('wrong-expected-version');
        expect(l.reason.actualVersion).toBe(2);
      }
      expect((await store.readStream(s)).map((e) => e.streamPosition)).toEqual([1, 2]);
    }
  });
});
