// The fault suite's own fact rule (expected.ts) and workload, checked on small cases: the
// suite's expectations are only as good as these.
import { FleetEvent, parseEvent } from '@fleetcompat/contract';
import { decidePlacement } from '@fleetcompat/policy';
import { envelope, fakeSha } from '@fleetcompat/sample-fleet';
import { ExpectedFacts } from './expected';
import { buildWorkload, DECLARED_BUILD } from './workload';

let n = 0;
const at = (minute: number) => new Date(Date.parse('2026-11-20T08:00:00Z') + minute * 60000).toISOString();
const e = (type: FleetEvent['type'], minute: number, data: any) => envelope(`t-${++n}`, type, at(minute), 'test', data);
const host = (minute: number, version: string, override: boolean, build?: string) =>
  e('HostRegistered', minute, {
    hostId: 'h1',
    hypervisor: { name: 'xen', version, ...(build ? { build } : {}) },
    rsdpOverrideSupported: override,
  });
const old = fakeSha('old-linux');
const oldNotes = { guestOs: 'linux', supportedFeatures: 0x801, phys32Entry: '0x1000400', pvh: true };
const guest = (minute: number, hostId = 'h1', extra: any = {}) =>
  e('GuestObserved', minute, {
    guestId: 'g1',
    hostId,
    mode: 'pvh',
    memoryMiB: 2048,
    boot: { method: 'direct', kernelSha256: old },
    ...extra,
  });

describe('fault suite: the fact rule rebuilt from the workload', () => {
  it('a stale registration stored after an upgrade does not roll the host back, but its capability applies', () => {
    const x = new ExpectedFacts([
      host(0, '4.10.4', false),
      e('HypervisorUpgradeCompleted', 10, { hostId: 'h1', version: '4.17.3' }),
      host(5, '4.10.4', true),
    ]);
    expect(x.hosts.get('h1')).toMatchObject({
      registered: true,
      running: { version: '4.17.3', build: null },
      rsdpOverrideSupported: true,
      target: { version: '4.17.3', build: null },
    });
  });

  it('a plan is in force only when no completion or cancellation is newer', () => {
    const plan = (minute: number, to: string, toBuild?: string) =>
      e('HypervisorUpgradePlanned', minute, {
        hostId: 'h1',
        fromVersion: '4.10.4',
        toVersion: to,
        plannedRebootAt: at(100),
        ...(toBuild ? { toBuild } : {}),
      });
    expect(
      new ExpectedFacts([
        host(0, '4.10.4', false),
        e('HypervisorUpgradeCancelled', 10, { hostId: 'h1' }),
        plan(5, '4.11.0'),
      ]).hosts.get('h1')!.target,
    ).toEqual({ version: '4.10.4', build: null });
    expect(
      new ExpectedFacts([
        host(0, '4.10.4', false),
        e('HypervisorUpgradeCancelled', 10, { hostId: 'h1' }),
        plan(15, '4.11.0', 'b'),
      ]).hosts.get('h1')!.target,
    ).toEqual({ version: '4.11.0', build: 'b' });
    expect(new ExpectedFacts([plan(1, '4.11.0')]).hosts.get('h1')).toMatchObject({ registered: false, target: null });
  });

  it('each host keeps its own view of a guest; the latest observation or removal of that host wins', () => {
    const x = new ExpectedFacts([
      host(0, '4.10.4', false),
      guest(1),
      guest(3, 'h2'),
      e('GuestRemoved', 2, { guestId: 'g1', hostId: 'h2' }),
      e('GuestRemoved', 0.5, { guestId: 'g1', hostId: 'h1' }),
    ]);
    expect(x.guests.get('g1\u0000h1')!.present).toBe(true);
    expect(x.guests.get('g1\u0000h2')!.present).toBe(true);
    expect([...x.presentOnRegistered()].map((g) => g.hostId)).toEqual(['h1']);
  });

  it('a kernel is known when its latest build event is a completion; declarations: latest wins', () => {
    const events = [
      host(0, '4.17.3', false, 'dev'),
      guest(1),
      e('KernelBuildCompleted', 0, { imageSha256: old, release: 'x', arch: 'x86_64', xenNotes: oldNotes }),
      e('KernelBuildRevoked', 4, { imageSha256: old, reason: 'r' }),
      e('KernelBuildCompleted', 3, { imageSha256: old, release: 'x', arch: 'x86_64', xenNotes: oldNotes }),
      e('HypervisorBehaviourDeclared', 6, { build: 'dev', behaviour: 'always-high' }),
      e('HypervisorBehaviourDeclared', 5, { build: 'dev', behaviour: 'always-low' }),
    ];
    const x = new ExpectedFacts(events);
    expect(x.kernels.get(old)!.known).toBe(false);
    const d = decidePlacement(x.inputFor('g1', 'h1')!);
    expect([d.rsdp, d.action, d.reason]).toEqual(['high', 'blocked', 'high-rsdp-without-override']);
    const stale = decidePlacement({ ...x.inputFor('g1', 'h1')!, ...x.stale });
    expect(stale.rsdp).toBe('low');
  });

  it('reports competing events with the same occurredAt', () => {
    expect(new ExpectedFacts([host(0, '4.10.4', false), host(0, '4.17.3', true)]).ties).toHaveLength(2);
  });

  it('the workload: every event its own time, the declared build in use, every hazard present', () => {
    const w = buildWorkload(
      {
        hosts: 40,
        guests: 4000,
        kernels: 40,
        waves: 5,
        seed: 7,
        shuffleWindow: 0.05,
        tripleShare: 0.2,
        poisonPerMille: 2,
        oversizeMax: 1,
        httpShare: 0.03,
        otherPartitionShare: 0.1,
      },
      'wtest',
    );
    const events = [...w.valid.values()];
    expect(new Set(events.map((v) => v.occurredAt)).size).toBe(events.length);
    const rejected = w.deliveries.filter((d) => d.eventId && d.copy === 1 && !parseEvent(d.value as string).ok);
    expect(rejected.map((d) => `${d.eventId}: ${JSON.stringify(parseEvent(d.value as string))}`)).toEqual([]);
    const x = new ExpectedFacts(events);
    expect(x.ties).toEqual([]);
    expect(x.ambiguities).toEqual([]);
    expect([...x.hosts.values()].filter((h) => h.target?.build === DECLARED_BUILD).length).toBeGreaterThan(0);
    expect(x.behaviours.declared).toEqual([
      expect.objectContaining({ build: DECLARED_BUILD, behaviour: 'always-high' }),
    ]);
    expect(x.guestOses.declared.map((r) => `${r.guestOs}:${r.copesWithHighRsdp}`).sort()).toEqual([
      'FreeBSD:true',
      'Linux:false',
      'NetBSD:false',
      'Unikraft:true',
    ]);
    for (const m of [w.hazards.guests, w.hazards.hosts, w.hazards.kernels])
      for (const [what, ids] of m) expect([what, ids.size > 0]).toEqual([what, true]);
    expect(w.hazards.hosts.size).toBeGreaterThanOrEqual(9);
    expect(events.some((v) => v.type === 'GuestOsDeclared')).toBe(true);
  });
});
