import { DataSource } from 'typeorm';
import { FleetEvent } from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { Projector, ProjectionQueries } from '@fleetcompat/projections';
import { envelope, sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { eventually } from '../../../test/support/apps';
import { PlacementsCache } from './placements-cache';

describe('PlacementsCache on real Postgres (LISTEN fleetcompat_projection)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;
  let projector: Projector;
  let cache: PlacementsCache;
  const queries = () => new ProjectionQueries(ds);
  const append = async (...events: FleetEvent[]) => {
    await store.store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
    await projector.catchUp();
  };

  beforeAll(async () => {
    db = await createTestDatabase('placements_cache');
    ds = await openDatabase({ url: db.url, poolSize: 4 });
    store = new PostgresEventStore(ds);
    projector = new Projector(ds, { listen: false });
    await append(...sampleFleet());
    cache = new PlacementsCache(queries(), 1 << 20, ds);
    await cache.onModuleInit();
  });
  afterAll(async () => {
    await cache?.onModuleDestroy();
    await ds?.destroy();
    await db?.drop();
  });

  it('answers from memory until a projector batch commits, then with the new decisions', async () => {
    const hostId = 'host-r2-01';
    const first = await cache.placementsJson(hostId);
    expect(JSON.parse(first!).placements.find((p: any) => p.guestId === `${hostId}.db-old-grub`).decision).toMatchObject({ hypervisorVersion: '4.17.3' });
    expect(await cache.placementsJson(hostId)).toBe(first);
    expect(cache.hits).toBe(1);

    await append(envelope('cache-cancel', 'HypervisorUpgradeCancelled', '2026-11-22T00:00:00Z', 'orchestrator', { hostId, reason: 'freeze' }));
    const fresh = await queries().placementsJson(hostId);
    expect(fresh).not.toBe(first);
    // the commit's notification reaches the cache's own connection shortly after the commit
    await eventually('the cache drops the old answer', async () => ((await cache.placementsJson(hostId)) === fresh ? true : undefined));
    expect(JSON.parse((await cache.placementsJson(hostId))!).placements.find((p: any) => p.guestId === `${hostId}.db-old-grub`).decision).toMatchObject({
      hypervisorVersion: '4.10.4',
    });
  });
});
