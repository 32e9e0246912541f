import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { EVENTS_CHANNEL, listen } from './notify';
import { PostgresEventStore } from './postgres-event-store';
import { guestObserved, openEventStoreDataSource } from './testing';

describe('LISTEN on stored events (wakes a projector in another process)', () => {
  let db: TestDatabase;
  let listener: DataSource;
  let writer: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('es_notify');
    listener = await openEventStoreDataSource(db.url, 4);
    writer = await openEventStoreDataSource(db.url, 4);
  });
  afterAll(async () => {
    await listener?.destroy();
    await writer?.destroy();
    await db?.drop();
  });

  it('notifies a listener on another connection when a store commits, and stops when told', async () => {
    let calls = 0;
    let wake: () => void = () => undefined;
    const stop = await listen(listener, EVENTS_CHANNEL, () => {
      calls++;
      wake();
    });
    await new Promise((r) => setTimeout(r, 50)); // the wake-up listen() gives right after LISTEN
    calls = 0;

    const notified = new Promise<void>((resolve) => (wake = resolve));
    await new PostgresEventStore(writer).store([guestObserved('notify-1', 'g1')]);
    await Promise.race([
      notified,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no notification within 10 s')), 10000)),
    ]);
    expect(calls).toBeGreaterThanOrEqual(1);

    await stop();
    calls = 0;
    await new PostgresEventStore(writer).store([guestObserved('notify-2', 'g2')]);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(0);
    // the listening connection went back to the pool
    expect(await listener.query(`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });

  it('listens again after its connection is killed', async () => {
    let wake: () => void = () => undefined;
    const errors: string[] = [];
    const stop = await listen(listener, EVENTS_CHANNEL, () => wake(), {
      retryMs: 100,
      onError: (e) => errors.push(e.message),
    });
    const [{ n }] = await writer.query(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
    );
    expect(n).toBe(1);
    await new Promise((r) => setTimeout(r, 1000)); // lost, then back after retryMs
    const notified = new Promise<void>((resolve) => (wake = resolve));
    await new PostgresEventStore(writer).store([guestObserved('notify-3', 'g3')]);
    await Promise.race([
      notified,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no notification within 10 s')), 10000)),
    ]);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    await stop();
  });

  it('does not notify for a rolled-back insert', async () => {
    let calls = 0;
    const stop = await listen(listener, EVENTS_CHANNEL, () => calls++);
    await new Promise((r) => setTimeout(r, 50));
    calls = 0;
    const qr = writer.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    await qr.query(`INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, occurred_at, source, data)
                    VALUES ('notify-rb', 's', 1, 'GuestObserved', 1, now(), 'x', '{}')`);
    await qr.rollbackTransaction();
    await qr.release();
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(0);
    await stop();
  });
});
