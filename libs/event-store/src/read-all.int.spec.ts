import { DataSource, QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { appendEvents, dedupeByEventId, EventRow } from './append-events';
import { PostgresEventStore } from './postgres-event-store';
import { streamIdOf } from './stream-id';
import { guestObserved, openEventStoreDataSource, readUntil as readUntilVisible } from './testing';
import { Checkpoint, compareCheckpoints, START } from './types';
import { IncomingEvent } from '@fleetcompat/contract';

const row = (e: IncomingEvent): EventRow => ({
  eventId: e.event.eventId,
  streamId: streamIdOf(e.event),
  type: e.event.type,
  schemaVersion: 1,
  occurredAt: e.event.occurredAt,
  source: e.event.source,
  data: JSON.stringify(e.event.data),
  origin: JSON.stringify(e.origin),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Each test gets its own database: readers see every event in it, and an open transaction
 * anywhere on the server holds readers back (xmin is cluster-wide), so reads that must
 * return something poll for a while.
 */
describe('PostgresEventStore.readAll', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;

  beforeEach(async () => {
    db = await createTestDatabase('es_read_all');
    ds = await openEventStoreDataSource(db.url, 30);
    store = new PostgresEventStore(ds);
  });
  afterEach(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const readUntil = (after: Checkpoint, want: number, limit = 100, timeoutMs = 30000) =>
    readUntilVisible(store, after, want, limit, timeoutMs);

  async function openWriter(events: IncomingEvent[]): Promise<QueryRunner> {
    const q = ds.createQueryRunner();
    await q.connect();
    await q.startTransaction();
    await appendEvents(q, dedupeByEventId(events.map(row)));
    return q;
  }

  it('returns every event once, in (transaction_id, global_position) order, page by page', async () => {
    for (let b = 0; b < 10; b++) {
      await store.store(Array.from({ length: 10 }, (_, i) => guestObserved(`p-${b}-${i}`, `g${i % 3}`)));
    }
    const { seen, checkpoint } = await readUntil(START, 100, 7);
    expect(seen.map((e) => e.eventId)).toEqual(
      Array.from({ length: 10 }, (_, b) => Array.from({ length: 10 }, (_, i) => `p-${b}-${i}`)).flat(),
    );
    expect(checkpoint).toEqual({ transactionId: seen[99].transactionId, globalPosition: seen[99].globalPosition });
    expect(await store.head()).toEqual(checkpoint);
    const after = await store.readAll({ after: checkpoint, limit: 10 });
    expect(after).toEqual({ events: [], checkpoint });
    expect(await store.readAll({ limit: 5 }).then((r) => r.events.length)).toBe(5);
  });

  it('never skips an event committed late: a later commit is held back until the older transaction ends', async () => {
    // A appends and holds its transaction open
    const a = await openWriter([guestObserved('late-A', 'ga')]);
    // B appends later (higher global_position) and commits first
    await store.store([guestObserved('late-B', 'gb')]);

    const first = await store.readAll({ limit: 100 });
    expect(first.events.map((e) => e.eventId)).toEqual([]); // not B: A is older and still open
    expect(first.checkpoint).toEqual(START);
    const positions: { event_id: string; global_position: string }[] = await ds.query(
      `SELECT event_id, global_position::text AS global_position FROM events ORDER BY event_id`,
    );
    expect(positions.map((p) => p.event_id)).toEqual(['late-B']); // B is committed: a sequence reader would take it

    await a.commitTransaction();
    await a.release();

    const { seen } = await readUntil(first.checkpoint, 2);
    expect(seen.map((e) => e.eventId)).toEqual(['late-A', 'late-B']);
    expect(BigInt(seen[0].globalPosition)).toBeLessThan(BigInt(seen[1].globalPosition));
  });

  it('orders by transaction first: an older transaction that writes after a newer one commits is still read before it', async () => {
    const a = ds.createQueryRunner();
    await a.connect();
    await a.startTransaction();
    await a.query(`SELECT pg_current_xact_id()`); // A gets the older transaction id
    await store.store([guestObserved('xid-B', 'gb')]); // B: newer xid, lower global_position, commits
    expect((await store.readAll({ limit: 10 })).events).toEqual([]);
    await appendEvents(a, [row(guestObserved('xid-A', 'ga'))]);
    await a.commitTransaction();
    await a.release();

    const { seen } = await readUntil(START, 2);
    expect(seen.map((e) => e.eventId)).toEqual(['xid-A', 'xid-B']);
    expect(BigInt(seen[0].globalPosition)).toBeGreaterThan(BigInt(seen[1].globalPosition)); // a position-only reader would skip A
  });

  it('a rolled back transaction releases the readers and leaves no event', async () => {
    const a = await openWriter([guestObserved('rb-A', 'ga')]);
    await store.store([guestObserved('rb-B', 'gb')]);
    expect((await store.readAll({ limit: 10 })).events).toEqual([]);
    await a.rollbackTransaction();
    await a.release();
    const { seen } = await readUntil(START, 1);
    expect(seen.map((e) => e.eventId)).toEqual(['rb-B']);
    expect(await store.readStream('guest-ga')).toEqual([]);
  });

  it('reads inside the caller transaction when given its manager', async () => {
    await store.store([guestObserved('tx-1', 'g1'), guestObserved('tx-2', 'g2')]);
    await readUntil(START, 2);
    const inside = await ds.transaction(async (manager) => store.readAll({ limit: 10 }, manager));
    expect(inside.events.map((e) => e.eventId)).toEqual(['tx-1', 'tx-2']);
  });

  it('stress: with writers committing concurrently and out of order, a paging reader sees every event exactly once', async () => {
    const writers = 6;
    const batchesPerWriter = 25;
    let done = false;
    const expected = new Set<string>();

    const writer = async (w: number) => {
      for (let b = 0; b < batchesPerWriter; b++) {
        const size = 1 + Math.floor(Math.random() * 8);
        const events = Array.from({ length: size }, (_, i) => guestObserved(`st-${w}-${b}-${i}`, `g${(w + i) % 5}`));
        events.forEach((e) => expected.add(e.event.eventId));
        if (b % 3 === 0) {
          // hold the transaction open a little: commits land out of global_position order
          const q = await openWriter(events);
          await sleep(Math.random() * 30);
          await q.commitTransaction();
          await q.release();
        } else {
          // redeliver some earlier events too: they must not show up again
          const redelivered = b > 0 ? [guestObserved(`st-${w}-${b - 1}-0`, `g${w % 5}`)] : [];
          await store.store([...events, ...redelivered]);
        }
      }
    };

    const seen = new Map<string, number>();
    let last: Checkpoint = START;
    let order = true;
    const reader = async () => {
      let checkpoint: Checkpoint = START;
      for (;;) {
        const page = await store.readAll({ after: checkpoint, limit: 13 });
        for (const e of page.events) {
          seen.set(e.eventId, (seen.get(e.eventId) ?? 0) + 1);
          const cp = { transactionId: e.transactionId, globalPosition: e.globalPosition };
          if (compareCheckpoints(cp, last) <= 0) order = false;
          last = cp;
        }
        checkpoint = page.checkpoint;
        if (page.events.length === 0) {
          if (done && seen.size >= expected.size) return;
          await sleep(5);
        }
      }
    };

    const readerDone = reader();
    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
    done = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('reader did not catch up')), 60000);
    });
    await Promise.race([readerDone, timeout]).finally(() => clearTimeout(timer));

    expect(order).toBe(true);
    expect(seen.size).toBe(expected.size);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect([...expected].every((id) => seen.has(id))).toBe(true);
    expect(await store.count()).toBe(expected.size);
    for (let g = 0; g < 5; g++) {
      const stream = await store.readStream(`guest-g${g}`);
      expect(stream.map((e) => e.streamPosition)).toEqual(stream.map((_, i) => i + 1));
    }
  });
});
