import { Client } from 'pg';
import { DataSource, QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { loadCheckpoint, saveCheckpoint, withProcessorLock } from './checkpoints';
import { PostgresEventStore } from './postgres-event-store';
import { guestObserved, openEventStoreDataSource, readUntil } from './testing';
import { START } from './types';

describe('processor checkpoints and lock', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('es_checkpoints');
    ds = await openEventStoreDataSource(db.url);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  async function begin(): Promise<QueryRunner> {
    const q = ds.createQueryRunner();
    await q.connect();
    await q.startTransaction();
    return q;
  }

  it('loads START for a new processor, saves and reloads in the caller transaction, and a rollback saves nothing', async () => {
    expect(await loadCheckpoint('projector', ds.manager)).toEqual(START);

    const store = new PostgresEventStore(ds);
    await store.store([guestObserved('cp-1', 'g1'), guestObserved('cp-2', 'g2')]);
    // Reads stop below any transaction open on the server (another run's): poll for them.
    const page = await readUntil(store, START, 1, 1);
    await ds.transaction(async (m) => saveCheckpoint('projector', page.checkpoint, m));
    expect(await loadCheckpoint('projector', ds.manager)).toEqual(page.checkpoint);

    const rest = await readUntil(store, await loadCheckpoint('projector', ds.manager), 1, 10);
    expect(rest.seen.map((e) => e.eventId)).toEqual(['cp-2']);

    const q = await begin();
    await saveCheckpoint('projector', rest.checkpoint, q);
    expect(await loadCheckpoint('projector', q)).toEqual(rest.checkpoint);
    await q.rollbackTransaction();
    await q.release();
    expect(await loadCheckpoint('projector', ds.manager)).toEqual(page.checkpoint);
    expect(await loadCheckpoint('other', ds.manager)).toEqual(START);
  });

  it('one transaction at a time holds a processor lock; it is released at commit and at rollback', async () => {
    const a = await begin();
    const b = await begin();
    expect(await withProcessorLock('projector', a)).toBe(true);
    expect(await withProcessorLock('projector', a)).toBe(true); // re-entrant in the same transaction
    expect(await withProcessorLock('projector', b)).toBe(false);
    expect(await withProcessorLock('relay', b)).toBe(true); // other processors are independent
    await a.commitTransaction();
    expect(await withProcessorLock('projector', b)).toBe(true);
    await b.rollbackTransaction();

    await a.startTransaction();
    expect(await withProcessorLock('projector', a)).toBe(true);
    await a.rollbackTransaction();
    await a.release();
    await b.release();
  });

  it('a lock held by a connection that dies is released', async () => {
    const crashed = new Client({ connectionString: db.url });
    crashed.on('error', () => undefined);
    await crashed.connect();
    await crashed.query('BEGIN');
    const rows = { query: async <T>(sql: string, params?: unknown[]) => (await crashed.query(sql, params)).rows as T };
    expect(await withProcessorLock('crashy', rows)).toBe(true);
    const [{ pid }] = await rows.query<{ pid: number }[]>(`SELECT pg_backend_pid() AS pid`);

    await ds.transaction(async (m) => {
      expect(await withProcessorLock('crashy', m)).toBe(false);
    });
    await ds.query(`SELECT pg_terminate_backend($1)`, [pid]);
    await crashed.end().catch(() => undefined);
    await ds.transaction(async (m) => {
      expect(await withProcessorLock('crashy', m)).toBe(true);
    });
  });
});
