import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { Projector } from '@fleetcompat/projections';
import { envelope, SAMPLE_KERNELS, sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { ProjectorWatch } from './projector-watch';

jest.setTimeout(60000);

describe('ProjectorWatch on real Postgres: a transaction left open on the server', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;
  let projector: Projector;

  beforeAll(async () => {
    db = await createTestDatabase('watch');
    ds = await openDatabase({ url: db.url });
    store = new PostgresEventStore(ds);
    projector = new Projector(ds);
    await store.store(sampleFleet().map((event) => ({ event, origin: { channel: 'http' as const } })));
    await projector.catchUp();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('counts the events it holds back as waiting, says so, and the watch calls it stalled; its end lets the projector catch up', async () => {
    let now = 0;
    const watch = new ProjectorWatch(projector, 60, () => now);
    expect(await watch.sample()).toMatchObject({ behind: 0, heldBack: 0, stalled: false });

    // a careless session: a transaction that wrote (has an xid) and was left idle
    const careless = new Client({ connectionString: db.url, application_name: 'careless-script' });
    await careless.connect();
    try {
      await careless.query('BEGIN');
      const [{ since }] = (await careless.query('SELECT pg_current_xact_id(), now() AS since')).rows;
      const events = Array.from({ length: 5 }, (_, i) =>
        envelope(`watch-held-${i}`, 'GuestObserved', `2026-11-21T00:0${i}:00Z`, 'agent', {
          guestId: `held-${i}`,
          hostId: 'host-r1-01',
          mode: 'pvh',
          memoryMiB: 512,
          boot: { method: 'direct', kernelSha256: SAMPLE_KERNELS.linux61.sha },
        }),
      );
      await store.store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
      await projector.runOnce(); // nothing it may read: the events are behind the open transaction
      const held = await watch.sample();
      expect(held).toMatchObject({ behind: 5, heldBack: 5, stalled: false });
      // the oldest transaction on the server: this one, or an older one of another test sharing it
      expect(held.holder).toBeDefined();
      expect(Date.parse(held.holder!.since!)).toBeLessThanOrEqual(new Date(since).getTime());
      if (held.holder!.application === 'careless-script')
        expect(held.holder).toMatchObject({ state: 'idle in transaction', inThisDatabase: true });
      // another database's session (a test sharing the server) is not described beyond its pid
      if (!held.holder!.inThisDatabase) expect(held.holder!.application).toBeNull();
      now += 61_000;
      expect(await watch.sample()).toMatchObject({ behind: 5, heldBack: 5, stalled: true });
      await careless.query('COMMIT');
    } finally {
      await careless.end();
    }
    await projector.catchUp();
    expect(await watch.sample()).toMatchObject({ behind: 0, heldBack: 0, stalled: false });
  });
});
