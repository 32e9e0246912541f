import { hostOf, parseRole, refusedEvents, roleKind } from './roles';

const ev = (type: string, data: object = {}, eventId = 'e1') => ({
  eventId,
  type,
  schemaVersion: 1,
  occurredAt: '2026-11-20T08:00:00Z',
  source: 't',
  data,
});

describe('roles', () => {
  it('parses the four kinds and rejects anything else', () => {
    expect(parseRole('planner')).toBe('planner');
    expect(parseRole('ci')).toBe('ci');
    expect(parseRole('admin')).toBe('admin');
    expect(parseRole('host:host-r1-01')).toBe('host:host-r1-01');
    expect(roleKind('host:h1')).toBe('host');
    expect(hostOf('host:h1')).toBe('h1');
    expect(hostOf('planner')).toBeNull();
    for (const bad of ['', 'root', 'host:', 'host:a b', 'Planner', 'host:' + 'x'.repeat(200)])
      expect(parseRole(bad)).toBeNull();
  });

  it('ci writes kernel builds only', () => {
    expect(refusedEvents('ci', [ev('KernelBuildCompleted'), ev('KernelBuildRevoked')])).toEqual([]);
    const r = refusedEvents('ci', [ev('KernelBuildCompleted'), ev('HostRegistered', { hostId: 'h1' }, 'e2')]);
    expect(r).toEqual([expect.objectContaining({ index: 1, eventId: 'e2', type: 'HostRegistered' })]);
    expect(refusedEvents('ci', [ev('HypervisorBehaviourDeclared')])).toHaveLength(1);
  });

  it('a host writes its own inventory and acks only', () => {
    const own = [
      ev('HostRegistered', { hostId: 'h1' }),
      ev('GuestObserved', { hostId: 'h1', guestId: 'g' }),
      ev('GuestRemoved', { hostId: 'h1', guestId: 'g' }),
      ev('PlacementApplied', { hostId: 'h1', guestId: 'g', decisionId: 'g#1' }),
    ];
    expect(refusedEvents('host:h1', own)).toEqual([]);
    expect(refusedEvents('host:h2', own)).toHaveLength(4);
    expect(refusedEvents('host:h1', [ev('GuestObserved', { hostId: 'h2', guestId: 'g' })])[0].reason).toMatch(
      /of host h1 only, not of h2/,
    );
    expect(refusedEvents('host:h1', [ev('HypervisorUpgradePlanned', { hostId: 'h1' })])).toHaveLength(1);
    expect(refusedEvents('host:h1', [ev('KernelBuildCompleted', {})])).toHaveLength(1);
  });

  it('planners write nothing; admins everything', () => {
    expect(refusedEvents('planner', [ev('GuestObserved', { hostId: 'h1' })])).toHaveLength(1);
    expect(
      refusedEvents('admin', [
        ev('HypervisorBehaviourDeclared'),
        ev('HypervisorUpgradePlanned', { hostId: 'h9' }),
        'junk',
      ]),
    ).toEqual([]);
  });

  it('leaves items without a type to validation (a 400, not a 403)', () => {
    expect(refusedEvents('ci', [42, null, { eventId: 'x' }])).toEqual([]);
  });
});
