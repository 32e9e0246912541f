import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { encodeCursor, listGuests } from './guests';

describe('listGuests (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('guests')));
  afterAll(() => f?.close());
  const ids = (items: { guestId: string; hostId: string }[]) => items.map((g) => `${g.guestId}@${g.hostId}`);

  it('lists the present views in (guest, host) order, each with its decision; a removed guest is not listed', async () => {
    const page = await listGuests(f.ctx, { limit: 100 });
    expect(ids(page.items)).toEqual(['g-moving@h1', 'g-moving@h2', 'g1@h1', 'g2@h1', 'g3@h2', 'g5@h3']);
    expect(page.next).toBeNull();
    expect(page.items.find((g) => g.guestId === 'g1')!.decision!.message.decisionId).toBe(
      page.items.find((g) => g.guestId === 'g1')!.decisionId,
    );
    expect(page.items.find((g) => g.guestId === 'g5')!.decision).toBeNull();
  });

  it('filters by status, host and wave', async () => {
    expect(ids((await listGuests(f.ctx, { status: 'unknown-kernel', limit: 100 })).items)).toEqual([
      'g-moving@h1',
      'g-moving@h2',
    ]);
    expect(ids((await listGuests(f.ctx, { hostId: 'h2', limit: 100 })).items)).toEqual(['g-moving@h2', 'g3@h2']);
    expect(ids((await listGuests(f.ctx, { waveId: 'w1', limit: 100 })).items)).toEqual([
      'g-moving@h1',
      'g1@h1',
      'g2@h1',
    ]);
    expect((await listGuests(f.ctx, { waveId: 'w-none', limit: 100 })).items).toEqual([]);
  });

  it('pages with the cursor of the last view, also between two views of one guest; a bare guest id resumes after all its views', async () => {
    const first = await listGuests(f.ctx, { limit: 1 });
    expect(ids(first.items)).toEqual(['g-moving@h1']);
    expect(first.next).toBe(encodeCursor('g-moving', 'h1'));
    const second = await listGuests(f.ctx, { limit: 4, after: first.next! });
    expect(ids(second.items)).toEqual(['g-moving@h2', 'g1@h1', 'g2@h1', 'g3@h2']);
    const last = await listGuests(f.ctx, { limit: 4, after: second.next! });
    expect(ids(last.items)).toEqual(['g5@h3']);
    expect(last.next).toBeNull();
    expect(ids((await listGuests(f.ctx, { limit: 100, after: 'g-moving' })).items)[0]).toBe('g1@h1');
  });
});
