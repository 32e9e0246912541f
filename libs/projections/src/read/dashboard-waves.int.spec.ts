import { envelope } from '@fleetcompat/sample-fleet';
import { dashboardFleetFixture, ReadFixture } from '../../test/read-fixture';
import { readWaves } from './dashboard-waves';
import { readinessOf } from './readiness';
import { readPlacements } from './placements';

describe('readWaves (real Postgres, the dashboard fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await dashboardFleetFixture('dashboard_waves')));
  afterAll(() => f?.close());

  it('per wave: its hosts readiness as GET /v1/hosts/{id} counts it, go when every host is, the target and the planned reboot', async () => {
    const waves = await readWaves(f.ctx);
    expect(waves.map((w) => w.waveId)).toEqual(['w1', 'w2']);
    const h1 = readinessOf(await readPlacements(f.ctx, 'h1'));
    expect(waves[0]).toEqual({
      waveId: 'w1',
      hosts: 1,
      hostsReady: 0,
      hostsBlocked: 0,
      hostsStarted: 0,
      guests: h1.guests,
      decided: h1.decided,
      acknowledged: h1.acknowledged,
      blocked: h1.blocked,
      go: false,
      targets: [{ version: '4.17.3', hosts: 1 }],
      reboots: [{ at: '2026-12-01T02:00:00.000Z', hosts: 1, hostsReady: 0 }],
      firstRebootAt: '2026-12-01T02:00:00.000Z',
      lastRebootAt: '2026-12-01T02:00:00.000Z',
    });
    expect(h1).toMatchObject({ guests: 4, decided: 4, acknowledged: 1, blocked: 0 });
    expect(waves[1]).toMatchObject({
      waveId: 'w2',
      hosts: 1,
      hostsReady: 1,
      guests: 1,
      acknowledged: 1,
      go: true,
      targets: [{ version: '4.19.1', hosts: 1 }],
    });
  });

  it('a wave of several hosts: reboots earliest first, targets in version order, blocked and started hosts counted', async () => {
    await f.put([
      envelope('plan-h2', 'HypervisorUpgradePlanned', '2026-11-01T01:00:00Z', 'orchestrator', {
        hostId: 'h2',
        fromVersion: '4.17.3',
        toVersion: '4.19.10',
        plannedRebootAt: '2026-12-02T01:00:00Z',
        waveId: 'w2',
      }),
      envelope('start-h4', 'HypervisorUpgradeStarted', '2026-11-01T01:01:00Z', 'orchestrator', { hostId: 'h4' }),
    ]);
    const w2 = (await readWaves(f.ctx)).find((w) => w.waveId === 'w2')!;
    expect(w2).toMatchObject({ hosts: 2, hostsReady: 1, hostsBlocked: 1, hostsStarted: 1, blocked: 1, go: false });
    expect(w2.targets).toEqual([
      { version: '4.19.1', hosts: 1 },
      { version: '4.19.10', hosts: 1 },
    ]);
    expect(w2.reboots).toEqual([
      { at: '2026-12-02T01:00:00.000Z', hosts: 1, hostsReady: 0 },
      { at: '2026-12-02T03:00:00.000Z', hosts: 1, hostsReady: 1 },
    ]);
    expect([w2.firstRebootAt, w2.lastRebootAt]).toEqual(['2026-12-02T01:00:00.000Z', '2026-12-02T03:00:00.000Z']);
  });
});
