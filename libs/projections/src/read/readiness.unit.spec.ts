import { PlacementDecided } from '@fleetcompat/contract';
import { HostPlacement } from './placements';
import { isReady, noGoReasons, readinessOf } from './readiness';

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

describe('isReady and noGoReasons', () => {
  it('go needs guests, every one acknowledged, none blocked; readinessOf decides by it', () => {
    expect(isReady({ guests: 2, acknowledged: 2, blocked: 0 })).toBe(true);
    expect(isReady({ guests: 0, acknowledged: 0, blocked: 0 })).toBe(false);
    expect(isReady({ guests: 2, acknowledged: 1, blocked: 0 })).toBe(false);
    expect(isReady({ guests: 2, acknowledged: 2, blocked: 1 })).toBe(false);
    const r = readinessOf([row('a', 'ok', true), row('b', 'blocked', true)]);
    expect(r.ready).toBe(isReady(r));
  });

  it('says in words why a host is no-go, and nothing when it is go', () => {
    expect(noGoReasons({ guests: 3, decided: 3, acknowledged: 3, blocked: 0, ready: true }, true)).toEqual([]);
    expect(noGoReasons({ guests: 0, decided: 0, acknowledged: 0, blocked: 0, ready: false }, false)).toEqual([
      'the host has not registered',
      'no guests reported',
    ]);
    expect(noGoReasons({ guests: 5, decided: 4, acknowledged: 1, blocked: 1, ready: false }, true)).toEqual([
      '1 guest blocked',
      '1 guest not decided',
      '3 decisions not acknowledged by the host',
    ]);
    expect(noGoReasons({ guests: 4, decided: 2, acknowledged: 1, blocked: 2, ready: false }, true)).toEqual([
      '2 guests blocked',
      '2 guests not decided',
      '1 decision not acknowledged by the host',
    ]);
  });
});
