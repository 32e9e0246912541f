import { DataSource } from 'typeorm';
import { FleetEvent } from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { envelope } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { Projector } from './projector';
import { ProjectionQueries } from './queries';
import { compareProjections, rebuildProjections } from './rebuild';

/**
 * An event in the store that the projector cannot apply (written before the edge refused
 * such events, or around it) must not stop every decision behind it: it is set aside with
 * its reason, the rest go on, and a rebuild sets it aside alike.
 */
describe('the projector sets aside what it cannot apply', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('set_aside');
    ds = await openDatabase({ url: db.url });
    store = new PostgresEventStore(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const put = (...events: FleetEvent[]) =>
    store.store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
  /** Written around the edge's validation, as a store of an older release may hold it. */
  const raw = async (eventId: string, type: string, occurredAt: string, data: unknown) => {
    await ds.query(`INSERT INTO streams (stream_id, version) VALUES ($1, 1)`, [`raw-${eventId}`]);
    await ds.query(
      `INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, occurred_at, source, data, origin)
       VALUES ($1, $2, 1, $3, 1, $4, 'raw', $5, '{}')`,
      [eventId, `raw-${eventId}`, type, occurredAt, JSON.stringify(data)],
    );
  };
  const guest = (id: string, hostId: string, at: string) =>
    envelope(`obs-${id}`, 'GuestObserved', at, 'agent', {
      guestId: id,
      hostId,
      mode: 'pvh',
      memoryMiB: 2048,
      boot: { method: 'pvh-grub' },
    });

  it('sets aside bad data and an impossible time, decides the events behind them, and a rebuild equals the live projection', async () => {
    await put(
      envelope('reg-h1', 'HostRegistered', '2026-11-01T00:00:00Z', 'agent', {
        hostId: 'h1',
        hypervisor: { name: 'xen', version: '4.17.3' },
        rsdpOverrideSupported: true,
      }),
    );
    await raw('bad-data', 'GuestObserved', '2026-11-01T00:01:00Z', {
      guestId: 'g-bad',
      hostId: 'h1',
      mode: 'pvh',
      memoryMiB: 'lots',
      boot: { method: 'direct' },
    });
    await raw('bad-time', 'GuestObserved', '9999-12-31T23:59:59-15:00', {
      guestId: 'g-late',
      hostId: 'h1',
      mode: 'pvh',
      memoryMiB: 1024,
      boot: { method: 'direct' },
    });
    await raw('bad-type', 'GuestTeleported', '2026-11-01T00:02:00Z', { guestId: 'g1' });
    await put(guest('g1', 'h1', '2026-11-01T00:03:00Z'));

    const projector = new Projector(ds);
    await projector.catchUp();
    const queries = new ProjectionQueries(ds);
    expect((await queries.guest('g1'))!.guest.decision!.message).toMatchObject({
      action: 'override-low',
      hostId: 'h1',
    });
    expect(await queries.guest('g-bad')).toBeNull();
    expect(await queries.guest('g-late')).toBeNull();
    const aside = await queries.setAside();
    expect(aside.map((a) => [a.eventId, a.reason])).toEqual([
      ['bad-data', expect.stringContaining('invalid data: memoryMiB')],
      ['bad-time', expect.stringContaining('out of range')],
      ['bad-type', 'unknown event type GuestTeleported'],
    ]);
    expect(projector.setAsideEvents).toBe(3);

    const rebuilt = await rebuildProjections(ds, { schema: 'set_aside_rebuild' });
    expect(await compareProjections(ds, 'projection', rebuilt.schema)).toEqual([]);
  });

  it('sets aside an observation that would put a host past MAX_GUESTS_PER_HOST; a removal makes room again', async () => {
    await put(
      envelope('reg-h2', 'HostRegistered', '2026-11-01T00:00:00Z', 'agent', {
        hostId: 'h2',
        hypervisor: { name: 'xen', version: '4.17.3' },
        rsdpOverrideSupported: true,
      }),
    );
    await put(
      guest('c1', 'h2', '2026-11-02T00:00:01Z'),
      guest('c2', 'h2', '2026-11-02T00:00:02Z'),
      guest('c3', 'h2', '2026-11-02T00:00:03Z'),
    );
    const projector = new Projector(ds, { processor: 'projector', maxGuestsPerHost: 2 });
    await projector.catchUp();
    const queries = new ProjectionQueries(ds);
    expect((await queries.placements('h2')).map((p) => p.guestId)).toEqual(['c1', 'c2']);
    expect((await queries.setAside()).find((a) => a.eventId === 'obs-c3')?.reason).toContain(
      'limit-exceeded: host h2 already has 2 guests',
    );
    await put(
      envelope('rm-c1', 'GuestRemoved', '2026-11-02T00:00:04Z', 'agent', { guestId: 'c1', hostId: 'h2' }),
      guest('c4', 'h2', '2026-11-02T00:00:05Z'),
    );
    await projector.catchUp();
    expect((await queries.placements('h2')).map((p) => p.guestId)).toEqual(['c2', 'c4']);
  });
});
