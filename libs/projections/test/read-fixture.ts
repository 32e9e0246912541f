// The fixture of the read queries' int tests (src/read/*.int.spec.ts; not part of the build): a database of
// its own with the migrations run, the given events stored and projected by the real projector.
import { DataSource } from 'typeorm';
import { FleetEvent } from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { envelope, fakeSha } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '@fleetcompat/testing';
import { Projector } from '../src/projector';
import { ReadContext, readContext } from '../src/read/context';

export interface ReadFixture {
  readonly ds: DataSource;
  readonly ctx: ReadContext;
  /** Stores the events and waits until the projector has applied every one. */
  put(events: readonly FleetEvent[]): Promise<void>;
  close(): Promise<void>;
}

export async function readFixture(name: string): Promise<ReadFixture> {
  const db: TestDatabase = await createTestDatabase(`read_${name}`);
  const ds = await openDatabase({ url: db.url });
  const store = new PostgresEventStore(ds);
  const projector = new Projector(ds);
  return {
    ds,
    ctx: readContext(ds),
    async put(events) {
      await store.store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
      // The store shows an event to readers only once no older transaction is open on the
      // server (other tests share it): catch up until nothing is left behind the checkpoint.
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
    },
    async close() {
      await ds.destroy();
      await db.drop();
    },
  };
}

const at = (minute: number): string => new Date(Date.parse('2026-11-01T00:00:00Z') + minute * 60_000).toISOString();

/** The images of the small fleet: one that copes with a high RSDP (bit 15, PVH), one that does not, one revoked. */
export const IMAGES = {
  fixed: fakeSha('fixed'),
  old: fakeSha('old'),
  revoked: fakeSha('revoked'),
  unknown: fakeSha('never-announced'),
};

/**
 * A small fleet: h1 (4.10.4, rack r1, an upgrade to 4.17.3 planned in wave w1) with g1 (the
 * fixed kernel, acknowledged), g2 (the old kernel) and g-moving; h2 (4.17.3, rack r2) with g3
 * (HVM), g-moving (reported by both: a live migration) and g4 (removed); h3 never registered,
 * with g5 observed on it.
 */
export function smallFleet(): FleetEvent[] {
  const kernel = (id: string, sha: string, release: string, supportedFeatures: number, minute: number) =>
    envelope(id, 'KernelBuildCompleted', at(minute), 'ci', {
      imageSha256: sha,
      release,
      arch: 'x86_64',
      distro: 'debian-12',
      xenNotes: { guestOs: 'linux', supportedFeatures, pvh: true },
    });
  const observed = (
    id: string,
    guestId: string,
    hostId: string,
    minute: number,
    boot: { method: 'direct' | 'pvh-grub'; kernelSha256?: string },
    mode: 'pvh' | 'hvm' = 'pvh',
  ) => envelope(id, 'GuestObserved', at(minute), 'agent', { guestId, hostId, mode, memoryMiB: 2048, boot });
  return [
    kernel('k-fixed', IMAGES.fixed, '6.1.0-fixed', 1 << 15, 1),
    kernel('k-old', IMAGES.old, '5.10.0-old', 0, 2),
    kernel('k-revoked', IMAGES.revoked, '6.1.0-revoked', 1 << 15, 3),
    envelope('k-revoked-r', 'KernelBuildRevoked', at(4), 'ci', { imageSha256: IMAGES.revoked, reason: 'broken' }),
    envelope('reg-h1', 'HostRegistered', at(5), 'agent', {
      hostId: 'h1',
      hypervisor: { name: 'xen', version: '4.10.4' },
      rsdpOverrideSupported: true,
      labels: { rack: 'r1' },
    }),
    envelope('reg-h2', 'HostRegistered', at(6), 'agent', {
      hostId: 'h2',
      hypervisor: { name: 'xen', version: '4.17.3' },
      rsdpOverrideSupported: false,
      labels: { rack: 'r2' },
    }),
    observed('obs-g1', 'g1', 'h1', 7, { method: 'direct', kernelSha256: IMAGES.fixed }),
    observed('obs-g2', 'g2', 'h1', 8, { method: 'direct', kernelSha256: IMAGES.old }),
    observed('obs-g3', 'g3', 'h2', 9, { method: 'direct' }, 'hvm'),
    observed('obs-g4', 'g4', 'h2', 10, { method: 'direct', kernelSha256: IMAGES.old }),
    envelope('rm-g4', 'GuestRemoved', at(11), 'agent', { guestId: 'g4', hostId: 'h2' }),
    observed('obs-gm-h1', 'g-moving', 'h1', 12, { method: 'direct', kernelSha256: IMAGES.revoked }),
    observed('obs-gm-h2', 'g-moving', 'h2', 13, { method: 'direct', kernelSha256: IMAGES.revoked }),
    observed('obs-g5', 'g5', 'h3', 14, { method: 'direct', kernelSha256: IMAGES.unknown }),
    envelope('plan-h1', 'HypervisorUpgradePlanned', at(15), 'orchestrator', {
      hostId: 'h1',
      fromVersion: '4.10.4',
      toVersion: '4.17.3',
      plannedRebootAt: '2026-12-01T02:00:00Z',
      waveId: 'w1',
    }),
  ];
}

/** The small fleet stored and projected, and g1's current decision on h1 acknowledged (PlacementApplied). */
export async function smallFleetFixture(name: string): Promise<ReadFixture> {
  const f = await readFixture(name);
  await f.put(smallFleet());
  const [{ decision_id }] = await f.ds.query(
    `SELECT decision_id FROM projection.guests WHERE guest_id = 'g1' AND host_id = 'h1'`,
  );
  await f.put([
    envelope('ack-g1', 'PlacementApplied', at(16), 'agent', { hostId: 'h1', guestId: 'g1', decisionId: decision_id }),
  ]);
  return f;
}

/**
 * The small fleet with what a planner's dashboard shows: on h1 g6 booting the old kernel
 * through pvh-grub (the toolstack cannot read it: overridden low), on h2 g7 likewise (h2
 * cannot override: blocked); h4 (4.17.3, rack r1, an upgrade to 4.19.1 planned in wave w2)
 * with g8 (the fixed kernel), acknowledged: the one host that is go.
 */
export async function dashboardFleetFixture(name: string): Promise<ReadFixture> {
  const f = await smallFleetFixture(name);
  const observed = (
    id: string,
    guestId: string,
    hostId: string,
    minute: number,
    boot: { method: 'direct' | 'pvh-grub'; kernelSha256?: string },
  ) => envelope(id, 'GuestObserved', at(minute), 'agent', { guestId, hostId, mode: 'pvh', memoryMiB: 2048, boot });
  await f.put([
    observed('obs-g6', 'g6', 'h1', 20, { method: 'pvh-grub', kernelSha256: IMAGES.old }),
    observed('obs-g7', 'g7', 'h2', 21, { method: 'pvh-grub', kernelSha256: IMAGES.old }),
    envelope('reg-h4', 'HostRegistered', at(22), 'agent', {
      hostId: 'h4',
      hypervisor: { name: 'xen', version: '4.17.3' },
      rsdpOverrideSupported: true,
      labels: { rack: 'r1' },
    }),
    observed('obs-g8', 'g8', 'h4', 23, { method: 'direct', kernelSha256: IMAGES.fixed }),
    envelope('plan-h4', 'HypervisorUpgradePlanned', at(24), 'orchestrator', {
      hostId: 'h4',
      fromVersion: '4.17.3',
      toVersion: '4.19.1',
      plannedRebootAt: '2026-12-02T03:00:00Z',
      waveId: 'w2',
    }),
  ]);
  const [{ decision_id }] = await f.ds.query(
    `SELECT decision_id FROM projection.guests WHERE guest_id = 'g8' AND host_id = 'h4'`,
  );
  await f.put([
    envelope('ack-g8', 'PlacementApplied', at(25), 'agent', { hostId: 'h4', guestId: 'g8', decisionId: decision_id }),
  ]);
  return f;
}
