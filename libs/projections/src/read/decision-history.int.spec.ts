import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readDecisionHistory } from './decision-history';

describe('readDecisionHistory (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('decision_history')));
  afterAll(() => f?.close());

  it('gives every decision of the guest in sequence order, each with the stored event it was made after', async () => {
    const history = await readDecisionHistory(f.ctx, 'g1');
    expect(history.map((d) => [d.sequence, d.kind, d.hostId, d.causedBy.eventId])).toEqual([
      [1, 'decided', 'h1', 'obs-g1'],
      [2, 'decided', 'h1', 'plan-h1'],
    ]);
    expect(history[1].cause).toMatchObject({
      eventId: 'plan-h1',
      type: 'HypervisorUpgradePlanned',
      streamId: 'host-h1',
      occurredAt: '2026-11-01T00:15:00.000Z',
    });
    expect(history[1].cause!.globalPosition).toBe(history[1].causedBy.globalPosition);
    expect(history[1].detail!.restedOn).toMatchObject({
      guest: 'obs-g1',
      host: 'reg-h1',
      upgrade: 'plan-h1',
      kernel: 'k-fixed',
    });
    expect(history[0].message).toMatchObject({ type: 'PlacementDecided', hypervisorVersion: '4.10.4' });
    expect(Number.isNaN(Date.parse(history[0].decidedAt))).toBe(false);
  });

  it('a guest two hosts report has the decisions of both views; a removed guest ends withdrawn; an unknown guest has none', async () => {
    expect(new Set((await readDecisionHistory(f.ctx, 'g-moving')).map((d) => d.hostId))).toEqual(new Set(['h1', 'h2']));
    const removed = await readDecisionHistory(f.ctx, 'g4');
    expect(removed[removed.length - 1]).toMatchObject({
      kind: 'withdrawn',
      detail: null,
      causedBy: { eventId: 'rm-g4' },
      cause: { eventId: 'rm-g4', type: 'GuestRemoved' },
    });
    expect(await readDecisionHistory(f.ctx, 'nobody')).toEqual([]);
  });
});
