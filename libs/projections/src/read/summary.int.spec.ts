import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readSummary } from './summary';

describe('readSummary (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('summary')));
  afterAll(() => f?.close());

  it('counts present guest views by status, per running version and target, per wave, and those losing the first GiB superpage', async () => {
    expect(await readSummary(f.ctx)).toEqual({
      guests: 6,
      byStatus: { 'awaiting-host': 1, 'needs-low-rsdp': 1, 'not-applicable': 1, ok: 1, 'unknown-kernel': 2 },
      byHypervisorVersion: [
        {
          version: '4.10.4',
          targetVersion: '4.17.3',
          hosts: 1,
          guests: 3,
          byStatus: { 'needs-low-rsdp': 1, ok: 1, 'unknown-kernel': 1 },
        },
        {
          version: '4.17.3',
          targetVersion: null,
          hosts: 1,
          guests: 2,
          byStatus: { 'not-applicable': 1, 'unknown-kernel': 1 },
        },
      ],
      byWave: [{ waveId: 'w1', hosts: 1, guests: 3, byStatus: { 'needs-low-rsdp': 1, ok: 1, 'unknown-kernel': 1 } }],
      lostFirstGiBSuperpage: 3,
    });
  });

  it('the superpage count is the decisions that say so', async () => {
    const [{ n }] = await f.ds.query(
      `SELECT count(*)::int AS n FROM projection.guests g JOIN projection.decisions d ON d.decision_id = g.decision_id
        WHERE g.present AND d.message::text LIKE '%first-gib-superpage-lost%'`,
    );
    expect((await readSummary(f.ctx)).lostFirstGiBSuperpage).toBe(n);
  });
});
