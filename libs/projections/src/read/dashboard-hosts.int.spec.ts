import { dashboardFleetFixture, ReadFixture } from '../../test/read-fixture';
import { encodeKey } from './cursor';
import { listDashboardHosts } from './dashboard-hosts';
import { readPlacements } from './placements';
import { readinessOf } from './readiness';

describe('listDashboardHosts (real Postgres, the dashboard fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await dashboardFleetFixture('dashboard_hosts')));
  afterAll(() => f?.close());
  const ids = (page: { items: { hostId: string }[] }) => page.items.map((h) => h.hostId);

  it('lists the hosts in id order, each with its planned upgrade and its readiness as GET /v1/hosts/{id} counts it; go and why not', async () => {
    const page = await listDashboardHosts(f.ctx, { limit: 50 });
    expect(ids(page)).toEqual(['h1', 'h2', 'h4']);
    expect([page.total, page.nextCursor]).toEqual([3, null]);
    for (const h of page.items) {
      const { pendingGuestIds, ...readiness } = readinessOf(await readPlacements(f.ctx, h.hostId));
      expect([h.hostId, h.readiness]).toEqual([h.hostId, readiness]);
      expect(h.go).toBe(readiness.ready);
      expect(pendingGuestIds.length).toBe(readiness.guests - readiness.acknowledged);
    }
    const [h1, h2, h4] = page.items;
    expect(h1).toMatchObject({
      registered: true,
      hypervisor: { version: '4.10.4', build: null },
      rsdpOverrideSupported: true,
      labels: { rack: 'r1' },
      plannedUpgrade: {
        toVersion: '4.17.3',
        toBuild: null,
        plannedRebootAt: '2026-12-01T02:00:00Z',
        waveId: 'w1',
        state: 'planned',
      },
      go: false,
      noGoReasons: ['3 decisions not acknowledged by the host'],
    });
    expect(h2).toMatchObject({
      plannedUpgrade: null,
      readiness: { guests: 3, blocked: 1, acknowledged: 0 },
      go: false,
      noGoReasons: ['1 guest blocked', '3 decisions not acknowledged by the host'],
    });
    expect(h4).toMatchObject({
      go: true,
      noGoReasons: [],
      readiness: { guests: 1, decided: 1, acknowledged: 1, blocked: 0, ready: true },
    });
  });

  it('filters by wave, labels and go / no-go (the total under the same filter)', async () => {
    expect(ids(await listDashboardHosts(f.ctx, { waveId: 'w1', limit: 50 }))).toEqual(['h1']);
    expect(ids(await listDashboardHosts(f.ctx, { labels: { rack: 'r1' }, limit: 50 }))).toEqual(['h1', 'h4']);
    expect(ids(await listDashboardHosts(f.ctx, { labels: { rack: 'r1' }, waveId: 'w2', limit: 50 }))).toEqual(['h4']);
    const go = await listDashboardHosts(f.ctx, { readiness: 'go', limit: 50 });
    expect([ids(go), go.total]).toEqual([['h4'], 1]);
    const noGo = await listDashboardHosts(f.ctx, { readiness: 'no-go', labels: { rack: 'r1' }, limit: 50 });
    expect([ids(noGo), noGo.total]).toEqual([['h1'], 1]);
    expect(await listDashboardHosts(f.ctx, { waveId: 'w-none', readiness: 'go', limit: 50 })).toEqual({
      items: [],
      nextCursor: null,
      total: 0,
    });
  });

  it('pages with the cursor of the last host, also under the go / no-go filter; a bare host id resumes after it', async () => {
    const first = await listDashboardHosts(f.ctx, { limit: 1 });
    expect([ids(first), first.nextCursor, first.total]).toEqual([['h1'], encodeKey(['h1']), 3]);
    const rest = await listDashboardHosts(f.ctx, { limit: 2, after: first.nextCursor! });
    expect([ids(rest), rest.nextCursor, rest.total]).toEqual([['h2', 'h4'], null, 3]);
    const noGo = await listDashboardHosts(f.ctx, { readiness: 'no-go', limit: 1 });
    expect(ids(noGo)).toEqual(['h1']);
    const noGo2 = await listDashboardHosts(f.ctx, { readiness: 'no-go', limit: 1, after: noGo.nextCursor! });
    expect([ids(noGo2), noGo2.nextCursor, noGo2.total]).toEqual([['h2'], null, 2]);
    expect(ids(await listDashboardHosts(f.ctx, { limit: 50, after: 'h2' }))).toEqual(['h4']);
  });
});
