import fc from 'fast-check';
import { BehaviourTable, DEFAULT_BEHAVIOUR_TABLE } from './behaviour';
import { BootMethod, decidePlacement, KernelFacts, PlacementInput } from './decide';
import { DEFAULT_GUEST_OS_TABLE, GuestOsRule, GuestOsTable, lookupGuestOs } from './guest-os';
import { RsdpNotes } from './notes';

/*
 * Property tests: generated notes (GUEST_OS strings with near-misses, random u32 bitmaps) against
 * a tiny oracle written here from the domain, independently of the policy code.
 */

// ---- the oracle -----------------------------------------------------------------------------
const COPING_BY_DEFAULT = ['FreeBSD', 'NetBSD', 'Mini-OS'];
/** Bit 15 by arithmetic, not by shifting, so that it shares nothing with the code under test. */
function oracleBit15(bits: number | undefined): boolean {
  return bits !== undefined && Math.floor(bits / 32768) % 2 === 1;
}
/** The need per the domain: high only for bit 15, or a GUEST_OS that the list (declared first) says copes. */
function oracleNeed(notes: RsdpNotes | null | 'unknown', declared: readonly GuestOsRule[] = []): 'low' | 'high' {
  if (notes === 'unknown' || notes === null) return 'low';
  if (oracleBit15(notes.supportedFeatures)) return 'high';
  const os = notes.guestOs;
  if (os === undefined || os === 'linux') return 'low';
  for (const r of declared) if (r.guestOs === os) return r.copesWithHighRsdp ? 'high' : 'low';
  return COPING_BY_DEFAULT.includes(os) ? 'high' : 'low';
}

// ---- generators -----------------------------------------------------------------------------
const NEAR_MISSES = [
  'linux',
  'Linux',
  'LINUX',
  'linux ',
  ' linux',
  'linux\u0000',
  'linux-foo',
  'linu',
  'linuxx',
  'FreeBSD',
  'freebsd',
  'FREEBSD',
  'FreeBSD ',
  'Free BSD',
  'NetBSD',
  'netbsd',
  'NetBsd',
  'OpenBSD',
  'Mini-OS',
  'mini-os',
  'MiniOS',
  'Mini-OS ',
  'Mini_OS',
  '',
  'Xen',
  'Solaris',
];
const guestOsArb = fc.oneof(
  fc.constantFrom(...NEAR_MISSES),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const bitmapArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(0x801, 0x8801, 0x8000, 0x7fff, 0xffff7fff, 0xffffffff, 0, 1 << 16),
);
const notesArb: fc.Arbitrary<RsdpNotes> = fc.record(
  { guestOs: guestOsArb, supportedFeatures: bitmapArb, pvh: fc.boolean() },
  { requiredKeys: [] },
);
const kernelNotesArb: fc.Arbitrary<RsdpNotes | null | 'unknown'> = fc.oneof(
  { weight: 8, arbitrary: notesArb },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant<'unknown'>('unknown') },
);
const declaredArb: fc.Arbitrary<GuestOsRule[]> = fc.array(
  fc.record({
    guestOs: fc.oneof(
      fc.constantFrom(...NEAR_MISSES.filter((s) => s !== '' && s !== 'linux')),
      fc.string({ minLength: 1, maxLength: 8 }),
    ),
    copesWithHighRsdp: fc.boolean(),
  }),
  { maxLength: 4 },
);

const DEV_BUILD = '4.11-unstable-20180115';
const BEHAVIOURS: BehaviourTable = {
  ...DEFAULT_BEHAVIOUR_TABLE,
  declared: [{ build: DEV_BUILD, behaviour: 'always-high' }],
};
const hostArb = fc.record({
  hypervisor: fc.constantFrom(
    { version: '4.10.4', build: undefined },
    { version: '4.11.0', build: undefined },
    { version: '4.17.3', build: undefined },
    { version: '4.11.0', build: DEV_BUILD },
    { version: '4.11-unstable', build: undefined },
  ),
  override: fc.boolean(),
});

function input(
  notes: RsdpNotes | null | 'unknown',
  over: {
    method?: BootMethod;
    memoryMiB?: number;
    version?: string;
    build?: string;
    override?: boolean;
    guestOses?: GuestOsTable;
    bootloaderNotes?: RsdpNotes;
  } = {},
): PlacementInput {
  const kernel: KernelFacts | undefined =
    notes === 'unknown' ? undefined : { imageSha256: '1'.repeat(64), xenNotes: notes };
  return {
    guest: {
      guestId: 'g',
      mode: 'pvh',
      memoryMiB: over.memoryMiB ?? 2048,
      boot: { method: over.method ?? 'pvh-grub', kernelSha256: '1'.repeat(64) },
    },
    host: {
      hostId: 'h',
      hypervisorVersion: over.version ?? '4.17.3',
      hypervisorBuild: over.build,
      rsdpOverrideSupported: over.override ?? false,
    },
    kernel,
    bootloaderNotes: over.bootloaderNotes,
    behaviours: BEHAVIOURS,
    guestOses: over.guestOses ?? DEFAULT_GUEST_OS_TABLE,
  };
}

describe('properties of the need', () => {
  it('given any generated kernel notes, the need is what the oracle says (high only on bit 15 or a GUEST_OS on the list)', () => {
    fc.assert(
      fc.property(kernelNotesArb, fc.constantFrom<BootMethod>('direct', 'pvh-grub', 'other'), (notes, method) => {
        const d = decidePlacement(input(notes, { method }));
        expect(d.facts.need).toBe(oracleNeed(notes));
      }),
      { numRuns: 2000 },
    );
  });

  it('given any bitmap with bit 15, the kernel needs high whatever its GUEST_OS says, even one declared not to cope', () => {
    fc.assert(
      fc.property(
        fc.option(guestOsArb, { nil: undefined }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (guestOs, bits) => {
          const withBit15 = (bits | 0x8000) >>> 0;
          const declared: GuestOsRule[] = guestOs === undefined ? [] : [{ guestOs, copesWithHighRsdp: false }];
          const d = decidePlacement(
            input(
              { guestOs, supportedFeatures: withBit15, pvh: true },
              { guestOses: { ...DEFAULT_GUEST_OS_TABLE, declared } },
            ),
          );
          expect(d.facts).toMatchObject({ need: 'high', needReason: 'kernel-has-rsdp-unrestricted' });
        },
      ),
    );
  });

  it('given any bitmap without bit 15, a GUEST_OS that is not on the list needs low', () => {
    fc.assert(
      fc.property(
        guestOsArb.filter((s) => !COPING_BY_DEFAULT.includes(s)),
        fc.integer({ min: 0, max: 0xffffffff }),
        (guestOs, bits) => {
          const without = (bits & ~0x8000) >>> 0;
          const d = decidePlacement(input({ guestOs, supportedFeatures: without, pvh: true }));
          expect(d.facts.need).toBe('low');
          expect(d.facts.needReason).toBe(
            guestOs === 'linux' ? 'kernel-lacks-rsdp-unrestricted' : 'guest-os-not-known-to-cope',
          );
        },
      ),
    );
  });

  it('given declared GUEST_OS rules, a declared rule overrides the default for its GUEST_OS and nothing else', () => {
    fc.assert(
      fc.property(declaredArb, kernelNotesArb, (declared, notes) => {
        const table: GuestOsTable = { ...DEFAULT_GUEST_OS_TABLE, declared };
        const d = decidePlacement(input(notes, { guestOses: table }));
        expect(d.facts.need).toBe(oracleNeed(notes, declared));
      }),
      { numRuns: 2000 },
    );
  });

  it('given an operator declaration about a default GUEST_OS, the kernel follows the declaration, not the default', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...COPING_BY_DEFAULT),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 0x7fff }), { nil: undefined }),
        (guestOs, copes, bits) => {
          const rule: GuestOsRule = { guestOs, copesWithHighRsdp: copes, note: 'operator' };
          const table: GuestOsTable = { ...DEFAULT_GUEST_OS_TABLE, declared: [rule] };
          expect(lookupGuestOs(table, guestOs)).toBe(rule);
          const d = decidePlacement(input({ guestOs, supportedFeatures: bits, pvh: true }, { guestOses: table }));
          expect(d.facts.need).toBe(copes ? 'high' : 'low');
          expect(d.facts.guestOsRule).toBe(rule);
        },
      ),
    );
  });
});

describe('properties of the decision', () => {
  it('given any generated guest, host and kernel, no guest needing low is left with a high RSDP and no action, and the rest of the table holds', () => {
    fc.assert(
      fc.property(
        kernelNotesArb,
        declaredArb,
        fc.constantFrom<BootMethod>('direct', 'pvh-grub', 'other'),
        fc.oneof(fc.integer({ min: 128, max: 65536 }), fc.constantFrom(1023, 1024, 1025)),
        hostArb,
        fc.option(notesArb, { nil: undefined }),
        (notes, declared, method, memoryMiB, h, bootloaderNotes) => {
          const d = decidePlacement(
            input(notes, {
              method,
              memoryMiB,
              version: h.hypervisor.version,
              build: h.hypervisor.build,
              override: h.override,
              guestOses: { ...DEFAULT_GUEST_OS_TABLE, declared },
              bootloaderNotes,
            }),
          );
          const need = oracleNeed(notes, declared);
          if (d.action === 'none') expect(d.rsdp === 'low' || need === 'high').toBe(true);
          if (d.rsdp === 'high' && d.action !== 'blocked') expect(need).toBe('high');
          if (d.action === 'override-low') expect(h.override).toBe(true);
          expect(d.costs.length > 0).toBe(d.rsdp === 'low' && memoryMiB >= 1024);
          expect(d.remedy.length > 0).toBe(d.action === 'blocked');
          expect(d.status === 'blocked').toBe(d.action === 'blocked');
          if (d.action !== 'blocked')
            expect(d.status).toBe(notes === 'unknown' ? 'unknown-kernel' : need === 'low' ? 'needs-low-rsdp' : 'ok');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('given the same input twice, the decision is the same and the input is not changed (the policy is pure)', () => {
    fc.assert(
      fc.property(kernelNotesArb, declaredArb, hostArb, (notes, declared, h) => {
        const i = input(notes, {
          version: h.hypervisor.version,
          build: h.hypervisor.build,
          override: h.override,
          guestOses: { ...DEFAULT_GUEST_OS_TABLE, declared },
        });
        const before = JSON.stringify(i);
        expect(decidePlacement(i)).toEqual(decidePlacement(i));
        expect(JSON.stringify(i)).toBe(before);
      }),
    );
  });
});

describe('what the what-if memo relies on', () => {
  it('given any guest and host ids, the decision is the same (what the memo relies on)', () => {
    fc.assert(
      fc.property(kernelNotesArb, hostArb, fc.string(), fc.string(), (notes, h, guestId, hostId) => {
        const i = input(notes, { version: h.hypervisor.version, build: h.hypervisor.build, override: h.override });
        expect(decidePlacement({ ...i, guest: { ...i.guest, guestId }, host: { ...i.host, hostId } })).toEqual(
          decidePlacement(i),
        );
      }),
    );
  });
});
