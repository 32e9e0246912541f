import { evolve } from './evolve';
import { ev, NEW_LINUX, OLD_LINUX, project, sha } from './testing';
import { deriveHost } from './hosts';
import { WorkingSet } from '../working-set';

const registered = (
  at: number,
  version: string,
  extra: { override?: boolean; labels?: Record<string, string>; build?: string } = {},
) =>
  ev('HostRegistered', at, {
    hostId: 'h1',
    hypervisor: { name: 'xen', version, ...(extra.build ? { build: extra.build } : {}) },
    rsdpOverrideSupported: extra.override ?? false,
    ...(extra.labels ? { labels: extra.labels } : {}),
  });
const completed = (at: number, version: string, build?: string) =>
  ev('HypervisorUpgradeCompleted', at, { hostId: 'h1', version, ...(build ? { build } : {}) });
const planned = (at: number, toVersion: string, toBuild?: string) =>
  ev('HypervisorUpgradePlanned', at, {
    hostId: 'h1',
    fromVersion: '4.10.4',
    toVersion,
    plannedRebootAt: '2026-12-24T00:00:00Z',
    waveId: 'w1',
    ...(toBuild ? { toBuild } : {}),
  });
const cancelled = (at: number) => ev('HypervisorUpgradeCancelled', at, { hostId: 'h1' });
const observed = (at: number, hostId: string, memoryMiB = 2048, kernel = sha('a')) =>
  ev('GuestObserved', at, {
    guestId: 'g1',
    hostId,
    mode: 'pvh',
    memoryMiB,
    boot: { method: 'pvh-grub', kernelSha256: kernel },
  });
const removed = (at: number, hostId: string) => ev('GuestRemoved', at, { guestId: 'g1', hostId });
const announced = (at: number, notes: typeof OLD_LINUX | typeof NEW_LINUX = OLD_LINUX) =>
  ev('KernelBuildCompleted', at, {
    imageSha256: sha('a'),
    release: notes === OLD_LINUX ? '4.15.0' : '6.1.0',
    arch: 'x86_64',
    xenNotes: notes,
  });
const revoked = (at: number) => ev('KernelBuildRevoked', at, { imageSha256: sha('a'), reason: 'bad build' });

describe('evolve: a host', () => {
  it('given a host upgraded to 4.17.3, when a registration sent before the upgrade arrives late, then it still runs 4.17.3', () => {
    const ws = project([registered(0, '4.10.4'), completed(24 * 60, '4.17.3'), registered(12 * 60, '4.10.4')]);
    expect(ws.host('h1')).toMatchObject({ hypervisorVersion: '4.17.3', registered: true });
  });

  it('given a host, when a late registration carries newer labels than the one in force, then the labels are the newest and the version is not rolled back', () => {
    const ws = project([
      registered(0, '4.10.4', { labels: { rack: 'r1' } }),
      completed(120, '4.17.3'),
      registered(60, '4.10.4', { labels: { rack: 'r2' }, override: true }),
    ]);
    expect(ws.host('h1')).toMatchObject({
      hypervisorVersion: '4.17.3',
      labels: { rack: 'r2' },
      rsdpOverrideSupported: true,
    });
  });

  it('given a registration and a completion at the same instant, when both are stored, then the one stored last sets the version', () => {
    expect(project([registered(10, '4.10.4'), completed(10, '4.17.3')]).host('h1')!.hypervisorVersion).toBe('4.17.3');
    expect(project([completed(10, '4.17.3'), registered(10, '4.10.4')]).host('h1')!.hypervisorVersion).toBe('4.10.4');
  });

  it('compares times as instants, not as strings', () => {
    // 12:00+02:00 is 10:00Z: before 11:00Z, although the string sorts after it
    const early = ev('HostRegistered', '2026-11-01T12:00:00+02:00', {
      hostId: 'h1',
      hypervisor: { name: 'xen', version: '4.10.4' },
      rsdpOverrideSupported: false,
    });
    const late = ev('HypervisorUpgradeCompleted', '2026-11-01T11:00:00Z', { hostId: 'h1', version: '4.17.3' });
    expect(project([late, early]).host('h1')!.hypervisorVersion).toBe('4.17.3');
  });

  it('given a plan, when a cancellation older than the plan arrives, then the plan stays in force', () => {
    expect(project([registered(0, '4.10.4'), planned(60, '4.17.3'), cancelled(30)]).host('h1')!.upgrade).toMatchObject({
      toVersion: '4.17.3',
      state: 'planned',
    });
  });

  it('given a completion, when the plan it completed arrives after it, then no plan is in force', () => {
    expect(
      project([registered(0, '4.10.4'), completed(120, '4.17.3'), planned(60, '4.17.3')]).host('h1')!.upgrade,
    ).toBeNull();
  });

  it('given a plan, when a newer cancellation arrives, then no plan is in force; a plan newer than the cancellation is', () => {
    expect(project([registered(0, '4.10.4'), planned(60, '4.17.3'), cancelled(90)]).host('h1')!.upgrade).toBeNull();
    expect(
      project([registered(0, '4.10.4'), planned(60, '4.17.3'), cancelled(90), planned(120, '4.19.1')]).host('h1')!
        .upgrade,
    ).toMatchObject({ toVersion: '4.19.1' });
  });

  it('given a plan, when the upgrade starts after it, then the plan is started; a start older than the plan does not start it', () => {
    const started = (at: number) => ev('HypervisorUpgradeStarted', at, { hostId: 'h1' });
    expect(project([registered(0, '4.10.4'), planned(60, '4.17.3'), started(70)]).host('h1')!.upgrade!.state).toBe(
      'started',
    );
    expect(project([registered(0, '4.10.4'), started(30), planned(60, '4.17.3')]).host('h1')!.upgrade!.state).toBe(
      'planned',
    );
  });

  it('given a plan with a build, when the completion names no build, then the host runs the planned build, whatever order they came in', () => {
    const events = [registered(0, '4.10.4'), planned(60, '4.11.0', '4.11-unstable-20180301'), completed(120, '4.11.0')];
    expect(project(events).host('h1')!.hypervisorBuild).toBe('4.11-unstable-20180301');
    expect(project([...events].reverse()).host('h1')!.hypervisorBuild).toBe('4.11-unstable-20180301');
  });

  it('given nothing, when an upgrade completes, then the host is known but not registered (its guests wait)', () => {
    const changes = evolve(new WorkingSet(), completed(10, '4.17.3'));
    expect(changes).toEqual([
      { kind: 'host', row: expect.objectContaining({ hostId: 'h1', registered: false, hypervisorVersion: '4.17.3' }) },
    ]);
  });

  it('given a host, when an event older than every fact it sets arrives, then nothing changes', () => {
    const ws = project([registered(100, '4.17.3'), planned(200, '4.19.1')]);
    expect(evolve(ws, registered(50, '4.10.4'))).toEqual([]);
    expect(evolve(ws, cancelled(150))).toEqual([]);
  });

  it('derives the row from the facts alone', () => {
    const ws = project([registered(0, '4.10.4'), planned(60, '4.17.3')]);
    const row = ws.host('h1')!;
    expect(deriveHost('h1', row.facts)).toEqual(row);
  });
});

describe('evolve: a guest, per reporting host', () => {
  it('given a guest removed from h1, when an older observation by h1 arrives, then h1 does not have it', () => {
    const ws = project([removed(100, 'h1'), observed(50, 'h1')]);
    expect(ws.guest('g1', 'h1')).toMatchObject({
      present: false,
      status: 'removed',
      mode: 'pvh',
      observedAt: expect.any(String),
    });
  });

  it("given a guest on h2, when h1 reports it too, then both hosts have it and neither host's report changes the other's", () => {
    const ws = project([observed(10, 'h2', 1024), observed(20, 'h1', 4096), removed(30, 'h1')]);
    expect(ws.guest('g1', 'h2')).toMatchObject({ present: true, memoryMiB: 1024 });
    expect(ws.guest('g1', 'h1')).toMatchObject({ present: false });
  });

  it('given a move (h1 removes, h2 observes), when the events come in either order, then the guest is on h2 only', () => {
    const move = [observed(10, 'h1'), removed(20, 'h1'), observed(21, 'h2')];
    for (const order of [move, [move[2], move[1], move[0]], [move[1], move[2], move[0]]]) {
      const ws = project(order);
      expect([ws.guest('g1', 'h1')?.present, ws.guest('g1', 'h2')?.present]).toEqual([false, true]);
    }
  });

  it('given an observation, when a newer one arrives, then its facts replace the older ones; an older one changes nothing', () => {
    expect(project([observed(10, 'h1', 1024), observed(20, 'h1', 4096)]).guest('g1', 'h1')!.memoryMiB).toBe(4096);
    expect(project([observed(20, 'h1', 4096), observed(10, 'h1', 1024)]).guest('g1', 'h1')!.memoryMiB).toBe(4096);
  });
});

describe('evolve: a kernel', () => {
  it('given a revocation, when the older announcement arrives after it, then the kernel stays revoked (unknown to the policy)', () => {
    const ws = project([revoked(100), announced(50)]);
    expect(ws.kernel(sha('a'))).toMatchObject({ revoked: true, release: '4.15.0' });
  });

  it('given a revocation, when a newer announcement arrives, then the kernel is known again with the newest notes', () => {
    const ws = project([announced(10), revoked(20), announced(30, NEW_LINUX)]);
    expect(ws.kernel(sha('a'))).toMatchObject({ revoked: false, release: '6.1.0', xenNotes: NEW_LINUX });
  });
});

describe('evolve: declarations and acknowledgements', () => {
  it('keeps, per GUEST_OS value and per behaviour key, the latest declaration', () => {
    const ws = project([
      ev('GuestOsDeclared', 20, { guestOs: 'Mini-OS', copesWithHighRsdp: false }),
      ev('GuestOsDeclared', 10, { guestOs: 'Mini-OS', copesWithHighRsdp: true }),
      ev('HypervisorBehaviourDeclared', 20, { version: '4.17.3', behaviour: 'always-high' }),
      ev('HypervisorBehaviourDeclared', 10, { version: '4.17.3', behaviour: 'by-notes' }),
    ]);
    expect(ws.guestOsRule('Mini-OS')!.rule.copesWithHighRsdp).toBe(false);
    expect(ws.behaviourRule('version:4.17.3')!.rule.behaviour).toBe('always-high');
  });

  it("keeps a host's latest acknowledgement of a guest's decision", () => {
    const ack = (at: number, decisionId: string) =>
      ev('PlacementApplied', at, { hostId: 'h1', guestId: 'g1', decisionId });
    expect(project([ack(20, 'g1#2'), ack(10, 'g1#1')]).ack('h1', 'g1')!.decisionId).toBe('g1#2');
  });
});

describe('the decisions follow the facts', () => {
  it('given g1 behind pvh-grub booting an old Linux on h1 upgraded to 4.17.3 without override, when the pre-upgrade registration arrives late, then g1 stays blocked for 4.17.3', () => {
    const before = [registered(0, '4.10.4'), announced(1), observed(2, 'h1'), completed(24 * 60, '4.17.3')];
    const ws = project([...before, registered(12 * 60, '4.10.4')]);
    const g = ws.guest('g1', 'h1')!;
    expect(g.status).toBe('blocked');
    const last = ws.records.filter((r) => r.guestId === 'g1').at(-1)!;
    expect(last.message).toMatchObject({
      type: 'PlacementDecided',
      hypervisorVersion: '4.17.3',
      rsdp: 'high',
      action: 'blocked',
    });
  });

  it('given a guest reported by two hosts, then each host gets a decision of its own, with one strictly increasing sequence per guest', () => {
    const ws = project([
      ev('HostRegistered', 0, {
        hostId: 'h1',
        hypervisor: { name: 'xen', version: '4.17.3' },
        rsdpOverrideSupported: true,
      }),
      ev('HostRegistered', 0, {
        hostId: 'h2',
        hypervisor: { name: 'xen', version: '4.17.3' },
        rsdpOverrideSupported: false,
      }),
      announced(1),
      observed(2, 'h1'),
      observed(3, 'h2'),
    ]);
    const decided = ws.records.filter((r) => r.kind === 'decided');
    expect(decided.map((r) => [r.hostId, r.sequence, (r.message as { action: string }).action])).toEqual([
      ['h1', 1, 'override-low'],
      ['h2', 2, 'blocked'],
    ]);
  });

  it('given a guest decided on h1, when h1 removes it, then its decision is withdrawn on h1 with the next sequence', () => {
    const ws = project([
      registered(0, '4.17.3', { override: true }),
      announced(1),
      observed(2, 'h1'),
      removed(3, 'h1'),
    ]);
    expect(ws.records.map((r) => [r.kind, r.hostId, r.sequence])).toEqual([
      ['decided', 'h1', 1],
      ['withdrawn', 'h1', 2],
    ]);
  });
});
