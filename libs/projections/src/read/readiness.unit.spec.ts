import { PlacementDecided } from '@fleetcompat/contract';
import { HostPlacement } from './placements';
import { readinessOf } from './readiness';

const decided = (guestId: string): PlacementDecided => ({
  type: 'PlacementDecided',
  decisionId: `${guestId}#1`,
  hostId: 'h1',
  guestId,
  sequence: 1,
  hypervisorVersion: '4.17.3',
  rsdp: 'low',
  action: 'none',
  reason: 'toolstack-places-low',
  costs: [],
  policyVersion: '2',
  decidedAt: '2026-11-01T00:00:00Z',
});
const row = (
  guestId: string,
  status: string,
  acked: boolean,
  decision: PlacementDecided | null = decided(guestId),
): HostPlacement => ({
  guestId,
  status,
  decision,
  acknowledgedDecisionId: acked && decision ? decision.decisionId : null,
});

describe('readinessOf', () => {
  it('is ready when every guest is decided and acknowledged and none is blocked', () => {
    expect(readinessOf([row('a', 'ok', true), row('b', 'needs-low-rsdp', true)])).toEqual({
      guests: 2,
      decided: 2,
      acknowledged: 2,
      blocked: 0,
      ready: true,
      pendingGuestIds: [],
    });
  });

  it('is not ready with a guest undecided, unacknowledged, acknowledged for an older decision, or blocked', () => {
    const older = { ...row('c', 'ok', false), acknowledgedDecisionId: 'c#0' };
    expect(readinessOf([row('a', 'ok', false), row('b', 'awaiting-host', false, null), older])).toMatchObject({
      decided: 2,
      acknowledged: 0,
      ready: false,
      pendingGuestIds: ['a', 'b', 'c'],
    });
    expect(readinessOf([row('a', 'blocked', true)])).toMatchObject({ acknowledged: 1, blocked: 1, ready: false });
  });

  it('a host without guests is not ready, and at most 1000 pending ids are listed', () => {
    expect(readinessOf([]).ready).toBe(false);
    expect(readinessOf(Array.from({ length: 1200 }, (_, i) => row(`g${i}`, 'ok', false))).pendingGuestIds).toHaveLength(
      1000,
    );
  });
});
