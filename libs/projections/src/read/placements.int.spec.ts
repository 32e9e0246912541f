import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readPlacements } from './placements';
import { readinessOf } from './readiness';

describe('readPlacements (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('placements')));
  afterAll(() => f?.close());

  it('gives each present guest of the host in guest id order with its decision and the acknowledged decision', async () => {
    const rows = await readPlacements(f.ctx, 'h1');
    expect(rows.map((r) => [r.guestId, r.status])).toEqual([
      ['g-moving', 'unknown-kernel'],
      ['g1', 'ok'],
      ['g2', 'needs-low-rsdp'],
    ]);
    expect(rows.every((r) => r.decision?.hostId === 'h1' && r.decision.hypervisorVersion === '4.17.3')).toBe(true);
    expect(rows.find((r) => r.guestId === 'g1')!.acknowledgedDecisionId).toBe(
      rows.find((r) => r.guestId === 'g1')!.decision!.decisionId,
    );
    expect(rows.filter((r) => r.acknowledgedDecisionId !== null).map((r) => r.guestId)).toEqual(['g1']);
    // what the readiness of the host is made of
    expect(readinessOf(rows)).toEqual({
      guests: 3,
      decided: 3,
      acknowledged: 1,
      blocked: 0,
      ready: false,
      pendingGuestIds: ['g-moving', 'g2'],
    });
  });

  it('leaves out removed guests; an unknown host has none', async () => {
    expect((await readPlacements(f.ctx, 'h2')).map((r) => r.guestId)).toEqual(['g-moving', 'g3']);
    expect(await readPlacements(f.ctx, 'nobody')).toEqual([]);
  });
});
