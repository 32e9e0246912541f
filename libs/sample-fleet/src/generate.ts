import { FleetEvent, XenNotes } from '@fleetcompat/contract';
import { envelope, fakeSha } from './sample';

/** Sizes of a generated fleet (benchmarks, fault tests). */
export interface FleetSize {
  readonly hosts: number;
  readonly guests: number;
  readonly kernels: number;
  /** Upgrade waves: hosts on 4.10 are planned into waves in order. */
  readonly waves: number;
  readonly seed?: number;
  /** Prefix of every id and eventId, so that two fleets do not collide. */
  readonly prefix?: string;
}

export const DEFAULT_FLEET: FleetSize = { hosts: 5000, guests: 250000, kernels: 2000, waves: 10 };

/** mulberry32: a small deterministic PRNG, so a seed gives the same fleet every time. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type KernelKind = 'old-linux' | 'new-linux' | 'freebsd' | 'not-pvh';

function kernelKind(i: number): KernelKind {
  const r = i % 20;
  if (r < 6) return 'old-linux'; // 30%
  if (r < 17) return 'new-linux'; // 55%
  if (r < 19) return 'freebsd'; // 10%
  return 'not-pvh'; // 5%
}

const NOTES: Record<KernelKind, XenNotes | null> = {
  'old-linux': {
    guestOs: 'linux',
    guestVersion: '2.6',
    xenVersion: 'xen-3.0',
    loader: 'generic',
    supportedFeatures: 0x801,
    phys32Entry: '0x1000400',
    pvh: true,
  },
  'new-linux': {
    guestOs: 'linux',
    guestVersion: '2.6',
    xenVersion: 'xen-3.0',
    loader: 'generic',
    supportedFeatures: 0x8801,
    phys32Entry: '0x1000850',
    pvh: true,
  },
  freebsd: { guestOs: 'FreeBSD', xenVersion: 'xen-3.0', phys32Entry: '0x200000', pvh: true },
  'not-pvh': { guestOs: 'linux', guestVersion: '2.6', supportedFeatures: 0x801, pvh: false },
};

/** Ids used by a generated fleet, for tests that need to address its parts. */
export function fleetIds(size: FleetSize) {
  const p = size.prefix ?? 'gen';
  return {
    host: (i: number) => `${p}-host-${String(i).padStart(6, '0')}`,
    guest: (i: number) => `${p}-guest-${String(i).padStart(8, '0')}`,
    kernelSha: (i: number) => fakeSha(`${p}-kernel-${i}`),
    unknownSha: (i: number) => fakeSha(`${p}-unannounced-${i}`),
  };
}

/**
 * A generated fleet as events, lazily (a million guests need not sit in memory): kernel
 * builds, hosts (70% on 4.10.4, 30% on 4.17.3; half can force low placement), guests spread
 * over the hosts (80% PVH, 30% of those behind pvh-grub, 3% on kernels CI never announced),
 * then upgrades of the 4.10 hosts into waves (to 4.11.0 or 4.17.3). Deterministic per seed.
 */
export function* generateFleet(size: FleetSize = DEFAULT_FLEET): Generator<FleetEvent> {
  const rand = prng(size.seed ?? 1);
  const ids = fleetIds(size);
  const p = size.prefix ?? 'gen';
  const at = '2026-11-20T08:00:00.000Z';
  let n = 0;
  const eventId = () => `${p}-ev-${++n}`;

  for (let k = 0; k < size.kernels; k++) {
    const kind = kernelKind(k);
    yield envelope(eventId(), 'KernelBuildCompleted', at, 'ci/generated', {
      imageSha256: ids.kernelSha(k),
      release: `${kind === 'old-linux' ? '4.15' : kind === 'new-linux' ? '6.1' : kind === 'freebsd' ? '13.2' : '4.9'}.${k}-generated`,
      arch: 'x86_64',
      distro: `distro-${k % 7}`,
      xenNotes: NOTES[kind],
    });
  }
  const hostVersion: string[] = [];
  for (let h = 0; h < size.hosts; h++) {
    const version = rand() < 0.7 ? '4.10.4' : '4.17.3';
    hostVersion.push(version);
    yield envelope(eventId(), 'HostRegistered', at, 'agent/generated', {
      hostId: ids.host(h),
      hypervisor: { name: 'xen', version },
      rsdpOverrideSupported: rand() < 0.5,
      labels: { rack: `r${Math.floor(h / 40)}`, pool: `pool-${h % 5}` },
    });
  }
  for (let g = 0; g < size.guests; g++) {
    const r = rand();
    const mode = r < 0.8 ? 'pvh' : r < 0.95 ? 'hvm' : 'pv';
    const unknown = rand() < 0.03;
    const kernel =
      size.kernels > 0 && !unknown ? ids.kernelSha(Math.floor(rand() * size.kernels)) : ids.unknownSha(g % 97);
    yield envelope(eventId(), 'GuestObserved', at, 'agent/generated', {
      guestId: ids.guest(g),
      hostId: ids.host(g % size.hosts),
      mode,
      memoryMiB: [512, 1024, 2048, 4096, 16384][Math.floor(rand() * 5)],
      boot: {
        method: mode === 'pvh' && rand() < 0.3 ? 'pvh-grub' : 'direct',
        ...(mode === 'hvm' ? {} : { kernelSha256: kernel }),
      },
    });
  }
  const oldHosts = hostVersion.map((v, h) => (v === '4.10.4' ? h : -1)).filter((h) => h >= 0);
  const perWave = size.waves > 0 ? Math.ceil(oldHosts.length / size.waves) : 0;
  for (let i = 0; size.waves > 0 && i < oldHosts.length; i++) {
    const h = oldHosts[i];
    yield envelope(eventId(), 'HypervisorUpgradePlanned', at, 'orchestrator/generated', {
      hostId: ids.host(h),
      fromVersion: '4.10.4',
      toVersion: rand() < 0.5 ? '4.11.0' : '4.17.3',
      plannedRebootAt: '2026-12-01T02:00:00Z',
      waveId: `${p}-wave-${Math.floor(i / perWave) + 1}`,
    });
  }
}
