import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readPlacements } from './placements';
import { readPlacementsJson } from './placements-json';

describe('readPlacementsJson (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('placements_json')));
  afterAll(() => f?.close());

  it('gives the body a host reads before it reboots: the target version, the same guests and decisions as readPlacements', async () => {
    const body = JSON.parse((await readPlacementsJson(f.ctx, 'h1'))!);
    expect(body).toMatchObject({ hostId: 'h1', hypervisorVersion: '4.17.3' });
    const rows = await readPlacements(f.ctx, 'h1');
    expect(body.placements).toEqual(
      rows.map((r) => ({
        guestId: r.guestId,
        status: r.status,
        decision: r.decision,
        acknowledged: r.acknowledgedDecisionId === r.decision?.decisionId,
      })),
    );
    expect(
      body.placements
        .filter((p: { acknowledged: boolean }) => p.acknowledged)
        .map((p: { guestId: string }) => p.guestId),
    ).toEqual(['g1']);
  });

  it('a host without a plan reads its running version; an unregistered or unknown host gives null', async () => {
    expect(JSON.parse((await readPlacementsJson(f.ctx, 'h2'))!)).toMatchObject({
      hostId: 'h2',
      hypervisorVersion: '4.17.3',
    });
    expect(await readPlacementsJson(f.ctx, 'h3')).toBeNull();
    expect(await readPlacementsJson(f.ctx, 'nobody')).toBeNull();
  });
});
