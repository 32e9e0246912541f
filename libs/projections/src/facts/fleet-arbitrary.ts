// Generated fleets of events for the order properties (tests only; not exported from index.ts).
import fc from 'fast-check';
import { FactEvent } from './events';
import { ev, sha } from './testing';

const HOSTS = ['h1', 'h2', 'h3'];
const GUESTS = ['g1', 'g2', 'g3', 'g4'];
const IMAGES = [sha('a'), sha('b'), sha('c'), sha('d')];
const VERSIONS = ['4.10.4', '4.11.0', '4.17.3', '4.19.1', '4.11-rc'];

/** Kernel notes of every kind the policy tells apart. */
const NOTES = [
  { guestOs: 'linux', supportedFeatures: 0x801, phys32Entry: '0x1000000', pvh: true },
  { guestOs: 'linux', supportedFeatures: 0x8801, phys32Entry: '0x1000000', pvh: true },
  { guestOs: 'FreeBSD', pvh: true },
  { guestOs: 'Linux', supportedFeatures: 0x801, pvh: true },
  { guestOs: 'Mini-OS', pvh: true },
  { guestOs: 'linux', supportedFeatures: 0x801, pvh: false },
  { pvh: true },
  null,
];

/**
 * Minutes from a small range, so that times often tie (the tie rule is exercised) and
 * often order facts differently from the order they are generated in. Some carry an offset
 * that makes their text sort apart from their instant.
 */
const time = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean()).map(([m, offset]) => {
  const t = new Date(Date.UTC(2026, 10, 1) + m * 60_000);
  if (!offset) return t.toISOString();
  const local = new Date(t.getTime() + 2 * 3600_000).toISOString().slice(0, 19);
  return `${local}+02:00`;
});

const host = fc.constantFrom(...HOSTS);
const guest = fc.constantFrom(...GUESTS);
const image = fc.constantFrom(...IMAGES);
const version = fc.constantFrom(...VERSIONS);

const event: fc.Arbitrary<(id: string) => FactEvent> = fc.oneof(
  fc
    .record({
      at: time,
      hostId: host,
      version,
      override: fc.boolean(),
      rack: fc.constantFrom('r1', 'r2'),
      build: fc.option(fc.constantFrom('b-dev', 'b-rel'), { nil: undefined }),
    })
    .map(
      (r) => (id: string) =>
        ev(
          'HostRegistered',
          r.at,
          {
            hostId: r.hostId,
            hypervisor: { name: 'xen', version: r.version, ...(r.build ? { build: r.build } : {}) },
            rsdpOverrideSupported: r.override,
            labels: { rack: r.rack },
          },
          id,
        ),
    ),
  fc
    .record({
      at: time,
      hostId: host,
      to: version,
      build: fc.option(fc.constantFrom('b-dev', 'b-rel'), { nil: undefined }),
      wave: fc.constantFrom('w1', 'w2'),
    })
    .map(
      (r) => (id: string) =>
        ev(
          'HypervisorUpgradePlanned',
          r.at,
          {
            hostId: r.hostId,
            fromVersion: '4.10.4',
            toVersion: r.to,
            plannedRebootAt: '2026-12-24T00:00:00Z',
            waveId: r.wave,
            ...(r.build ? { toBuild: r.build } : {}),
          },
          id,
        ),
    ),
  fc
    .record({ at: time, hostId: host })
    .map((r) => (id: string) => ev('HypervisorUpgradeStarted', r.at, { hostId: r.hostId }, id)),
  fc
    .record({
      at: time,
      hostId: host,
      version,
      build: fc.option(fc.constantFrom('b-dev', 'b-rel'), { nil: undefined }),
    })
    .map(
      (r) => (id: string) =>
        ev(
          'HypervisorUpgradeCompleted',
          r.at,
          { hostId: r.hostId, version: r.version, ...(r.build ? { build: r.build } : {}) },
          id,
        ),
    ),
  fc
    .record({ at: time, hostId: host })
    .map((r) => (id: string) => ev('HypervisorUpgradeCancelled', r.at, { hostId: r.hostId }, id)),
  fc
    .record({
      at: time,
      guestId: guest,
      hostId: host,
      mode: fc.constantFrom('pvh', 'pvh', 'pvh', 'hvm', 'pv'),
      memory: fc.constantFrom(512, 1024, 4096),
      method: fc.constantFrom('direct', 'pvh-grub', 'other'),
      kernel: fc.option(image, { nil: undefined }),
      bootloader: fc.option(image, { nil: undefined }),
    })
    .map(
      (r) => (id: string) =>
        ev(
          'GuestObserved',
          r.at,
          {
            guestId: r.guestId,
            hostId: r.hostId,
            mode: r.mode,
            memoryMiB: r.memory,
            boot: {
              method: r.method,
              ...(r.kernel ? { kernelSha256: r.kernel } : {}),
              ...(r.bootloader ? { bootloaderSha256: r.bootloader } : {}),
            },
          },
          id,
        ),
    ),
  fc
    .record({ at: time, guestId: guest, hostId: host })
    .map((r) => (id: string) => ev('GuestRemoved', r.at, { guestId: r.guestId, hostId: r.hostId }, id)),
  fc
    .record({ at: time, image, notes: fc.constantFrom(...NOTES), release: fc.constantFrom('4.15.0', '6.1.0') })
    .map(
      (r) => (id: string) =>
        ev(
          'KernelBuildCompleted',
          r.at,
          { imageSha256: r.image, release: r.release, arch: 'x86_64', distro: 'debian', xenNotes: r.notes },
          id,
        ),
    ),
  fc
    .record({ at: time, image })
    .map((r) => (id: string) => ev('KernelBuildRevoked', r.at, { imageSha256: r.image, reason: 'revoked' }, id)),
  fc
    .record({ at: time, guestId: guest, hostId: host, n: fc.integer({ min: 1, max: 5 }) })
    .map(
      (r) => (id: string) =>
        ev('PlacementApplied', r.at, { hostId: r.hostId, guestId: r.guestId, decisionId: `${r.guestId}#${r.n}` }, id),
    ),
  fc
    .record({
      at: time,
      version,
      behaviour: fc.constantFrom('always-low', 'by-notes', 'always-high'),
      byBuild: fc.boolean(),
    })
    .map(
      (r) => (id: string) =>
        ev(
          'HypervisorBehaviourDeclared',
          r.at,
          { ...(r.byBuild ? { build: 'b-dev' } : { version: r.version }), behaviour: r.behaviour },
          id,
        ),
    ),
  fc
    .record({ at: time, guestOs: fc.constantFrom('Linux', 'Mini-OS', 'FreeBSD'), copes: fc.boolean() })
    .map((r) => (id: string) => ev('GuestOsDeclared', r.at, { guestOs: r.guestOs, copesWithHighRsdp: r.copes }, id)),
);

/** A fleet's events, each with its own eventId, in the order they were generated. */
export const fleetEvents = (maxLength = 60): fc.Arbitrary<FactEvent[]> =>
  fc.array(event, { minLength: 1, maxLength }).map((makers) => makers.map((make, i) => make(`ev-${i}`)));

/** A fleet's events and a permutation of them (the order they are stored in). */
export const fleetInAnyOrder = (maxLength = 60): fc.Arbitrary<{ events: FactEvent[]; stored: FactEvent[] }> =>
  fleetEvents(maxLength).chain((events) =>
    fc
      .shuffledSubarray(events, { minLength: events.length, maxLength: events.length })
      .map((stored) => ({ events, stored })),
  );
