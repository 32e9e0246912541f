import { DataSource } from 'typeorm';
import { FleetEvent, PlacementDecided } from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { Projector, ProjectionQueries } from '@fleetcompat/projections';
import { envelope, fakeSha, SAMPLE_KERNELS, sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../../test/support/postgres';
import { HistoryService } from '../history/history.service';
import { WhatIfRequest, WhatIfService } from './what-if.service';

const at = (n: number) => new Date(Date.parse('2026-11-21T00:00:00Z') + n * 1000).toISOString();
const kernel = (id: string, name: string, distro: string, supportedFeatures: number, pvh = true) =>
  envelope(id, 'KernelBuildCompleted', at(1), 'ci', {
    imageSha256: fakeSha(name),
    release: name,
    arch: 'x86_64',
    distro,
    xenNotes: { guestOs: 'linux', supportedFeatures, pvh },
  });

describe('what-if on the projections (the policy the projector runs)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;
  let projector: Projector;
  const put = async (events: FleetEvent[]) => {
    await store.store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
    // Until every stored event is projected: the store shows an event to readers only once no
    // older transaction is open on the server, and other tests share this server.
    for (let tries = 0; ; tries++) {
      await projector.catchUp();
      const { checkpoint } = await projector.position();
      const [{ n }] = await ds.query(
        `SELECT count(*)::int AS n FROM events WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)`,
        [checkpoint.transactionId, checkpoint.globalPosition],
      );
      if (n === 0) return;
      if (tries > 600) throw new Error(`${n} events still not projected`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const ask = (req: Partial<WhatIfRequest> & Pick<WhatIfRequest, 'hosts' | 'target'>, chunk = 4) =>
    new WhatIfService(ds, undefined, undefined, chunk).run({ guests: 'all', maxGuests: 10000, ...req });

  beforeAll(async () => {
    db = await createTestDatabase('what_if');
    ds = await openDatabase({ url: db.url });
    store = new PostgresEventStore(ds);
    projector = new Projector(ds);
    // The sample fleet without its upgrade plans: every host decided for its current version.
    await put(sampleFleet().filter((e) => e.type !== 'HypervisorUpgradePlanned'));
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('predicts, guest by guest, the decisions the projector makes once the upgrade is planned for real', async () => {
    const before = await ds.query(
      `SELECT (SELECT count(*) FROM projection.decisions) AS d, (SELECT count(*) FROM outbox) AS o, (SELECT count(*) FROM events) AS e`,
    );
    const predicted = await ask({ hosts: { labels: { rack: 'r1' } }, target: { version: '4.17.3' } });
    expect(
      await ds.query(
        `SELECT (SELECT count(*) FROM projection.decisions) AS d, (SELECT count(*) FROM outbox) AS o, (SELECT count(*) FROM events) AS e`,
      ),
    ).toEqual(before);
    expect(predicted.hosts.map((h) => h.hostId)).toEqual(['host-r1-01', 'host-r1-02']);
    expect(predicted.totals).toMatchObject({ hosts: 2, guests: 18 });
    expect(predicted.guestsListed).toBe(18);

    await put(
      ['host-r1-01', 'host-r1-02'].map((hostId, i) =>
        envelope(`plan-${i}`, 'HypervisorUpgradePlanned', at(10), 'orchestrator', {
          hostId,
          fromVersion: '4.10.4',
          toVersion: '4.17.3',
          plannedRebootAt: '2026-12-01T02:00:00Z',
          waveId: 'w1',
        }),
      ),
    );
    const queries = new ProjectionQueries(ds);
    let compared = 0;
    for (const host of predicted.hosts) {
      const actual = await queries.placements(host.hostId);
      expect(actual.map((p) => p.guestId)).toEqual(host.guests.map((g) => g.guestId));
      for (const g of host.guests) {
        const real = actual.find((p) => p.guestId === g.guestId)!;
        expect({
          guestId: g.guestId,
          status: g.status,
          rsdp: g.rsdp,
          action: g.action,
          reason: g.reason,
          lost: g.lostFirstGiBSuperpage,
        }).toEqual({
          guestId: real.guestId,
          status: real.status,
          rsdp: real.decision!.rsdp,
          action: real.decision!.action,
          reason: real.decision!.reason,
          lost: real.decision!.costs.some((c) => c.code === 'first-gib-superpage-lost'),
        });
        expect(real.decision!.hypervisorVersion).toBe('4.17.3');
        compared++;
      }
    }
    expect(compared).toBe(18);
  });

  it('counts per host and in total, and says why a guest is blocked', async () => {
    const r = await ask({
      hosts: { ids: ['host-r2-01', 'host-r2-02', 'no-such-host'] },
      target: { version: '4.17.3' },
    });
    expect(r.unknownHostIds).toEqual(['no-such-host']);
    const [r201, r202] = r.hosts;
    // host-r2-01 cannot force low placement: its old Linux behind pvh-grub is blocked; host-r2-02 can.
    expect(r201.totals).toMatchObject({ guests: 9, blocked: 2, overrideLow: 0, notApplicable: 2 });
    expect(r202.totals).toMatchObject({ guests: 9, blocked: 1, overrideLow: 1, notApplicable: 2 });
    expect(r.totals).toMatchObject({ hosts: 2, guests: 18, blocked: 3, overrideLow: 1 });
    const blocked = r201.guests.find((g) => g.guestId === 'host-r2-01.db-old-grub')!;
    expect(blocked).toMatchObject({
      outcome: 'blocked',
      reason: 'high-rsdp-without-override',
      rsdp: 'high',
      fixes: [],
    });
    expect(blocked.explanation.join(' ')).toMatch(/bootloader|GRUB/i);
    expect(r201.guests.find((g) => g.guestId === 'host-r2-01.batch-custom')).toMatchObject({ unknownKernel: true });
    expect(r201.guests.find((g) => g.guestId === 'host-r2-01.web-old-direct')).toMatchObject({
      outcome: 'fine',
      rsdp: 'low',
      lostFirstGiBSuperpage: true,
    });
    expect(r201.totals.lostFirstGiBSuperpage).toBeGreaterThan(0);
    // The same fleet on 4.10 (always low): nothing blocked but the kernel that cannot boot as PVH.
    const old = await ask({ hosts: { ids: ['host-r2-01'] }, target: { version: '4.10.4' } });
    expect(old.totals.byReason).toMatchObject({ 'kernel-not-pvh-capable': 1 });
    expect(old.totals.blocked).toBe(1);
  });

  it('suggests announced kernels of the same distro line with bit 15, newest first, never revoked ones', async () => {
    await put([
      kernel('fix-1', 'linux-5.4.0-150-generic', 'ubuntu-18.04', 0x8801),
      kernel('fix-2', 'linux-5.4.0-200-generic', 'ubuntu-18.04', 0x8801),
      kernel('fix-revoked', 'linux-5.4.0-201-generic', 'ubuntu-18.04', 0x8801),
      envelope('fix-revoke', 'KernelBuildRevoked', at(2), 'ci', {
        imageSha256: fakeSha('linux-5.4.0-201-generic'),
        reason: 'broken',
      }),
      kernel('no-fix-old', 'linux-4.15.0-214-generic', 'ubuntu-18.04', 0x801),
      kernel('no-fix-other-distro', 'linux-6.1.0-48-cloud-amd64', 'debian-12', 0x8801),
      kernel('no-fix-not-pvh', 'linux-5.4.0-202-generic', 'ubuntu-18.04', 0x8801, false),
    ]);
    const r = await ask({ hosts: { ids: ['host-r2-01'] }, target: { version: '4.17.3' }, guests: 'attention' });
    const blocked = r.hosts[0].guests.find((g) => g.guestId === 'host-r2-01.db-old-grub')!;
    expect(blocked.kernelSha256).toBe(SAMPLE_KERNELS.linux415.sha);
    expect(blocked.fixes!.map((f) => f.release)).toEqual(['linux-5.4.0-200-generic', 'linux-5.4.0-150-generic']);
    // attention: blocked, override, unknown kernel or a cost; a fine guest without cost is not listed
    expect(r.hosts[0].guests.map((g) => g.guestId)).not.toContain('host-r2-01.api-new-direct');
    expect(r.hosts[0].totals.guests).toBe(9);
  });

  it('selects hosts by wave and lists at most maxGuests', async () => {
    const r = await ask({ hosts: { waveId: 'w1' }, target: { version: '4.11.0' }, maxGuests: 5 });
    expect(r.hosts.map((h) => h.hostId)).toEqual(['host-r1-01', 'host-r1-02']);
    expect(r.guestsListed).toBe(5);
    expect(r.truncated).toBe(true);
    expect(r.totals.guests).toBe(18);
    const none = await ask({ hosts: { labels: { rack: 'r9' } }, target: { version: '4.11.0' } });
    expect(none.hosts).toEqual([]);
    expect(none.totals.guests).toBe(0);
  });

  it('explains a guest from the store: each decision, the event that caused it, the events it rested on', async () => {
    const items = await new HistoryService(ds).guestHistory('host-r1-01.db-old-grub');
    expect(items.length).toBeGreaterThanOrEqual(2);
    const last = items[items.length - 1];
    expect(last.causedBy).toMatchObject({
      eventId: 'plan-0',
      type: 'HypervisorUpgradePlanned',
      occurredAt: at(10),
      recordedAt: expect.any(String),
      streamId: 'host-host-r1-01',
    });
    expect(last.rule).toMatchObject({
      reason: (last.message as PlacementDecided).reason,
      status: 'blocked',
      explanation: expect.any(Array),
    });
    const facts = Object.fromEntries(last.restedOn.map((f: any) => [f.fact, f]));
    expect(facts.guest).toMatchObject({ type: 'GuestObserved', streamId: 'guest-host-r1-01.db-old-grub' });
    expect(facts.host).toMatchObject({ type: 'HostRegistered' });
    expect(facts.upgrade).toMatchObject({ eventId: 'plan-0', type: 'HypervisorUpgradePlanned' });
    expect(facts.kernel).toMatchObject({ type: 'KernelBuildCompleted', eventId: 'sample-0001' });
    const first = items[0];
    expect((first.message as PlacementDecided).hypervisorVersion).toBe('4.10.4');
    expect(first.restedOn.find((f: any) => f.fact === 'upgrade')).toBeUndefined();
    expect(await new HistoryService(ds).guestHistory('nobody')).toEqual([]);
  });

  it('gives the timeline of a host from its stream, paginated', async () => {
    const h = new HistoryService(ds);
    const page = await h.hostTimeline('host-r1-01', 0, 1);
    expect(page.items).toEqual([
      expect.objectContaining({ position: 1, type: 'HostRegistered', eventId: 'sample-0005' }),
    ]);
    const rest = await h.hostTimeline('host-r1-01', page.next!, 100);
    expect(rest.items.map((i) => i.type)).toEqual(['HypervisorUpgradePlanned']);
    expect(rest.next).toBeNull();
  });
});
