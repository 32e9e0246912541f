import { dashboardFleetFixture, ReadFixture } from '../../test/read-fixture';
import { readPlanTotals } from './plan-totals';

describe('readPlanTotals (real Postgres, the dashboard fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await dashboardFleetFixture('plan_totals')));
  afterAll(() => f?.close());

  it("counts the selected hosts' present guests by their current decision's outcome, and the versions they are decided for", async () => {
    const plan = await readPlanTotals(f.ctx, { ids: ['h1', 'h2', 'h4', 'nope'] });
    expect(plan.totals).toEqual({
      hosts: 3,
      guests: 8,
      fine: 5,
      overrideLow: 1,
      blocked: 1,
      notApplicable: 1,
      undecided: 0,
      lostFirstGiBSuperpage: 4,
      unknownKernel: 2,
      byReason: {
        'high-rsdp-without-override': 1,
        'toolstack-places-low': 3,
        'override-low-required': 1,
        'guest-not-pvh': 1,
        'kernel-handles-high-rsdp': 2,
      },
      byStatus: { blocked: 1, 'needs-low-rsdp': 2, 'not-applicable': 1, ok: 2, 'unknown-kernel': 2 },
    });
    // h1 is decided for its planned 4.17.3, h2 runs it, h4 is planned to 4.19.1
    expect(plan.decidedFor).toEqual([
      { version: '4.17.3', hosts: 2 },
      { version: '4.19.1', hosts: 1 },
    ]);
    expect([plan.unknownHostIds, plan.unregisteredHostIds]).toEqual([['nope'], []]);
  });

  it('selects by wave and labels (all must match); a host never registered is unknown, its guests not counted', async () => {
    expect((await readPlanTotals(f.ctx, { waveId: 'w1' })).totals).toMatchObject({
      hosts: 1,
      guests: 4,
      fine: 3,
      overrideLow: 1,
      blocked: 0,
    });
    const r1 = await readPlanTotals(f.ctx, { labels: { rack: 'r1' }, waveId: 'w2' });
    expect(r1.totals).toMatchObject({ hosts: 1, guests: 1, fine: 1, byReason: { 'kernel-handles-high-rsdp': 1 } });
    expect(r1.decidedFor).toEqual([{ version: '4.19.1', hosts: 1 }]);
    const h3 = await readPlanTotals(f.ctx, { ids: ['h3'] });
    expect(h3.totals).toMatchObject({ hosts: 0, guests: 0 });
    expect([h3.unknownHostIds, h3.decidedFor]).toEqual([['h3'], []]);
  });
});
