import { DataSource } from 'typeorm';
import { FleetEvent, IncomingEvent } from '@fleetcompat/contract';
import { compareCheckpoints, PostgresEventStore, readHead } from '@fleetcompat/event-store';
import { eventually } from '@fleetcompat/testing';
import { openDatabase } from '@fleetcompat/platform';
import { envelope, SAMPLE_KERNELS, sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { compareProjections, rebuildProjections } from './rebuild';
import { Projector } from './projector';
import { ProjectionStore } from './projection-store';
import { decisionKey } from './evolve';
import { ProjectionQueries } from './queries';

const http = (event: FleetEvent): IncomingEvent => ({ event, origin: { channel: 'http' } });

describe('projector on real Postgres', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;
  let projector: Projector;
  let queries: ProjectionQueries;
  let seq = 0;
  const later = () => new Date(Date.parse('2026-11-21T00:00:00Z') + ++seq * 1000).toISOString();

  async function append(...events: FleetEvent[]) {
    const r = await store.store(events.map(http));
    await projector.catchUp();
    return r;
  }
  async function decisionOf(guestId: string) {
    return (await queries.guest(guestId))!.guest.decision!.message;
  }
  async function outbox(): Promise<any[]> {
    return (await ds.query(`SELECT key, value FROM outbox_messages ORDER BY id`)).map((r: any) => ({
      key: r.key,
      ...r.value,
    }));
  }

  beforeAll(async () => {
    db = await createTestDatabase('projector');
    ds = await openDatabase({ url: db.url });
    store = new PostgresEventStore(ds);
    projector = new Projector(ds);
    queries = new ProjectionQueries(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('decides every guest of the sample fleet as the domain table says', async () => {
    await append(...sampleFleet());
    const expectations: [string, object][] = [
      ['host-r1-01.web-old-direct', { rsdp: 'low', action: 'none', hypervisorVersion: '4.11.0' }],
      ['host-r1-01.db-old-grub', { rsdp: 'high', action: 'blocked' }],
      ['host-r1-01.api-new-direct', { rsdp: 'high', action: 'none' }],
      ['host-r1-01.fw-freebsd', { rsdp: 'high', action: 'none' }],
      ['host-r1-01.batch-custom', { rsdp: 'low', action: 'none' }],
      ['host-r1-01.legacy-49', { rsdp: 'not-applicable', action: 'blocked', reason: 'kernel-not-pvh-capable' }],
      ['host-r1-01.win-hvm', { rsdp: 'not-applicable', action: 'none' }],
      ['host-r1-02.db-old-grub', { rsdp: 'low', action: 'override-low', hypervisorVersion: '4.17.3' }],
      ['host-r2-01.db-old-grub', { rsdp: 'high', action: 'blocked' }],
      ['host-r2-02.db-old-grub', { rsdp: 'low', action: 'override-low', hypervisorVersion: '4.17.3' }],
    ];
    for (const [guestId, expected] of expectations) expect(await decisionOf(guestId)).toMatchObject(expected);
    expect((await queries.guest('host-r1-01.batch-custom'))!.guest.status).toBe('unknown-kernel');
    expect((await queries.guest('host-r1-01.web-old-direct'))!.guest.status).toBe('needs-low-rsdp');
    expect((await decisionOf('host-r1-01.web-old-direct')).costs.map((c) => c.code)).toEqual([
      'first-gib-superpage-lost',
    ]);
  });

  it('queues every decision in the outbox, keyed by host, with per-guest sequences strictly increasing', async () => {
    const messages = await outbox();
    const decided = (await ds.query(`SELECT count(*)::int AS n FROM projection.decisions`))[0].n;
    expect(messages.length).toBe(decided);
    const last = new Map<string, number>();
    for (const m of messages) {
      expect(m.key).toBe(m.hostId);
      expect(m.sequence).toBeGreaterThan(last.get(m.guestId) ?? 0);
      last.set(m.guestId, m.sequence);
    }
    // the last message of each guest is its current decision
    for (const [guestId, sequence] of last) expect((await decisionOf(guestId)).sequence).toBe(sequence);
  });

  it('the summary counts the present guests whose current decision costs the first-GiB superpage, as their messages say', async () => {
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM projection.guests g JOIN projection.decisions d ON d.decision_id = g.decision_id
        WHERE g.present AND (d.message->'costs')::jsonb @> '[{"code":"first-gib-superpage-lost"}]'`,
    );
    expect(n).toBeGreaterThan(0);
    expect((await queries.summary()).lostFirstGiBSuperpage).toBe(n);
  });

  it('the same events delivered again change nothing', async () => {
    const before = await outbox();
    const r = await append(...sampleFleet());
    expect(r).toEqual({ stored: 0, duplicates: sampleFleet().length, storedIds: [] });
    expect(await outbox()).toEqual(before);
  });

  it('a kernel announced after its guests changes their decisions', async () => {
    const guestId = 'host-r2-01.batch-custom';
    await append(
      envelope('it-ann-1', 'GuestObserved', later(), 'test', {
        guestId,
        hostId: 'host-r2-01',
        mode: 'pvh',
        memoryMiB: 1024,
        boot: { method: 'pvh-grub', kernelSha256: SAMPLE_KERNELS.unannounced.sha },
      }),
    );
    expect(await decisionOf(guestId)).toMatchObject({ rsdp: 'high', action: 'blocked' });
    expect((await queries.guest(guestId))!.guest.status).toBe('blocked');
    const before = (await decisionOf(guestId)).sequence;
    await append(
      envelope('it-ann-2', 'KernelBuildCompleted', later(), 'ci', {
        imageSha256: SAMPLE_KERNELS.unannounced.sha,
        release: '6.6.0-custom',
        arch: 'x86_64',
        xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: true },
      }),
    );
    const after = await decisionOf(guestId);
    expect(after).toMatchObject({ rsdp: 'high', action: 'none', reason: 'kernel-handles-high-rsdp' });
    expect(after.sequence).toBeGreaterThan(before);
    expect((await queries.guest(guestId))!.guest.status).toBe('ok');
    // revoking it makes it unknown again
    await append(
      envelope('it-ann-3', 'KernelBuildRevoked', later(), 'ci', {
        imageSha256: SAMPLE_KERNELS.unannounced.sha,
        reason: 'bad build',
      }),
    );
    expect(await decisionOf(guestId)).toMatchObject({ action: 'blocked' });
  });

  it('an upgrade cancelled restores the decisions for the current version', async () => {
    const guestId = 'host-r2-01.db-old-grub';
    expect(await decisionOf(guestId)).toMatchObject({ hypervisorVersion: '4.17.3', action: 'blocked' });
    await append(
      envelope('it-cancel-1', 'HypervisorUpgradeCancelled', later(), 'orch', {
        hostId: 'host-r2-01',
        reason: 'change freeze',
      }),
    );
    expect(await decisionOf(guestId)).toMatchObject({ hypervisorVersion: '4.10.4', rsdp: 'low', action: 'none' });
    expect((await queries.host('host-r2-01'))!.upgrade).toBeNull();
  });

  it('an upgrade completed keeps decisions for the new version without republishing', async () => {
    const guestId = 'host-r1-02.db-old-grub';
    const before = await decisionOf(guestId);
    await append(envelope('it-up-1', 'HypervisorUpgradeStarted', later(), 'orch', { hostId: 'host-r1-02' }));
    await append(
      envelope('it-up-2', 'HypervisorUpgradeCompleted', later(), 'orch', { hostId: 'host-r1-02', version: '4.17.3' }),
    );
    const after = await decisionOf(guestId);
    expect(after.sequence).toBe(before.sequence);
    expect((await queries.host('host-r1-02'))!.hypervisorVersion).toBe('4.17.3');
  });

  it('a guest moved to another host (the new host observes it, the old one removes it) is decided on each host that reports it, and withdrawn from the old one', async () => {
    const guestId = 'host-r1-01.web-old-direct';
    const before = await decisionOf(guestId);
    const n = (await outbox()).length;
    const t0 = later();
    await append(
      envelope('it-move-1', 'GuestObserved', t0, 'agent', {
        guestId,
        hostId: 'host-r2-02',
        mode: 'pvh',
        memoryMiB: 2048,
        boot: { method: 'pvh-grub', kernelSha256: SAMPLE_KERNELS.linux415.sha },
      }),
    );
    // while both hosts report it (a live migration), each has a decision of its own
    expect((await outbox()).slice(n).filter((m) => m.guestId === guestId)).toEqual([
      expect.objectContaining({
        type: 'PlacementDecided',
        hostId: 'host-r2-02',
        key: 'host-r2-02',
        sequence: before.sequence + 1,
        action: 'override-low',
      }),
    ]);
    expect((await queries.guest(guestId))!.reportedBy).toEqual(['host-r1-01', 'host-r2-02']);
    await append(envelope('it-move-2', 'GuestRemoved', later(), 'agent', { guestId, hostId: 'host-r1-01' }));
    expect((await outbox()).slice(n).filter((m) => m.guestId === guestId)).toEqual([
      expect.objectContaining({ type: 'PlacementDecided', hostId: 'host-r2-02', sequence: before.sequence + 1 }),
      expect.objectContaining({
        type: 'PlacementWithdrawn',
        hostId: 'host-r1-01',
        key: 'host-r1-01',
        sequence: before.sequence + 2,
      }),
    ]);
    // an older observation by the old host arriving late changes nothing
    await append(
      envelope('it-move-stale', 'GuestObserved', '2026-11-20T00:00:00Z', 'agent', {
        guestId,
        hostId: 'host-r1-01',
        mode: 'pvh',
        memoryMiB: 2048,
        boot: { method: 'direct', kernelSha256: SAMPLE_KERNELS.linux415.sha },
      }),
    );
    expect(await decisionOf(guestId)).toMatchObject({ hostId: 'host-r2-02', sequence: before.sequence + 1 });
    expect((await queries.guest(guestId))!.reportedBy).toEqual(['host-r2-02']);
  });

  it('a removed guest is withdrawn and leaves the host placements', async () => {
    const guestId = 'host-r2-02.cache-new-grub';
    const before = await decisionOf(guestId);
    await append(envelope('it-rm-1', 'GuestRemoved', later(), 'agent', { guestId, hostId: 'host-r2-02' }));
    const last = (await outbox()).filter((m) => m.guestId === guestId).pop();
    expect(last).toMatchObject({ type: 'PlacementWithdrawn', hostId: 'host-r2-02', sequence: before.sequence + 1 });
    expect((await queries.placements('host-r2-02')).map((p) => p.guestId)).not.toContain(guestId);
  });

  it('acknowledgements make a host ready once every current decision is applied', async () => {
    const hostId = 'host-r1-02';
    const placements = await queries.placements(hostId);
    expect((await queries.readiness(hostId)).ready).toBe(false);
    let i = 0;
    await append(
      ...placements.map((p) =>
        envelope(`it-ack-${++i}`, 'PlacementApplied', later(), 'host', {
          hostId,
          guestId: p.guestId,
          decisionId: p.decision!.decisionId,
        }),
      ),
    );
    const r = await queries.readiness(hostId);
    // every decision applied, but the PVH guest whose kernel lacks PHYS32_ENTRY is blocked
    expect(r).toMatchObject({
      guests: placements.length,
      acknowledged: placements.length,
      blocked: 1,
      ready: false,
      pendingGuestIds: [],
    });
    await append(envelope('it-ack-rm', 'GuestRemoved', later(), 'agent', { guestId: `${hostId}.legacy-49`, hostId }));
    expect(await queries.readiness(hostId)).toMatchObject({ guests: placements.length - 1, blocked: 0, ready: true });
  });

  it('an operator declaring a build always-high re-decides the hosts on it', async () => {
    await append(
      envelope('it-beh-1', 'HostRegistered', later(), 'agent', {
        hostId: 'host-dev',
        hypervisor: { name: 'xen', version: '4.11.0', build: '4.11-unstable-20180115' },
        rsdpOverrideSupported: false,
      }),
      envelope('it-beh-2', 'GuestObserved', later(), 'agent', {
        guestId: 'dev-old',
        hostId: 'host-dev',
        mode: 'pvh',
        memoryMiB: 512,
        boot: { method: 'direct', kernelSha256: SAMPLE_KERNELS.linux415.sha },
      }),
    );
    expect(await decisionOf('dev-old')).toMatchObject({ rsdp: 'low', action: 'none' });
    await append(
      envelope('it-beh-3', 'HypervisorBehaviourDeclared', later(), 'operator', {
        build: '4.11-unstable-20180115',
        behaviour: 'always-high',
      }),
    );
    expect(await decisionOf('dev-old')).toMatchObject({ rsdp: 'high', action: 'blocked' });
  });

  it('a host that loses its override capability re-decides its guests', async () => {
    const guestId = 'host-r2-02.db-old-grub';
    expect(await decisionOf(guestId)).toMatchObject({ action: 'override-low' });
    await append(
      envelope('it-cap-1', 'HostRegistered', later(), 'agent', {
        hostId: 'host-r2-02',
        hypervisor: { name: 'xen', version: '4.17.3' },
        rsdpOverrideSupported: false,
      }),
    );
    expect(await decisionOf(guestId)).toMatchObject({
      rsdp: 'high',
      action: 'blocked',
      facts: expect.objectContaining({ rsdpOverrideSupported: false }),
    });
    await append(
      envelope('it-cap-2', 'HostRegistered', later(), 'agent', {
        hostId: 'host-r2-02',
        hypervisor: { name: 'xen', version: '4.17.3' },
        rsdpOverrideSupported: true,
      }),
    );
    expect(await decisionOf(guestId)).toMatchObject({ rsdp: 'low', action: 'override-low' });
  });

  it('an upgrade planned for a host that has not registered waits for the registration', async () => {
    await append(
      envelope('it-unreg-1', 'HypervisorUpgradePlanned', later(), 'orch', {
        hostId: 'host-late',
        fromVersion: '4.10.4',
        toVersion: '4.17.3',
        plannedRebootAt: '2026-12-01T02:00:00Z',
        waveId: 'wave-9',
      }),
      envelope('it-unreg-2', 'GuestObserved', later(), 'agent', {
        guestId: 'late-old',
        hostId: 'host-late',
        mode: 'pvh',
        memoryMiB: 512,
        boot: { method: 'pvh-grub', kernelSha256: SAMPLE_KERNELS.linux415.sha },
      }),
    );
    const waiting = (await queries.guest('late-old'))!.guest;
    expect(waiting).toMatchObject({ status: 'awaiting-host', decision: null });
    await append(
      envelope('it-unreg-3', 'HostRegistered', later(), 'agent', {
        hostId: 'host-late',
        hypervisor: { name: 'xen', version: '4.10.4' },
        rsdpOverrideSupported: true,
      }),
    );
    // the planned upgrade is kept, and the host's real capability is used
    expect(await decisionOf('late-old')).toMatchObject({
      hypervisorVersion: '4.17.3',
      rsdp: 'low',
      action: 'override-low',
      sequence: 1,
    });
  });

  it('a rebuild from the store equals the live projections', async () => {
    const r = await rebuildProjections(ds, { schema: 'projection_rebuild', batchSize: 7 });
    expect(r.events).toBeGreaterThan(sampleFleet().length);
    expect(await compareProjections(ds, 'projection', 'projection_rebuild')).toEqual([]);
  });

  it('two projector instances at once: one acts at a time, nothing decided twice', async () => {
    const other = new Projector(ds);
    const events: FleetEvent[] = [];
    for (let i = 0; i < 200; i++) {
      events.push(
        envelope(`it-par-${i}`, 'GuestObserved', later(), 'agent', {
          guestId: `par-${i % 50}`,
          hostId: 'host-r1-01',
          mode: 'pvh',
          memoryMiB: 256 + i,
          boot: { method: 'direct', kernelSha256: SAMPLE_KERNELS.linux61.sha },
        }),
      );
    }
    await store.store(events.map(http));
    const small = [new Projector(ds, { batchSize: 10 }), new Projector(ds, { batchSize: 10 }), other];
    await Promise.all(
      small.map(async (p) => {
        for (let k = 0; k < 60; k++) await p.runOnce();
      }),
    );
    await projector.catchUp();
    expect((await projector.position()).behind).toBe(0);
    const dup = await ds.query(
      `SELECT guest_id, sequence, count(*) FROM projection.decisions GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    expect(dup).toEqual([]);
    await rebuildProjections(ds, { schema: 'projection_rebuild' });
    expect(await compareProjections(ds, 'projection', 'projection_rebuild')).toEqual([]);
  });

  it('instances taking turns: each brings its projection in memory up to date with the batches of the other', async () => {
    const [a, b] = [new Projector(ds, { batchSize: 3 }), new Projector(ds, { batchSize: 3 })];
    await projector.catchUp();
    const hostId = 'host-r2-01';
    const guestId = `${hostId}.db-old-grub`;
    const before = await decisionOf(guestId);
    expect(before.hypervisorVersion).toBe('4.10.4'); // no upgrade planned: the first cancel changes nothing, the other eight do
    const events: FleetEvent[] = [];
    for (let i = 0; i < 9; i++) {
      events.push(
        i % 2 === 0
          ? envelope(`it-turn-${i}`, 'HypervisorUpgradeCancelled', later(), 'orch', { hostId, reason: 'turns' })
          : envelope(`it-turn-${i}`, 'HypervisorUpgradePlanned', later(), 'orch', {
              hostId,
              fromVersion: '4.10.4',
              toVersion: '4.17.3',
              plannedRebootAt: '2026-12-01T02:00:00Z',
            }),
      );
    }
    await store.store(events.map(http));
    // The store's reads stop below transactions open anywhere on the server (another test run's):
    // wait until these events are readable, so that each turn below reads a full batch.
    await eventually(
      'the events readable',
      async () => compareCheckpoints(await readHead(ds), await readHead(ds, { committed: true })) >= 0,
    );
    // a, b, a: every batch re-decides the same guests, so a stale memory would reuse a sequence (unique key) or skip a change
    const turns = [];
    for (let k = 0; k < 4; k++) turns.push((await (k % 2 === 0 ? a : b).runOnce()).events);
    expect(turns).toEqual([3, 3, 3, 0]);
    const after = await decisionOf(guestId);
    expect(after).toMatchObject({
      hypervisorVersion: '4.10.4',
      rsdp: 'low',
      action: 'none',
      sequence: before.sequence + 8,
    });
    await rebuildProjections(ds, { schema: 'projection_rebuild' });
    expect(await compareProjections(ds, 'projection', 'projection_rebuild')).toEqual([]);
  });

  it('the loaded projection tells an unchanged decision from a changed one as the full message does', async () => {
    const ws = await new ProjectionStore('projection').loadAll(ds);
    const rows: { guest_id: string; message: any }[] = await ds.query(
      `SELECT g.guest_id, g.host_id, d.message FROM projection.guests g JOIN projection.decisions d ON d.decision_id = g.decision_id`,
    );
    expect(rows.length).toBeGreaterThan(30);
    for (const r of rows as { guest_id: string; host_id: string; message: any }[])
      expect(ws.guest(r.guest_id, r.host_id)!.decisionKey).toBe(decisionKey(r.message));
  });
});
