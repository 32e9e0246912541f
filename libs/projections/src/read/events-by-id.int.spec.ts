import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readEventRefs } from './events-by-id';

describe('readEventRefs (real Postgres, the small fleet stored)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('events_by_id')));
  afterAll(() => f?.close());

  it('names each stored event of the ids: type, stream, times and position; ids not stored are missing', async () => {
    const refs = await readEventRefs(f.ds, ['obs-g1', 'reg-h1', 'not-stored']);
    expect([...refs.keys()].sort()).toEqual(['obs-g1', 'reg-h1']);
    expect(refs.get('obs-g1')).toEqual({
      eventId: 'obs-g1',
      type: 'GuestObserved',
      streamId: 'guest-g1',
      occurredAt: '2026-11-01T00:07:00.000Z',
      recordedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      globalPosition: expect.stringMatching(/^\d+$/),
    });
    expect(refs.get('reg-h1')).toMatchObject({
      type: 'HostRegistered',
      streamId: 'host-h1',
      occurredAt: '2026-11-01T00:05:00.000Z',
    });
    expect(Number(refs.get('reg-h1')!.globalPosition)).toBeLessThan(Number(refs.get('obs-g1')!.globalPosition));
    expect(await readEventRefs(f.ds, [])).toEqual(new Map());
  });
});
