import { gunzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { FleetEvent } from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { PlacementsReader, Projector, ProjectionQueries } from '@fleetcompat/projections';
import { envelope, sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { eventually } from '../../../test/support/apps';
import { PlacementsCache } from './placements-cache';
import { PlacementsWatch } from './placements-watch';

describe('PlacementsCache and the long-poll on real Postgres (LISTEN fleetcompat_projection)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;
  let projector: Projector;
  let cache: PlacementsCache;
  let watch: PlacementsWatch;
  const reader = () => new PlacementsReader(ds);
  /** The JSON text of a host's answer as a fresh reader reads it. */
  const bodyOf = async (hostId: string): Promise<string> =>
    gunzipSync((await reader().placements(hostId))!.gzip).toString();
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
    cache = new PlacementsCache(reader(), 1 << 20, ds);
    await cache.onModuleInit();
    watch = new PlacementsWatch(cache);
  });
  afterAll(async () => {
    watch?.onModuleDestroy();
    await cache?.onModuleDestroy();
    await ds?.destroy();
    await db?.drop();
  });

  it('the body is the projections placements answer plus remedy per placement and the withdrawn guests', async () => {
    for (const hostId of ['host-r1-01', 'host-r1-02', 'host-r2-01', 'host-r2-02']) {
      const mine = JSON.parse(await bodyOf(hostId));
      // the same guests, statuses, decisions and acknowledgements as the typed read (readPlacements)
      const rows = await new ProjectionQueries(ds).placements(hostId);
      expect(mine.hostId).toBe(hostId);
      expect(mine.placements.map(({ remedy: _r, ...p }: any) => p)).toEqual(
        rows.map((r) => ({
          guestId: r.guestId,
          status: r.status,
          decision: r.decision,
          acknowledged: r.decision !== null && r.acknowledgedDecisionId === r.decision.decisionId,
        })),
      );
      expect(mine.withdrawn).toEqual([]);
    }
    const blocked = JSON.parse(await bodyOf('host-r2-01')).placements.find((p: any) => p.status === 'blocked');
    expect(blocked.remedy.length).toBeGreaterThan(0);
  });

  it('answers from memory until a projector batch commits, then with the new decisions', async () => {
    const hostId = 'host-r2-01';
    const first = await cache.placementsJson(hostId);
    expect(
      JSON.parse(first!).placements.find((p: any) => p.guestId === `${hostId}.db-old-grub`).decision,
    ).toMatchObject({ hypervisorVersion: '4.17.3' });
    expect(await cache.placementsJson(hostId)).toBe(first);
    expect(cache.hits).toBe(1);

    await append(
      envelope('cache-cancel', 'HypervisorUpgradeCancelled', '2026-11-22T00:00:00Z', 'orchestrator', {
        hostId,
        reason: 'freeze',
      }),
    );
    const fresh = await bodyOf(hostId);
    expect(fresh).not.toBe(first);
    // the commit's notification reaches the cache's own connection shortly after the commit
    await eventually('the cache drops the old answer', async () =>
      (await cache.placementsJson(hostId)) === fresh ? true : undefined,
    );
    expect(
      JSON.parse((await cache.placementsJson(hostId))!).placements.find(
        (p: any) => p.guestId === `${hostId}.db-old-grub`,
      ).decision,
    ).toMatchObject({
      hypervisorVersion: '4.10.4',
    });
  });

  it('the tag moves with the body and only with it: a batch for another host leaves it, an ack or a removal moves it', async () => {
    const hostId = 'host-r1-01';
    const t0 = (await reader().placements(hostId))!.etag;
    expect(t0).toMatch(/^W\/"p3-[0-9a-f]{32}"$/);
    expect((await reader().etags([hostId, 'nobody'])).get(hostId)).toBe(t0);
    await append(
      envelope('tag-other-host', 'HypervisorUpgradeCancelled', '2026-11-22T00:01:00Z', 'orchestrator', {
        hostId: 'host-r2-02',
      }),
    );
    expect((await reader().placements(hostId))!.etag).toBe(t0);

    const body = JSON.parse(await bodyOf(hostId));
    const p = body.placements[0];
    await append(
      envelope('tag-ack', 'PlacementApplied', '2026-11-22T00:02:00Z', `host-agent/${hostId}`, {
        hostId,
        guestId: p.guestId,
        decisionId: p.decision.decisionId,
      }),
    );
    const t1 = (await reader().placements(hostId))!;
    expect(t1.etag).not.toBe(t0);
    expect(JSON.parse(gunzipSync(t1.gzip).toString()).placements[0].acknowledged).toBe(true);

    await append(
      envelope('tag-remove', 'GuestRemoved', '2026-11-22T00:03:00Z', `host-agent/${hostId}`, {
        hostId,
        guestId: p.guestId,
      }),
    );
    const t2 = (await reader().placements(hostId))!;
    expect(t2.etag).not.toBe(t1.etag);
    const after = JSON.parse(gunzipSync(t2.gzip).toString());
    expect(after.placements.map((x: any) => x.guestId)).not.toContain(p.guestId);
    expect(after.withdrawn).toEqual([{ guestId: p.guestId, sequence: p.decision.sequence + 1 }]);
  });

  it('a batch drops the answers of the hosts it changed only; a notification naming no host (a rebuild) drops them all', async () => {
    const [mine, other] = ['host-r1-01', 'host-r2-02'];
    await cache.placements(mine);
    const old = (await cache.placementsJson(other))!;
    const generation = cache.generation;
    const p = JSON.parse(old).placements.find((x: any) => !x.acknowledged);
    await append(
      envelope('drop-other', 'PlacementApplied', '2026-11-22T00:06:00Z', `host-agent/${other}`, {
        hostId: other,
        guestId: p.guestId,
        decisionId: p.decision.decisionId,
      }),
    );
    await eventually('the batch notified', async () => cache.generation > generation);
    const hits = cache.hits;
    await cache.placements(mine);
    expect(cache.hits).toBe(hits + 1); // still kept
    const fresh = (await cache.placementsJson(other))!;
    expect(cache.hits).toBe(hits + 1); // read again
    expect(fresh).toBe(await bodyOf(other));
    expect(fresh).not.toBe(old);

    const g2 = cache.generation;
    await ds.query(`SELECT pg_notify('fleetcompat_projection', '')`);
    await eventually('the empty notification', async () => cache.generation > g2);
    await cache.placements(mine);
    expect(cache.hits).toBe(hits + 1); // dropped
  });

  it('a long-poll waits while nothing changes for its host and wakes when a batch changes it', async () => {
    const hostId = 'host-r1-02';
    const generation = cache.generation;
    const { etag } = (await cache.placements(hostId))!;
    let woke = false;
    const waiting = watch.wait(hostId, etag, 20000, generation).then((changed) => ((woke = true), changed));
    // another host's batch: its notification names that host only, so this host is not even checked
    const checks = watch.checks;
    const before = cache.generation;
    await append(
      envelope('poll-other', 'HypervisorUpgradeCancelled', '2026-11-22T00:04:00Z', 'orchestrator', {
        hostId: 'host-r2-01',
      }),
    );
    await eventually('the other host batch notified', async () => cache.generation > before);
    await new Promise((r) => setTimeout(r, 300));
    expect(woke).toBe(false);
    expect(watch.checks).toBe(checks);
    const t = Date.now();
    await append(
      envelope('poll-mine', 'HypervisorUpgradeCancelled', '2026-11-22T00:05:00Z', 'orchestrator', { hostId }),
    );
    expect(await waiting).toBe(true);
    expect(Date.now() - t).toBeLessThan(5000);
    expect((await cache.placements(hostId))!.etag).not.toBe(etag);
  });
});
