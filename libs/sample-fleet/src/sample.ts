import { createHash } from 'node:crypto';
import { EventDataOf, EventType, FleetEvent } from '@fleetcompat/contract';

/** A deterministic sha256 for a made-up image name (sample and generated fleets). */
export function fakeSha(name: string): string {
  return createHash('sha256').update(`fleetcompat-sample:${name}`).digest('hex');
}

export function envelope<T extends EventType>(
  eventId: string,
  type: T,
  occurredAt: string,
  source: string,
  data: EventDataOf<T>,
): FleetEvent {
  return { eventId, type, schemaVersion: 1, occurredAt, source, data } as FleetEvent;
}

/** The kernels of the sample fleet. */
export const SAMPLE_KERNELS = {
  /** Ubuntu 18.04's 4.15: PVH-capable Linux without XENFEAT_linux_rsdp_unrestricted (0x801). */
  linux415: {
    sha: fakeSha('linux-4.15.0-213-generic'),
    release: '4.15.0-213-generic',
    distro: 'ubuntu-18.04',
    notes: {
      guestOs: 'linux',
      guestVersion: '2.6',
      xenVersion: 'xen-3.0',
      loader: 'generic',
      features: '!writable_page_tables|pae_pgdir_above_4gb',
      supportedFeatures: 0x801,
      phys32Entry: '0x1000400',
      pvh: true,
    },
  },
  /** Debian 12's 6.1: sets the flag (0x8801). */
  linux61: {
    sha: fakeSha('linux-6.1.0-47-cloud-amd64'),
    release: '6.1.0-47-cloud-amd64',
    distro: 'debian-12',
    notes: {
      guestOs: 'linux',
      guestVersion: '2.6',
      xenVersion: 'xen-3.0',
      loader: 'generic',
      features: '!writable_page_tables|pae_pgdir_above_4gb',
      supportedFeatures: 0x8801,
      phys32Entry: '0x1000850',
      pvh: true,
    },
  },
  /** FreeBSD reads rsdp_paddr. */
  freebsd13: {
    sha: fakeSha('freebsd-13.2-GENERIC'),
    release: '13.2-RELEASE',
    distro: 'freebsd-13',
    notes: {
      guestOs: 'FreeBSD',
      guestVersion: '13.2',
      xenVersion: 'xen-3.0',
      loader: 'generic',
      phys32Entry: '0x200000',
      pvh: true,
    },
  },
  /** An old Linux with Xen notes but no PHYS32_ENTRY: not PVH-capable. */
  linux49: {
    sha: fakeSha('linux-4.9.0-19-amd64'),
    release: '4.9.0-19-amd64',
    distro: 'debian-9',
    notes: {
      guestOs: 'linux',
      guestVersion: '2.6',
      xenVersion: 'xen-3.0',
      loader: 'generic',
      supportedFeatures: 0x801,
      pvh: false,
    },
  },
  /** Booted by some guests but never announced by CI. */
  unannounced: { sha: fakeSha('custom-kernel-never-announced') },
} as const;

const T0 = Date.parse('2026-11-20T08:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/**
 * A small fleet that shows every case: four hosts on Xen 4.10 (one already on 4.17),
 * upgrades planned to 4.11.0 and 4.17.3 in two waves, old and new Linux, FreeBSD, pvh-grub,
 * an unannounced kernel, a kernel that cannot boot as PVH, HVM and PV guests.
 * Event ids are fixed, so loading it twice has no second effect.
 */
export function sampleFleet(): FleetEvent[] {
  const K = SAMPLE_KERNELS;
  const events: FleetEvent[] = [];
  let n = 0;
  const id = () => `sample-${String(++n).padStart(4, '0')}`;

  for (const k of [K.linux415, K.linux61, K.freebsd13, K.linux49]) {
    events.push(
      envelope(id(), 'KernelBuildCompleted', at(0), 'ci/sample', {
        imageSha256: k.sha,
        release: k.release,
        arch: 'x86_64',
        distro: k.distro,
        pipeline: { name: 'kernel-build', runId: `run-${n}`, url: `https://ci.example.net/kernel-build/${n}` },
        xenNotes: k.notes,
      }),
    );
  }

  const hosts = [
    { hostId: 'host-r1-01', version: '4.10.4', override: false, rack: 'r1', plan: { to: '4.11.0', wave: 'wave-1' } },
    { hostId: 'host-r1-02', version: '4.10.4', override: true, rack: 'r1', plan: { to: '4.17.3', wave: 'wave-1' } },
    { hostId: 'host-r2-01', version: '4.10.4', override: false, rack: 'r2', plan: { to: '4.17.3', wave: 'wave-2' } },
    { hostId: 'host-r2-02', version: '4.17.3', override: true, rack: 'r2', plan: null },
  ];
  for (const h of hosts) {
    events.push(
      envelope(id(), 'HostRegistered', at(1), 'agent/sample', {
        hostId: h.hostId,
        hypervisor: { name: 'xen', version: h.version },
        rsdpOverrideSupported: h.override,
        labels: { rack: h.rack, pool: 'general' },
      }),
    );
  }

  // Each host runs the same mix of guests.
  const mix: {
    name: string;
    mode: 'pvh' | 'hvm' | 'pv';
    memoryMiB: number;
    method: 'direct' | 'pvh-grub';
    kernel?: string;
  }[] = [
    { name: 'web-old-direct', mode: 'pvh', memoryMiB: 2048, method: 'direct', kernel: K.linux415.sha },
    { name: 'db-old-grub', mode: 'pvh', memoryMiB: 8192, method: 'pvh-grub', kernel: K.linux415.sha },
    { name: 'api-new-direct', mode: 'pvh', memoryMiB: 4096, method: 'direct', kernel: K.linux61.sha },
    { name: 'cache-new-grub', mode: 'pvh', memoryMiB: 512, method: 'pvh-grub', kernel: K.linux61.sha },
    { name: 'fw-freebsd', mode: 'pvh', memoryMiB: 1024, method: 'direct', kernel: K.freebsd13.sha },
    { name: 'batch-custom', mode: 'pvh', memoryMiB: 1024, method: 'direct', kernel: K.unannounced.sha },
    { name: 'legacy-49', mode: 'pvh', memoryMiB: 512, method: 'direct', kernel: K.linux49.sha },
    { name: 'win-hvm', mode: 'hvm', memoryMiB: 4096, method: 'direct' },
    { name: 'old-pv', mode: 'pv', memoryMiB: 1024, method: 'direct', kernel: K.linux415.sha },
  ];
  for (const h of hosts) {
    for (const g of mix) {
      events.push(
        envelope(id(), 'GuestObserved', at(2), 'agent/sample', {
          guestId: `${h.hostId}.${g.name}`,
          hostId: h.hostId,
          mode: g.mode,
          memoryMiB: g.memoryMiB,
          boot: { method: g.method, ...(g.kernel ? { kernelSha256: g.kernel } : {}) },
        }),
      );
    }
  }

  for (const h of hosts) {
    if (!h.plan) continue;
    events.push(
      envelope(id(), 'HypervisorUpgradePlanned', at(3), 'orchestrator/sample', {
        hostId: h.hostId,
        fromVersion: h.version,
        toVersion: h.plan.to,
        plannedRebootAt: '2026-12-01T02:00:00Z',
        waveId: h.plan.wave,
      }),
    );
  }
  return events;
}
