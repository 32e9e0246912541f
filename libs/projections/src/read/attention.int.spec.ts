import { dashboardFleetFixture, IMAGES, ReadFixture } from '../../test/read-fixture';
import { listAttention } from './attention';
import { encodeKey } from './cursor';

describe('listAttention (real Postgres, the dashboard fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await dashboardFleetFixture('attention')));
  afterAll(() => f?.close());
  const ids = (page: { items: { guestId: string; hostId: string }[] }) =>
    page.items.map((g) => `${g.guestId}@${g.hostId}`);

  it('lists the blocked guests, the overridden ones and those of unknown kernels (guest, host order), each with its reason, remedy and kernel', async () => {
    const page = await listAttention(f.ctx, { limit: 50 });
    expect(ids(page)).toEqual(['g-moving@h1', 'g-moving@h2', 'g6@h1', 'g7@h2']);
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((i) => i.kinds)).toEqual([['unknown-kernel'], ['unknown-kernel'], ['override'], ['blocked']]);
    const g7 = page.items[3];
    expect(g7).toMatchObject({
      status: 'blocked',
      action: 'blocked',
      reason: 'high-rsdp-without-override',
      rsdp: 'high',
      hypervisorVersion: '4.17.3',
      kernel: { sha256: IMAGES.old, release: '5.10.0-old', distro: 'debian-12' },
      waveId: null,
      labels: { rack: 'r2' },
    });
    expect(g7.remedy.length).toBeGreaterThan(0);
    expect(g7.explanation.length).toBeGreaterThan(0);
    const [{ decision_id }] = await f.ds.query(
      `SELECT decision_id FROM projection.guests WHERE guest_id = 'g7' AND host_id = 'h2'`,
    );
    expect(g7.decisionId).toBe(decision_id);
    expect(page.items[2]).toMatchObject({
      guestId: 'g6',
      action: 'override-low',
      reason: 'override-low-required',
      waveId: 'w1',
    });
    expect(page.items[0]).toMatchObject({
      status: 'unknown-kernel',
      needReason: 'kernel-unknown',
      kernel: { release: '6.1.0-revoked' },
    });
  });

  it('filters by kind, reason, wave, host and labels', async () => {
    expect(ids(await listAttention(f.ctx, { kind: 'blocked', limit: 50 }))).toEqual(['g7@h2']);
    expect(ids(await listAttention(f.ctx, { kind: 'override', limit: 50 }))).toEqual(['g6@h1']);
    expect(ids(await listAttention(f.ctx, { kind: 'unknown-kernel', limit: 50 }))).toEqual([
      'g-moving@h1',
      'g-moving@h2',
    ]);
    expect(ids(await listAttention(f.ctx, { reason: 'override-low-required', limit: 50 }))).toEqual(['g6@h1']);
    expect(ids(await listAttention(f.ctx, { waveId: 'w1', limit: 50 }))).toEqual(['g-moving@h1', 'g6@h1']);
    expect(ids(await listAttention(f.ctx, { hostId: 'h2', limit: 50 }))).toEqual(['g-moving@h2', 'g7@h2']);
    expect(ids(await listAttention(f.ctx, { labels: { rack: 'r2' }, kind: 'blocked', limit: 50 }))).toEqual(['g7@h2']);
    expect(ids(await listAttention(f.ctx, { labels: { rack: 'r1' }, kind: 'blocked', limit: 50 }))).toEqual([]);
  });

  it('pages with the cursor of the last (guest, host), also between two hosts of one guest; a cursor not of ours starts at the first', async () => {
    const first = await listAttention(f.ctx, { limit: 1 });
    expect([ids(first), first.nextCursor]).toEqual([['g-moving@h1'], encodeKey(['g-moving', 'h1'])]);
    const second = await listAttention(f.ctx, { limit: 2, after: first.nextCursor! });
    expect(ids(second)).toEqual(['g-moving@h2', 'g6@h1']);
    const last = await listAttention(f.ctx, { limit: 2, after: second.nextCursor! });
    expect([ids(last), last.nextCursor]).toEqual([['g7@h2'], null]);
    expect(ids(await listAttention(f.ctx, { limit: 1, after: 'g6' }))).toEqual(['g-moving@h1']);
  });
});
