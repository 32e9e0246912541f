import { DataSource } from 'typeorm';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { compareProjections, rebuildProjections } from './rebuild';
import { Projector } from './projector';

/**
 * Every decision is queued once, each guest's in sequence order (1, 2, 3, ...), and the
 * projection is the one a rebuild from the store makes.
 */
async function expectQueuedInSequenceAndAsRebuilt(ds: DataSource): Promise<void> {
  const messages: { guestId: string; sequence: number }[] = (
    await ds.query(`SELECT value FROM outbox_messages ORDER BY id`)
  ).map((r: { value: { guestId: string; sequence: number } }) => r.value);
  const decided = (await ds.query(`SELECT count(*)::int AS n FROM projection.decisions`))[0].n;
  expect(messages.length).toBe(decided);
  const last = new Map<string, number>();
  for (const m of messages) {
    expect(m.sequence).toBe((last.get(m.guestId) ?? 0) + 1);
    last.set(m.guestId, m.sequence);
  }
  await rebuildProjections(ds, { schema: 'projection_rebuild' });
  expect(await compareProjections(ds, 'projection', 'projection_rebuild')).toEqual([]);
}

describe('projector batches bounded by their decisions', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('projector_batches');
    ds = await openDatabase({ url: db.url });
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('a batch ends after the event that reaches maxDecisionsPerBatch; the next reads on, and the projection is the same', async () => {
    const events = sampleFleet();
    await new PostgresEventStore(ds).store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
    const batches: { events: number; decisions: number }[] = [];
    const projector = new Projector(ds, {
      batchSize: 1000,
      maxDecisionsPerBatch: 3,
      listen: false,
      onCommitted: (r) => r.events && batches.push({ events: r.events, decisions: r.decisions }),
    });
    await projector.catchUp();
    expect(batches.reduce((n, b) => n + b.events, 0)).toBe(events.length);
    expect(batches.length).toBeGreaterThan(1);
    // every batch but the last stopped at the event that reached the bound
    for (const b of batches.slice(0, -1)) expect(b.decisions).toBeGreaterThanOrEqual(3);

    await expectQueuedInSequenceAndAsRebuilt(ds);
  });

  it('the events a bounded batch left unapplied are applied once, also when instances take turns and events arrive between batches', async () => {
    const db2 = await createTestDatabase('projector_batches_turns');
    const ds = await openDatabase({ url: db2.url });
    try {
      const store = new PostgresEventStore(ds);
      const events = sampleFleet();
      const half = Math.floor(events.length / 2);
      await store.store(events.slice(0, half).map((event) => ({ event, origin: { channel: 'http' as const } })));
      let applied = 0;
      const instance = () =>
        new Projector(ds, {
          batchSize: 50,
          maxDecisionsPerBatch: 4,
          listen: false,
          onCommitted: (r) => (applied += r.events),
        });
      const [a, b] = [instance(), instance()];
      // a runs two batches (the second from its leftover), b one (it cannot use a's leftover), then a again
      let rest = events.slice(half);
      for (let turn = 0; ; turn++) {
        const r = await (turn % 3 === 2 ? b : a).runOnce();
        if (rest.length) {
          await store.store(rest.slice(0, 7).map((event) => ({ event, origin: { channel: 'http' as const } })));
          rest = rest.slice(7);
        } else if (r.events === 0) break;
      }
      expect(applied).toBe(events.length);
      await expectQueuedInSequenceAndAsRebuilt(ds);
    } finally {
      await ds.destroy();
      await db2.drop();
    }
  });
});
