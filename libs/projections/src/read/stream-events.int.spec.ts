import { hostStreamId } from '@fleetcompat/event-store';
import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readStreamPage } from './stream-events';

describe('readStreamPage (real Postgres, the small fleet stored)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('stream_events')));
  afterAll(() => f?.close());

  it("pages through a host's stream in stream order, with each event's source and data", async () => {
    const first = await readStreamPage(f.ds, hostStreamId('h1'), 0, 2);
    expect(first.items.map((e) => [e.position, e.eventId, e.type])).toEqual([
      [1, 'reg-h1', 'HostRegistered'],
      [2, 'plan-h1', 'HypervisorUpgradePlanned'],
    ]);
    expect(first.items[0]).toMatchObject({
      streamId: 'host-h1',
      source: 'agent',
      data: { hostId: 'h1', labels: { rack: 'r1' } },
      occurredAt: '2026-11-01T00:05:00.000Z',
    });
    expect(first.next).toBe(2);
    const rest = await readStreamPage(f.ds, hostStreamId('h1'), first.next!, 10);
    expect(rest.items.map((e) => [e.position, e.eventId, e.type])).toEqual([[3, 'ack-g1', 'PlacementApplied']]);
    expect(rest.next).toBeNull();
  });

  it('an exact page has no next; an unknown stream is empty', async () => {
    expect((await readStreamPage(f.ds, hostStreamId('h2'), 0, 1)).next).toBeNull();
    expect(await readStreamPage(f.ds, hostStreamId('nobody'), 0, 10)).toEqual({ items: [], next: null });
  });
});
