import { envelope } from '@fleetcompat/sample-fleet';
import { readFixture, ReadFixture } from '../../test/read-fixture';
import { readSetAside } from './set-aside';

describe('readSetAside (real Postgres)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await readFixture('set_aside')));
  afterAll(() => f?.close());

  it('gives the events the projector could not apply, in store order, with the reason; limit caps the list', async () => {
    expect(await readSetAside(f.ctx)).toEqual([]);
    await f.ds.query(`INSERT INTO streams (stream_id, version) VALUES ('raw-1', 1), ('raw-2', 1)`);
    await f.ds.query(
      `INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, occurred_at, source, data, origin)
       VALUES ('bad-1', 'raw-1', 1, 'GuestTeleported', 1, '2026-11-01T00:00:00Z', 'raw', '{}', '{}'),
              ('bad-2', 'raw-2', 1, 'GuestObserved', 1, '2026-11-01T00:01:00Z', 'raw', '{"guestId":"g"}', '{}')`,
    );
    await f.put([
      envelope('reg-h1', 'HostRegistered', '2026-11-01T00:02:00Z', 'agent', {
        hostId: 'h1',
        hypervisor: { name: 'xen', version: '4.17.3' },
        rsdpOverrideSupported: true,
      }),
    ]);
    const aside = await readSetAside(f.ctx);
    expect(aside.map((a) => [a.eventId, a.type])).toEqual([
      ['bad-1', 'GuestTeleported'],
      ['bad-2', 'GuestObserved'],
    ]);
    expect(aside[0].reason).toContain('unknown event type');
    expect(aside[1].reason).toContain('invalid data');
    expect(Number(aside[0].globalPosition)).toBeLessThan(Number(aside[1].globalPosition));
    expect(Number.isNaN(Date.parse(aside[0].recordedAt))).toBe(false);
    expect((await readSetAside(f.ctx, 1)).map((a) => a.eventId)).toEqual(['bad-1']);
  });
});
