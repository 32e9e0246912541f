// The fault suite's workload: a generated fleet (libs/sample-fleet) plus churn that changes
// many decisions and withdraws some (moves, removals, kernel changes and revocations, upgrade
// cancellations, completions and re-plans, host capability changes, operator declarations),
// with the order hazards of "Facts arrive in any order" (docs/domain): stale events, older
// than the ones they lose to, delivered after them. Every event has an occurredAt of its own
// (so the facts the checks expect do not depend on the order events were stored in), is
// delivered two or three times (some copies on another partition, some over HTTP), the first
// copies shuffled across keys (each key keeps its own order), and poison messages mixed in.
import { EventRouting, FleetEvent, Topics } from '@fleetcompat/contract';
import { envelope, fakeSha, fleetIds, generateFleet, prng } from '@fleetcompat/sample-fleet';

export interface WorkloadSize {
  readonly hosts: number;
  readonly guests: number;
  readonly kernels: number;
  readonly waves: number;
  readonly seed: number;
  /** Share of first copies moved around (across keys): 0..1 of the stream length. */
  readonly shuffleWindow: number;
  /** Share of events delivered three times instead of twice. */
  readonly tripleShare: number;
  /** Poison messages per 1000 deliveries. */
  readonly poisonPerMille: number;
  /** Oversize poison messages (300 KiB each), at most. */
  readonly oversizeMax: number;
  /** Share of the extra copies posted over HTTP instead of Kafka. */
  readonly httpShare: number;
  /** Share of the extra Kafka copies sent to a partition other than their key's. */
  readonly otherPartitionShare: number;
}

export type PoisonKind =
  'invalid-json' | 'not-utf8' | 'empty' | 'unknown-type' | 'invalid-data' | 'invalid-envelope' | 'oversize';

/** The dead-letter code each kind must get. */
export const POISON_CODE: Record<PoisonKind, string> = {
  'invalid-json': 'invalid-json',
  'not-utf8': 'invalid-json',
  empty: 'invalid-json',
  'unknown-type': 'unknown-type',
  'invalid-data': 'invalid-data',
  'invalid-envelope': 'invalid-envelope',
  oversize: 'oversize',
};

export interface Poison {
  /** Unique; the message key, so that its dead letter is found by key. */
  readonly marker: string;
  readonly kind: PoisonKind;
  readonly topic: string;
}

export interface Delivery {
  /** Contract topic name (without the run's prefix). */
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Buffer | null;
  /** An explicit partition (a copy sent off its key's partition); else the key decides. */
  readonly partition?: number;
  readonly channel: 'kafka' | 'http';
  /** The event (valid deliveries), for HTTP. */
  readonly event?: FleetEvent;
  readonly eventId?: string;
  readonly poison?: Poison;
  /** 1 for the first copy, 2.. for the repeats. */
  readonly copy: number;
}

export interface Workload {
  /** Every valid event, by eventId. */
  readonly valid: Map<string, FleetEvent>;
  readonly poison: Poison[];
  /** In delivery order. */
  readonly deliveries: Delivery[];
  readonly counts: Record<string, number>;
  /** What the churn did, by hazard: the guests, hosts and kernel images it touched (for the checks to sample). */
  readonly hazards: Hazards;
}

export interface Hazards {
  readonly guests: Map<string, Set<string>>;
  readonly hosts: Map<string, Set<string>>;
  readonly kernels: Map<string, Set<string>>;
}

/** The hypervisor build the workload's operators declare always-high (after a stale by-notes declaration of it). */
export const DECLARED_BUILD = '4.17.3-rsdp-high-dev';

/** Base fleet events get one millisecond each from here (the generator gives them all one time). */
const BASE = Date.parse('2026-11-20T08:00:00.000Z');
/** Churn events, one second apart from here. */
const T0 = Date.parse('2026-11-20T09:00:00.000Z');
/** Stale events meant to be older than the whole base fleet. */
const ANCIENT = Date.parse('2026-11-20T06:00:00.000Z');

/** Kernels the generated fleet lacks, each kind three times (their GUEST_OS strings test the need rule). */
const EXTRA_KERNELS: { kind: string; notes: any }[] = [
  {
    kind: 'Linux (capital L, no bit 15)',
    notes: { guestOs: 'Linux', guestVersion: '2.6', supportedFeatures: 0x801, phys32Entry: '0x1000400', pvh: true },
  },
  {
    kind: 'Linux (capital L, bit 15)',
    notes: { guestOs: 'Linux', guestVersion: '2.6', supportedFeatures: 0x8801, phys32Entry: '0x1000850', pvh: true },
  },
  { kind: 'linux-foo', notes: { guestOs: 'linux-foo', supportedFeatures: 0x801, phys32Entry: '0x1000400', pvh: true } },
  {
    kind: 'no GUEST_OS note',
    notes: { xenVersion: 'xen-3.0', supportedFeatures: 0x801, phys32Entry: '0x1000400', pvh: true },
  },
  { kind: 'no Xen notes', notes: null },
  { kind: 'FreeBSD', notes: { guestOs: 'FreeBSD', xenVersion: 'xen-3.0', phys32Entry: '0x200000', pvh: true } },
  {
    kind: 'NetBSD (default list, withdrawn by a declaration)',
    notes: { guestOs: 'NetBSD', phys32Entry: '0x200000', pvh: true },
  },
  { kind: 'Mini-OS (default list)', notes: { guestOs: 'Mini-OS', phys32Entry: '0x100000', pvh: true } },
  { kind: 'Unikraft (declared to cope)', notes: { guestOs: 'Unikraft', phys32Entry: '0x100000', pvh: true } },
];

/** Bootloader images announced with KernelBuildCompleted (their notes decide for pvh-grub guests on by-notes toolstacks). */
const BOOTLOADERS: { kind: string; notes: any }[] = [
  {
    kind: 'bootloader with GUEST_OS "linux", no bit 15',
    notes: { guestOs: 'linux', supportedFeatures: 0x801, phys32Entry: '0x100000', pvh: true },
  },
  { kind: 'bootloader with PHYS32_ENTRY only', notes: { phys32Entry: '0x100000', pvh: true } },
];

export function buildWorkload(size: WorkloadSize, prefix: string, partitions = 3): Workload {
  const rand = prng(size.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const ids = fleetIds({ ...size, prefix });

  // Every valid event gets an occurredAt of its own, so that "the latest occurredAt wins" decides
  // every fact without "ties: the one stored last", which the workload cannot know.
  const used = new Set<number>();
  const stamp = (ms: number, step: 1 | -1 = 1): string => {
    while (used.has(ms)) ms += step;
    used.add(ms);
    return new Date(ms).toISOString();
  };
  const ms = (iso: string) => Date.parse(iso);
  const base = [...generateFleet({ ...size, prefix })].map((e, i) => ({ ...e, occurredAt: stamp(BASE + i) }));

  // What the churn needs to know of the fleet.
  const guests = new Map<string, { data: any; at: string }>();
  const planned = new Map<string, { data: any; at: string }>();
  const hosts: { data: any; at: string }[] = [];
  const kernels: { data: any; at: string }[] = [];
  for (const e of base) {
    if (e.type === 'GuestObserved') guests.set(e.data.guestId, { data: e.data, at: e.occurredAt });
    if (e.type === 'HypervisorUpgradePlanned') planned.set(e.data.hostId, { data: e.data, at: e.occurredAt });
    if (e.type === 'HostRegistered') hosts.push({ data: e.data, at: e.occurredAt });
    if (e.type === 'KernelBuildCompleted') kernels.push({ data: e.data, at: e.occurredAt });
  }
  const hostIds = hosts.map((h) => h.data.hostId as string);
  const otherHost = (hostId: string) => {
    for (;;) {
      const h = pick(hostIds);
      if (h !== hostId) return h;
    }
  };
  let n = 0;
  let clock = 0;
  const now = () => stamp(T0 + ++clock * 1000);
  /** A time of its own within `withinMs` before `iso` (and after `after`, when given). */
  const before = (iso: string, withinMs: number, after?: string) => {
    const hi = ms(iso) - 1;
    const lo = Math.max(ms(iso) - withinMs, after ? ms(after) + 1 : -Infinity);
    const s = stamp(hi - Math.floor(rand() * (hi - lo + 1)), -1);
    if (ms(s) < lo) throw new Error(`workload: no free time between ${after} and ${iso}`);
    return s;
  };
  const ancient = () => stamp(ANCIENT + Math.floor(rand() * 3600 * 1000));
  const ev = (type: FleetEvent['type'], data: any, occurredAt = now()) =>
    envelope(`${prefix}-churn-${++n}`, type, occurredAt, 'faults/churn', data);
  const counts: Record<string, number> = {};
  const count = (what: string, k = 1) => (counts[what] = (counts[what] ?? 0) + k);
  const hazards: Hazards = { guests: new Map(), hosts: new Map(), kernels: new Map() };
  const tag = (m: Map<string, Set<string>>, what: string, id: string) => {
    if (!m.has(what)) m.set(what, new Set());
    m.get(what)!.add(id);
  };
  const guestHazard = (what: string, guestId: string) => (count(what), tag(hazards.guests, what, guestId));
  const hostHazard = (what: string, hostId: string) => (count(what), tag(hazards.hosts, what, hostId));
  const kernelHazard = (what: string, sha: string) => (count(what), tag(hazards.kernels, what, sha));

  // Rounds of churn: a later round's events are delivered (first copies) after an earlier
  // round's, across keys too (up to the shuffle window). Stale events (older occurredAt) go in
  // a later round than the newer events they lose to.
  const round1: FleetEvent[] = [];
  const round2: FleetEvent[] = [];
  const round3: FleetEvent[] = [];
  const inRound = (r: number, e: FleetEvent) => [round1, round2, round3][r - 1].push(e);

  // Kernels and bootloader images the generated fleet lacks.
  const extraKernels: string[] = [];
  EXTRA_KERNELS.forEach((k, i) => {
    for (let j = 0; j < 3; j++) {
      const sha = fakeSha(`${prefix}-extra-kernel-${i}-${j}`);
      extraKernels.push(sha);
      round1.push(
        ev('KernelBuildCompleted', { imageSha256: sha, release: `extra-${i}.${j}`, arch: 'x86_64', xenNotes: k.notes }),
      );
      kernelHazard(`kernels announced: ${k.kind}`, sha);
    }
  });
  const bootloaders = BOOTLOADERS.map((b, i) => {
    const sha = fakeSha(`${prefix}-bootloader-${i}`);
    round1.push(
      ev('KernelBuildCompleted', { imageSha256: sha, release: `bootloader-${i}`, arch: 'x86_64', xenNotes: b.notes }),
    );
    kernelHazard(`bootloader images announced: ${b.kind}`, sha);
    return sha;
  });

  for (const { data: g } of guests.values()) {
    const r = rand();
    if (r < 0.06) {
      round1.push(ev('GuestObserved', { ...g, hostId: otherHost(g.hostId) }));
      guestHazard('guests reported by a second host too (no removal: both keep it)', g.guestId);
    } else if (r < 0.12) {
      // A real move: the old host's removal and the new host's observation, in either order
      // in time and, independently, in delivery.
      const to = otherHost(g.hostId);
      const [t1, t2] = [now(), now()];
      const removedFirst = rand() < 0.5;
      inRound(
        rand() < 0.5 ? 1 : 2,
        ev('GuestRemoved', { guestId: g.guestId, hostId: g.hostId }, removedFirst ? t1 : t2),
      );
      inRound(rand() < 0.5 ? 1 : 2, ev('GuestObserved', { ...g, hostId: to }, removedFirst ? t2 : t1));
      guestHazard('guests moved (old host GuestRemoved, new host GuestObserved, either order)', g.guestId);
    } else if (r < 0.19 && g.boot.kernelSha256) {
      const kernel = rand() < 0.3 ? pick(extraKernels) : ids.kernelSha(Math.floor(rand() * size.kernels));
      round1.push(ev('GuestObserved', { ...g, boot: { ...g.boot, kernelSha256: kernel } }));
      guestHazard('guest kernel changes', g.guestId);
    } else if (r < 0.23) {
      round1.push(ev('GuestRemoved', { guestId: g.guestId, hostId: g.hostId }));
      guestHazard('guest removals', g.guestId);
    } else if (r < 0.25) {
      round1.push(ev('GuestRemoved', { guestId: g.guestId, hostId: g.hostId }, ancient()));
      guestHazard('stale removals (older than the observation, delivered after it: no effect)', g.guestId);
    } else if (r < 0.28) {
      const [t1, t2] = [now(), now()];
      round1.push(ev('GuestObserved', { ...g, memoryMiB: g.memoryMiB === 2048 ? 512 : 2048 }, t2));
      round2.push(ev('GuestRemoved', { guestId: g.guestId, hostId: g.hostId }, t1));
      guestHazard('removed then observed again, delivered the other way round (present)', g.guestId);
    } else if (r < 0.3) {
      round1.push(ev('GuestObserved', { ...g, mode: g.mode === 'pvh' ? 'hvm' : 'pvh', memoryMiB: 16384 }, ancient()));
      guestHazard('stale observations with other facts (older than the observation: no effect)', g.guestId);
    } else if (r < 0.33) {
      round1.push(ev('GuestObserved', g));
      guestHazard('guest re-observations (no change)', g.guestId);
    } else if (r < 0.37) {
      const to = otherHost(g.hostId);
      round1.push(ev('GuestObserved', { ...g, hostId: to }));
      round2.push(ev('GuestRemoved', { guestId: g.guestId, hostId: to }));
      guestHazard('guests observed on a second host, then removed from it', g.guestId);
    } else if (r < 0.39) {
      const to = otherHost(g.hostId);
      const [t1, t2] = [now(), now()];
      round1.push(ev('GuestRemoved', { guestId: g.guestId, hostId: to }, t2));
      round2.push(ev('GuestObserved', { ...g, hostId: to }, t1));
      guestHazard('second-host observation older than its removal, delivered after it (not on that host)', g.guestId);
    } else if (r < 0.42) {
      round1.push(ev('PlacementApplied', { hostId: g.hostId, guestId: g.guestId, decisionId: `${g.guestId}#1` }));
      count('placement acks');
    } else if (r < 0.46 && g.boot.method === 'pvh-grub') {
      round1.push(ev('GuestObserved', { ...g, boot: { ...g.boot, bootloaderSha256: pick(bootloaders) } }));
      guestHazard('pvh-grub guests on an announced bootloader image', g.guestId);
    }
  }

  // Hosts: capability changes first (older than every upgrade event below).
  const capability = new Map(hosts.map((h) => [h.data.hostId as string, h.data.rsdpOverrideSupported as boolean]));
  for (const { data: h } of hosts) {
    if (rand() < 0.1) {
      capability.set(h.hostId, !capability.get(h.hostId));
      round1.push(ev('HostRegistered', { ...h, rsdpOverrideSupported: capability.get(h.hostId) }));
      hostHazard('host capability changes (re-registration)', h.hostId);
    }
  }
  const other = (v: string) => (v === '4.11.0' ? '4.17.3' : '4.11.0');
  for (const { data: p, at: plannedAt } of planned.values()) {
    const r = rand();
    const h = hosts.find((x) => x.data.hostId === p.hostId)!.data;
    if (r < 0.18) {
      round1.push(ev('HypervisorUpgradeCancelled', { hostId: p.hostId, reason: 'fault suite' }));
      hostHazard('upgrade cancellations', p.hostId);
    } else if (r < 0.36) {
      round1.push(ev('HypervisorUpgradeStarted', { hostId: p.hostId }));
      const done = ev('HypervisorUpgradeCompleted', { hostId: p.hostId, version: p.toVersion });
      round2.push(done);
      if (rand() < 0.5) {
        // Sent by the host's agent before the upgrade, stored after it: must not roll the
        // host back (its capability, from the latest registration, does apply).
        capability.set(p.hostId, !capability.get(p.hostId));
        round3.push(
          ev(
            'HostRegistered',
            { ...h, rsdpOverrideSupported: capability.get(p.hostId) },
            before(done.occurredAt, 600000),
          ),
        );
        hostHazard('upgrades completed, then a stale re-registration on the old version delivered after', p.hostId);
      } else hostHazard('upgrade completions', p.hostId);
    } else if (r < 0.46) {
      round1.push(ev('HypervisorUpgradeCancelled', { hostId: p.hostId }));
      round2.push(ev('HypervisorUpgradePlanned', { ...p, toVersion: other(p.toVersion), waveId: `${prefix}-replan` }));
      hostHazard('upgrade re-plans (cancelled, planned again later)', p.hostId);
    } else if (r < 0.52) {
      const cancelled = ev('HypervisorUpgradeCancelled', {
        hostId: p.hostId,
        reason: 'fault suite: the re-plan below is older',
      });
      round1.push(cancelled);
      round2.push(
        ev(
          'HypervisorUpgradePlanned',
          { ...p, toVersion: other(p.toVersion), waveId: `${prefix}-stale-replan` },
          before(cancelled.occurredAt, 600000, plannedAt),
        ),
      );
      hostHazard('cancelled, with an older re-plan delivered after (no plan in force)', p.hostId);
    } else if (r < 0.58) {
      round1.push(ev('HypervisorUpgradeStarted', { hostId: p.hostId }));
      const done = ev('HypervisorUpgradeCompleted', { hostId: p.hostId, version: p.toVersion });
      round1.push(done);
      round2.push(
        ev(
          'HypervisorUpgradePlanned',
          { ...p, toVersion: other(p.toVersion), waveId: `${prefix}-stale-plan` },
          before(done.occurredAt, 600000, plannedAt),
        ),
      );
      hostHazard('completed, with an older plan delivered after (not in force)', p.hostId);
    } else if (r < 0.7) {
      round1.push(
        ev('HypervisorUpgradePlanned', {
          ...p,
          toVersion: '4.17.3',
          toBuild: DECLARED_BUILD,
          waveId: `${prefix}-declared-build`,
        }),
      );
      if (rand() < 0.5) {
        round2.push(ev('HypervisorUpgradeStarted', { hostId: p.hostId }));
        round3.push(ev('HypervisorUpgradeCompleted', { hostId: p.hostId, version: '4.17.3', build: DECLARED_BUILD }));
        hostHazard(`hosts upgraded to build ${DECLARED_BUILD}`, p.hostId);
      } else hostHazard(`hosts planned to build ${DECLARED_BUILD}`, p.hostId);
    }
  }
  for (const { data: h } of hosts) {
    if (planned.has(h.hostId)) continue;
    const r = rand();
    if (r < 0.12) {
      round1.push(
        ev('HostRegistered', {
          ...h,
          hypervisor: { name: 'xen', version: h.hypervisor.version, build: DECLARED_BUILD },
          rsdpOverrideSupported: capability.get(h.hostId),
        }),
      );
      hostHazard(`hosts re-registered running build ${DECLARED_BUILD}`, h.hostId);
    } else if (r < 0.17) {
      round1.push(
        ev(
          'HostRegistered',
          { ...h, hypervisor: { name: 'xen', version: '4.10.4' }, rsdpOverrideSupported: !capability.get(h.hostId) },
          ancient(),
        ),
      );
      hostHazard('stale registrations older than the first one (no effect)', h.hostId);
    }
  }

  // Guests on hosts that never register: no decision for them.
  for (let u = 0; u < 2; u++) {
    const hostId = `${prefix}-host-unregistered-${u + 1}`;
    for (let i = 0; i < 15; i++) {
      const guestId = `${prefix}-guest-unregistered-${u + 1}-${i}`;
      round1.push(
        ev('GuestObserved', {
          guestId,
          hostId,
          mode: 'pvh',
          memoryMiB: 2048,
          boot: { method: 'direct', kernelSha256: ids.kernelSha(i % size.kernels) },
        }),
      );
      guestHazard('guests on hosts that never register', guestId);
    }
    if (u === 0)
      round1.push(
        ev('HypervisorUpgradePlanned', {
          hostId,
          fromVersion: '4.10.4',
          toVersion: '4.17.3',
          plannedRebootAt: '2026-12-01T02:00:00Z',
        }),
      );
    hostHazard('hosts that never register', hostId);
  }

  // Kernels: revocations, re-announcements, both in either order.
  for (const { data: k, at: announcedAt } of kernels) {
    const r = rand();
    if (r < 0.05) {
      round1.push(ev('KernelBuildRevoked', { imageSha256: k.imageSha256, reason: 'fault suite' }));
      kernelHazard('kernel revocations', k.imageSha256);
    } else if (r < 0.08) {
      const [t1, t2] = [now(), now()];
      round1.push(ev('KernelBuildCompleted', k, t2));
      round2.push(
        ev('KernelBuildRevoked', { imageSha256: k.imageSha256, reason: 'fault suite: re-announced later' }, t1),
      );
      kernelHazard('kernels revoked then re-announced, delivered the other way round (known)', k.imageSha256);
    } else if (r < 0.1) {
      const revoked = ev('KernelBuildRevoked', {
        imageSha256: k.imageSha256,
        reason: 'fault suite: the re-announcement below is older',
      });
      round1.push(revoked);
      round2.push(ev('KernelBuildCompleted', k, before(revoked.occurredAt, 600000, announcedAt)));
      kernelHazard('kernels revoked, with an older re-announcement delivered after (revoked)', k.imageSha256);
    } else if (r < 0.12) {
      round1.push(
        ev(
          'KernelBuildRevoked',
          { imageSha256: k.imageSha256, reason: 'fault suite: older than the announcement' },
          ancient(),
        ),
      );
      kernelHazard('stale revocations older than the announcement (known)', k.imageSha256);
    }
  }

  // Operator declarations, each with an older one for the same key delivered after it.
  const declare = (type: 'HypervisorBehaviourDeclared' | 'GuestOsDeclared', stale: any, current: any, what: string) => {
    const [t1, t2] = [now(), now()];
    round1.push(ev(type, current, t2));
    if (stale) round3.push(ev(type, stale, t1));
    count(what);
  };
  declare(
    'HypervisorBehaviourDeclared',
    { build: DECLARED_BUILD, behaviour: 'by-notes', note: 'fault suite: older declaration, delivered later' },
    {
      build: DECLARED_BUILD,
      behaviour: 'always-high',
      note: 'fault suite: a development build that always places the RSDP high',
    },
    `behaviour declarations (build ${DECLARED_BUILD}: always-high, over an older by-notes)`,
  );
  declare(
    'GuestOsDeclared',
    { guestOs: 'Linux', copesWithHighRsdp: true, note: 'fault suite: older, delivered later' },
    { guestOs: 'Linux', copesWithHighRsdp: false },
    'GUEST_OS declarations: "Linux" does not cope (over an older "copes")',
  );
  declare(
    'GuestOsDeclared',
    { guestOs: 'FreeBSD', copesWithHighRsdp: false, note: 'fault suite: older, delivered later' },
    { guestOs: 'FreeBSD', copesWithHighRsdp: true },
    'GUEST_OS declarations: "FreeBSD" copes (over an older "does not")',
  );
  declare(
    'GuestOsDeclared',
    null,
    { guestOs: 'NetBSD', copesWithHighRsdp: false, note: 'fault suite: withdraws a default' },
    'GUEST_OS declarations: "NetBSD" does not cope (withdraws a default)',
  );
  declare(
    'GuestOsDeclared',
    null,
    { guestOs: 'Unikraft', copesWithHighRsdp: true },
    'GUEST_OS declarations: "Unikraft" copes (not a default)',
  );

  const ordered = [...base, ...shuffle(round1, rand), ...shuffle(round2, rand), ...shuffle(round3, rand)];
  const valid = new Map(ordered.map((e) => [e.eventId, e]));
  const times = new Set(ordered.map((e) => e.occurredAt));
  if (times.size !== ordered.length)
    throw new Error(`workload: ${ordered.length - times.size} events share an occurredAt with another`);
  counts['fleet events (generated)'] = base.length;
  counts['valid events'] = valid.size;

  // First copies: shuffled across keys, each key (= partition order) keeping its own order.
  const keyOf = (e: FleetEvent) => `${EventRouting[e.type].topic}|${EventRouting[e.type].key(e.data)}`;
  const window = Math.max(1, Math.floor(ordered.length * size.shuffleWindow));
  const slots = ordered.map((e, i) => ({ e, t: i + rand() * window })).sort((a, b) => a.t - b.t);
  const queues = new Map<string, FleetEvent[]>();
  for (const e of ordered) {
    const k = keyOf(e);
    if (!queues.has(k)) queues.set(k, []);
    queues.get(k)!.push(e);
  }
  const firsts = slots.map((s) => queues.get(keyOf(s.e))!.shift()!);

  // Every event twice or three times: repeats land later in the stream.
  type Placed = { t: number; d: Delivery };
  const placed: Placed[] = [];
  const total = firsts.length;
  firsts.forEach((e, i) => {
    const route = EventRouting[e.type];
    const key = route.key(e.data);
    const value = JSON.stringify(e);
    placed.push({
      t: i,
      d: { topic: route.topic, key, value, channel: 'kafka', event: e, eventId: e.eventId, copy: 1 },
    });
    const copies = rand() < size.tripleShare ? 3 : 2;
    for (let c = 2; c <= copies; c++) {
      const t = i + 1 + rand() * Math.max(1, total * 0.2);
      if (rand() < size.httpShare) {
        placed.push({
          t,
          d: { topic: route.topic, key, value, channel: 'http', event: e, eventId: e.eventId, copy: c },
        });
        count('repeats over HTTP');
      } else if (rand() < size.otherPartitionShare) {
        const partition = Math.floor(rand() * partitions);
        placed.push({
          t,
          d: { topic: route.topic, key, value, partition, channel: 'kafka', eventId: e.eventId, copy: c },
        });
        count('repeats on an explicit (maybe other) partition');
      } else {
        placed.push({ t, d: { topic: route.topic, key, value, channel: 'kafka', eventId: e.eventId, copy: c } });
      }
      count('repeats');
    }
  });

  // Poison, mixed in everywhere (each poison message delivered twice as well).
  const poison: Poison[] = [];
  const kinds: PoisonKind[] = ['invalid-json', 'not-utf8', 'empty', 'unknown-type', 'invalid-data', 'invalid-envelope'];
  const inputTopics = [Topics.kernelBuilds, Topics.guestInventory, Topics.hypervisorUpgrades, Topics.placementAcks];
  const poisonCount = Math.max(kinds.length + 1, Math.floor((placed.length * size.poisonPerMille) / 1000));
  const guestEvents = base.filter((e) => e.type === 'GuestObserved');
  let oversize = 0;
  for (let i = 0; i < poisonCount; i++) {
    const kind: PoisonKind =
      oversize < size.oversizeMax && (i === 0 || rand() < 0.05) ? 'oversize' : kinds[i % kinds.length];
    if (kind === 'oversize') oversize++;
    const p: Poison = { marker: `${prefix}-poison-${i}`, kind, topic: pick(inputTopics) };
    poison.push(p);
    count(`poison: ${kind}`);
    const value = poisonValue(p, pick(guestEvents));
    const t = rand() * total;
    placed.push({ t, d: { topic: p.topic, key: p.marker, value, channel: 'kafka', poison: p, copy: 1 } });
    placed.push({
      t: t + rand() * total * 0.2,
      d: { topic: p.topic, key: p.marker, value, channel: 'kafka', poison: p, copy: 2 },
    });
  }
  placed.sort((a, b) => a.t - b.t);
  const deliveries = placed.map((p) => p.d);
  counts['deliveries'] = deliveries.length;
  return { valid, poison, deliveries, counts, hazards };
}

function poisonValue(p: Poison, like: FleetEvent): string | Buffer | null {
  const eventId = p.marker;
  switch (p.kind) {
    case 'invalid-json':
      return `{"eventId": "${eventId}", "type": "GuestObserved", "data": {`;
    case 'not-utf8':
      return Buffer.concat([Buffer.from(`${eventId} `), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x00, 0x9f])]);
    case 'empty':
      return null;
    case 'unknown-type':
      return JSON.stringify({ ...like, eventId, type: 'GuestTeleported' });
    case 'invalid-data':
      return JSON.stringify({
        ...like,
        eventId,
        data: { ...(like.data as object), hostId: 42, imageSha256: 'not-a-sha' },
      });
    case 'invalid-envelope':
      return JSON.stringify({ eventId, type: like.type, occurredAt: 'yesterday', data: like.data });
    case 'oversize':
      return JSON.stringify({ ...like, eventId, source: 'x'.repeat(300 * 1024) });
  }
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
