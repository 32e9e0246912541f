import { BehaviourTable, DEFAULT_BEHAVIOUR_TABLE } from './behaviour';
import {
  decidePlacement,
  GuestFacts,
  HostFacts,
  KernelFacts,
  NeedReason,
  PlacementInput,
  POLICY_VERSION,
} from './decide';
import { DEFAULT_GUEST_OS_TABLE, GuestOsTable } from './guest-os';
import { libxlRsdpPlacement, RsdpNotes } from './notes';

// Kernels as their notes say (domain: Linux 4.11-4.16 carry 0x801, 4.17+ carry 0x8801).
const OLD_LINUX: KernelFacts = {
  imageSha256: 'a'.repeat(64),
  xenNotes: { guestOs: 'linux', supportedFeatures: 0x801, pvh: true },
};
const NEW_LINUX: KernelFacts = {
  imageSha256: 'b'.repeat(64),
  xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: true },
};
const FREEBSD: KernelFacts = { imageSha256: 'c'.repeat(64), xenNotes: { guestOs: 'FreeBSD', pvh: true } };
const MINI_OS: KernelFacts = { imageSha256: '3'.repeat(64), xenNotes: { guestOs: 'Mini-OS', pvh: true } };
const LINUX_FOO: KernelFacts = {
  imageSha256: '4'.repeat(64),
  xenNotes: { guestOs: 'linux-foo', supportedFeatures: 0x801, pvh: true },
};

const BIT15_KERNEL_REMEDY = 'boot a kernel that sets XENFEAT_linux_rsdp_unrestricted (Linux 4.17 or later)';
const OVERRIDE_HOST_REMEDY = 'move it to a host whose toolstack can force low placement';

function guest(over: Omit<Partial<GuestFacts>, 'boot'> & { boot?: Partial<GuestFacts['boot']> } = {}): GuestFacts {
  return {
    guestId: 'g1',
    mode: over.mode ?? 'pvh',
    memoryMiB: over.memoryMiB ?? 512,
    boot: { method: 'direct', kernelSha256: OLD_LINUX.imageSha256, ...over.boot },
  };
}
function host(version: string, rsdpOverrideSupported = false, hypervisorBuild?: string): HostFacts {
  return { hostId: 'h1', hypervisorVersion: version, hypervisorBuild, rsdpOverrideSupported };
}
function decide(over: Partial<PlacementInput> & { guest?: GuestFacts; host?: HostFacts }) {
  return decidePlacement({
    guest: over.guest ?? guest(),
    host: over.host ?? host('4.17.3'),
    kernel: 'kernel' in over ? over.kernel : OLD_LINUX,
    bootloaderNotes: over.bootloaderNotes,
    behaviours: over.behaviours ?? DEFAULT_BEHAVIOUR_TABLE,
    guestOses: over.guestOses ?? DEFAULT_GUEST_OS_TABLE,
  });
}
/** A guest booting `kernel` (by sha) with the given boot method. */
function booting(kernel: KernelFacts, method: GuestFacts['boot']['method'] = 'direct', memoryMiB = 512): GuestFacts {
  return guest({ memoryMiB, boot: { method, kernelSha256: kernel.imageSha256 } });
}

describe('the libxl rule (the toolstack placement, unchanged by the stricter need)', () => {
  it.each([
    ['linux without bit 15', { guestOs: 'linux', supportedFeatures: 0x801 }, 'low'],
    ['linux with bit 15', { guestOs: 'linux', supportedFeatures: 0x8801 }, 'high'],
    ['"Linux" (capitalised) is not "linux"', { guestOs: 'Linux', supportedFeatures: 0x801 }, 'high'],
    ['"linux-foo" is not "linux"', { guestOs: 'linux-foo' }, 'high'],
    ['no GUEST_OS note', { supportedFeatures: 0x801 }, 'high'],
    ['linux with no SUPPORTED_FEATURES note', { guestOs: 'linux' }, 'low'],
    ['FreeBSD', { guestOs: 'FreeBSD' }, 'high'],
    ['NetBSD', { guestOs: 'NetBSD' }, 'high'],
    ['no Xen notes at all', null, 'high'],
  ] as const)('given an image with %s, libxl places the RSDP %s', (_name, notes, expected) => {
    expect(libxlRsdpPlacement(notes as RsdpNotes | null)).toBe(expected);
  });

  it('given the flag named only in the FEATURES string note, libxl ignores it and places low', () => {
    const notes = {
      guestOs: 'linux',
      supportedFeatures: 0x801,
      features: '!writable_page_tables|linux_rsdp_unrestricted',
    };
    expect(libxlRsdpPlacement(notes)).toBe('low');
  });
});

describe('the need: high only on evidence that the kernel copes with a high RSDP', () => {
  const k = (xenNotes: RsdpNotes | null): KernelFacts => ({ imageSha256: '9'.repeat(64), xenNotes });
  it.each<[string, KernelFacts | undefined, 'low' | 'high', NeedReason]>([
    ['a Linux 6.1 kernel (0x8801, bit 15)', NEW_LINUX, 'high', 'kernel-has-rsdp-unrestricted'],
    [
      'a "Linux" kernel that sets bit 15 (bit 15 wins whatever GUEST_OS says)',
      k({ guestOs: 'Linux', supportedFeatures: 0x8801, pvh: true }),
      'high',
      'kernel-has-rsdp-unrestricted',
    ],
    [
      'a kernel with no GUEST_OS but bit 15',
      k({ supportedFeatures: 0x8000, pvh: true }),
      'high',
      'kernel-has-rsdp-unrestricted',
    ],
    ['a FreeBSD kernel (on the default list)', FREEBSD, 'high', 'guest-os-copes-with-high-rsdp'],
    [
      'a NetBSD kernel (on the default list)',
      k({ guestOs: 'NetBSD', pvh: true }),
      'high',
      'guest-os-copes-with-high-rsdp',
    ],
    ['a Mini-OS kernel (on the default list)', MINI_OS, 'high', 'guest-os-copes-with-high-rsdp'],
    ['a Linux 4.15 kernel (0x801, no bit 15)', OLD_LINUX, 'low', 'kernel-lacks-rsdp-unrestricted'],
    [
      'a linux kernel with no SUPPORTED_FEATURES note',
      k({ guestOs: 'linux', pvh: true }),
      'low',
      'kernel-lacks-rsdp-unrestricted',
    ],
    [
      'a "Linux" kernel without bit 15 (the compare is exact)',
      k({ guestOs: 'Linux', supportedFeatures: 0x801, pvh: true }),
      'low',
      'guest-os-not-known-to-cope',
    ],
    [
      'a "linux-foo" kernel (libxl would take it to cope; the service does not)',
      LINUX_FOO,
      'low',
      'guest-os-not-known-to-cope',
    ],
    [
      'a "freebsd" kernel (the list is case-sensitive)',
      k({ guestOs: 'freebsd', pvh: true }),
      'low',
      'guest-os-not-known-to-cope',
    ],
    [
      'a kernel with Xen notes but no GUEST_OS and no bit 15',
      k({ supportedFeatures: 0x801, pvh: true }),
      'low',
      'kernel-has-no-guest-os',
    ],
    ['a kernel with no Xen notes at all', k(null), 'low', 'kernel-has-no-xen-notes'],
    ['a kernel the service does not know', undefined, 'low', 'kernel-unknown'],
  ])('given %s, it needs the RSDP %s (%s)', (_name, kernel, need, needReason) => {
    const d = decide({ kernel, guest: guest({ boot: { method: 'pvh-grub' } }) });
    expect(d.facts).toMatchObject({ need, needReason });
  });

  it('given a "linux-foo" kernel, the explanation says no evidence shows it copes', () => {
    const d = decide({ kernel: LINUX_FOO, guest: booting(LINUX_FOO) });
    expect(d.explanation[0]).toMatch(
      /"linux-foo".*not on the list of systems known to cope.*lacks bit 15.*needs the RSDP low/,
    );
  });
  it('given a FreeBSD kernel, the explanation names the GUEST_OS list entry and its note', () => {
    const d = decide({ kernel: FREEBSD, guest: booting(FREEBSD) });
    expect(d.explanation[0]).toMatch(
      /"FreeBSD", which the GUEST_OS list says copes with a high RSDP \(a default: .*rsdp_paddr/,
    );
  });
  it('given a Linux 6.1 kernel, the explanation names bit 15 and the bitmap', () => {
    const d = decide({ kernel: NEW_LINUX, guest: booting(NEW_LINUX) });
    expect(d.explanation[0]).toMatch(/0x8801 has bit 15 \(XENFEAT_linux_rsdp_unrestricted\)/);
  });
  it('given a Linux 4.15 kernel, the explanation says the bitmap lacks bit 15', () => {
    expect(decide({}).explanation[0]).toMatch(/"linux" and its SUPPORTED_FEATURES bitmap 0x801 lacks bit 15/);
  });
  it('given a kernel with no Xen notes behind pvh-grub, the explanation says it has none', () => {
    const bare: KernelFacts = { imageSha256: 'e'.repeat(64), xenNotes: null };
    expect(decide({ kernel: bare, guest: booting(bare, 'pvh-grub') }).explanation[0]).toMatch(
      /no Xen ELF notes.*needs the RSDP low/,
    );
  });

  it('the list entry that matched is recorded in the facts (guestOsRule), null when none did', () => {
    expect(decide({ kernel: FREEBSD, guest: booting(FREEBSD) }).facts.guestOsRule).toMatchObject({
      guestOs: 'FreeBSD',
      copesWithHighRsdp: true,
    });
    expect(decide({ kernel: LINUX_FOO, guest: booting(LINUX_FOO) }).facts.guestOsRule).toBeNull();
    expect(decide({ kernel: undefined }).facts.guestOsRule).toBeNull();
  });
});

describe('the GUEST_OS list is operator data', () => {
  const declare = (guestOs: string, copesWithHighRsdp: boolean, note?: string): GuestOsTable => ({
    ...DEFAULT_GUEST_OS_TABLE,
    declared: [{ guestOs, copesWithHighRsdp, note }],
  });

  it('given an operator declares Mini-OS does not cope, a Mini-OS kernel behind pvh-grub on Xen 4.17 with an override gets override-low', () => {
    const d = decide({
      kernel: MINI_OS,
      guest: booting(MINI_OS, 'pvh-grub'),
      host: host('4.17.3', true),
      guestOses: declare('Mini-OS', false, 'seen failing'),
    });
    expect(d).toMatchObject({ rsdp: 'low', action: 'override-low', status: 'needs-low-rsdp' });
    expect(d.facts).toMatchObject({
      need: 'low',
      needReason: 'guest-os-not-known-to-cope',
      guestOsRule: { guestOs: 'Mini-OS', copesWithHighRsdp: false },
    });
    expect(d.explanation[0]).toMatch(
      /"Mini-OS", which the GUEST_OS list says does not cope .*declared by an operator: seen failing/,
    );
  });
  it('given the default list, the same Mini-OS kernel gets the RSDP high with no action', () => {
    expect(decide({ kernel: MINI_OS, guest: booting(MINI_OS, 'pvh-grub'), host: host('4.17.3', true) })).toMatchObject({
      rsdp: 'high',
      action: 'none',
      status: 'ok',
    });
  });
  it('given an operator declares "linux-foo" copes, a directly booted linux-foo kernel on Xen 4.17 gets the RSDP high with no action', () => {
    const d = decide({ kernel: LINUX_FOO, guest: booting(LINUX_FOO), guestOses: declare('linux-foo', true) });
    expect(d).toMatchObject({ rsdp: 'high', action: 'none', reason: 'kernel-handles-high-rsdp', status: 'ok' });
    expect(d.facts).toMatchObject({ need: 'high', needReason: 'guest-os-copes-with-high-rsdp' });
    expect(d.explanation[0]).toMatch(/declared by an operator/);
  });
  it('given a declaration for "Linux", it does not apply to "linux-foo" (exact match)', () => {
    expect(decide({ kernel: LINUX_FOO, guest: booting(LINUX_FOO), guestOses: declare('Linux', true) }).facts.need).toBe(
      'low',
    );
  });
  it('given an operator declares "linux" copes, a Linux 4.15 kernel still needs low: for Linux only bit 15 is evidence', () => {
    const d = decide({ guest: guest({ boot: { method: 'pvh-grub' } }), guestOses: declare('linux', true) });
    expect(d.facts).toMatchObject({ need: 'low', needReason: 'kernel-lacks-rsdp-unrestricted' });
    expect(d).toMatchObject({ rsdp: 'high', action: 'blocked' });
    expect(d.explanation[0]).toMatch(/list entry for "linux" is not taken/);
  });
  it('given an operator declares FreeBSD does not cope, a FreeBSD kernel that sets bit 15 still needs high (bit 15 wins)', () => {
    const k: KernelFacts = {
      imageSha256: '5'.repeat(64),
      xenNotes: { guestOs: 'FreeBSD', supportedFeatures: 0x8000, pvh: true },
    };
    expect(decide({ kernel: k, guest: booting(k), guestOses: declare('FreeBSD', false) }).facts).toMatchObject({
      need: 'high',
      needReason: 'kernel-has-rsdp-unrestricted',
    });
  });
});

describe('decision table, row 1: HVM and PV guests', () => {
  it.each(['hvm', 'pv'] as const)('given a %s guest, RSDP placement does not apply and nothing is done', (mode) => {
    const d = decide({ guest: guest({ mode, memoryMiB: 4096 }) });
    expect(d).toMatchObject({
      rsdp: 'not-applicable',
      action: 'none',
      reason: 'guest-not-pvh',
      status: 'not-applicable',
      costs: [],
      remedy: [],
    });
    expect(d.facts).toMatchObject({ need: null, needReason: null });
  });
});

describe('decision table, row 2: a directly booted kernel that cannot boot as PVH', () => {
  it('given a known kernel without PHYS32_ENTRY booted directly, it is blocked and the remedy names a PVH-capable kernel', () => {
    const noEntry: KernelFacts = {
      imageSha256: 'd'.repeat(64),
      xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: false },
    };
    const d = decide({ kernel: noEntry, guest: booting(noEntry) });
    expect(d).toMatchObject({
      rsdp: 'not-applicable',
      action: 'blocked',
      reason: 'kernel-not-pvh-capable',
      status: 'blocked',
    });
    expect(d.remedy.join(' ')).toMatch(/PHYS32_ENTRY/);
    expect(d.explanation.at(-1)).toMatch(/^Remedy: .*PHYS32_ENTRY/);
  });
  it('given a known kernel with no Xen notes booted directly on a host that could override, it is still blocked', () => {
    const bare: KernelFacts = { imageSha256: 'e'.repeat(64), xenNotes: null };
    const d = decide({ kernel: bare, guest: booting(bare), host: host('4.10.4', true) });
    expect(d).toMatchObject({
      rsdp: 'not-applicable',
      action: 'blocked',
      reason: 'kernel-not-pvh-capable',
      status: 'blocked',
    });
  });
  it('given a kernel without PHYS32_ENTRY behind pvh-grub, row 2 does not apply (GRUB starts the kernel, not the toolstack)', () => {
    const noEntry: KernelFacts = {
      imageSha256: 'd'.repeat(64),
      xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: false },
    };
    const d = decide({ kernel: noEntry, guest: booting(noEntry, 'pvh-grub') });
    expect(d).toMatchObject({ rsdp: 'high', action: 'none', reason: 'kernel-handles-high-rsdp', status: 'ok' });
  });
  it('given an unknown kernel booted directly, row 2 does not apply (nothing known says it lacks the entry)', () => {
    expect(decide({ kernel: undefined }).reason).not.toBe('kernel-not-pvh-capable');
  });
});

describe('decision table, row 3: the toolstack placement meets the need', () => {
  it('given Xen 4.10 (always low), a Linux 4.15 kernel boots with no action', () => {
    expect(decide({ host: host('4.10.4') })).toMatchObject({
      rsdp: 'low',
      action: 'none',
      reason: 'toolstack-places-low',
      status: 'needs-low-rsdp',
      remedy: [],
    });
  });
  it('given Xen 4.10, a 4 GiB Linux 6.1 guest gets the RSDP low with no action, status ok, and pays the first-GiB superpage', () => {
    const d = decide({ host: host('4.10.4'), kernel: NEW_LINUX, guest: booting(NEW_LINUX, 'direct', 4096) });
    expect(d).toMatchObject({ rsdp: 'low', action: 'none', reason: 'toolstack-places-low', status: 'ok' });
    expect(d.costs.map((c) => c.code)).toEqual(['first-gib-superpage-lost']);
  });
  it('given Xen 4.11.0 (by notes), a directly booted Linux 4.15 kernel is placed low by libxl itself', () => {
    expect(decide({ host: host('4.11.0') })).toMatchObject({
      rsdp: 'low',
      action: 'none',
      reason: 'toolstack-places-low',
      status: 'needs-low-rsdp',
    });
  });
  it('given Xen 4.17, an 8 GiB Linux 6.1 guest gets the RSDP high, no action and no cost', () => {
    const d = decide({ kernel: NEW_LINUX, guest: booting(NEW_LINUX, 'direct', 8192) });
    expect(d).toMatchObject({
      rsdp: 'high',
      action: 'none',
      reason: 'kernel-handles-high-rsdp',
      status: 'ok',
      costs: [],
    });
  });
  it('given Xen 4.17, a directly booted FreeBSD kernel gets the RSDP high with no action', () => {
    expect(decide({ kernel: FREEBSD, guest: booting(FREEBSD) })).toMatchObject({
      rsdp: 'high',
      action: 'none',
      status: 'ok',
    });
  });
  it('given Xen 4.17, a directly booted linux kernel with no SUPPORTED_FEATURES note is placed low', () => {
    const k: KernelFacts = { imageSha256: 'f'.repeat(64), xenNotes: { guestOs: 'linux', pvh: true } };
    expect(decide({ kernel: k, guest: booting(k) })).toMatchObject({
      rsdp: 'low',
      action: 'none',
      status: 'needs-low-rsdp',
    });
  });
  it('given the flag named only in the FEATURES string, it does not count: placed low, needs low', () => {
    const k: KernelFacts = {
      imageSha256: 'f'.repeat(64),
      xenNotes: {
        guestOs: 'linux',
        supportedFeatures: 0x801,
        pvh: true,
        features: 'linux_rsdp_unrestricted',
      } as RsdpNotes,
    };
    expect(decide({ kernel: k, guest: booting(k) })).toMatchObject({ rsdp: 'low', status: 'needs-low-rsdp' });
  });
  it('given an unknown kernel booted directly on Xen 4.17 (by notes), the RSDP is reported low with no action, status unknown-kernel', () => {
    const d = decide({ kernel: undefined, guest: guest({ memoryMiB: 2048 }) });
    expect(d).toMatchObject({
      rsdp: 'low',
      action: 'none',
      reason: 'toolstack-places-low',
      status: 'unknown-kernel',
      remedy: [],
    });
    expect(d.facts).toMatchObject({
      need: 'low',
      needReason: 'kernel-unknown',
      kernelKnown: false,
      imageLoaded: 'kernel',
      toolstackPlacement: 'low',
    });
    expect(d.costs.map((c) => c.code)).toEqual(['first-gib-superpage-lost']);
    expect(d.explanation.join(' ')).toMatch(/assumed/);
  });
  it('given a guest that reports no kernel sha at all, it is treated as an unknown kernel', () => {
    expect(decide({ kernel: undefined, guest: guest({ boot: { kernelSha256: undefined } }) }).status).toBe(
      'unknown-kernel',
    );
  });
});

describe('decision table, rows 4 and 5: the toolstack places high but the kernel needs low', () => {
  it('given a 2 GiB Linux 4.15 guest behind pvh-grub on Xen 4.17 with an override, it gets override-low and pays the superpage', () => {
    const d = decide({ guest: guest({ boot: { method: 'pvh-grub' }, memoryMiB: 2048 }), host: host('4.17.3', true) });
    expect(d).toMatchObject({
      rsdp: 'low',
      action: 'override-low',
      reason: 'override-low-required',
      status: 'needs-low-rsdp',
      remedy: [],
    });
    expect(d.facts).toMatchObject({ imageLoaded: 'bootloader', toolstackPlacement: 'high' });
    expect(d.costs.map((c) => c.code)).toEqual(['first-gib-superpage-lost']);
  });
  it('a Linux 4.15 kernel behind pvh-grub on Xen 4.17 without override is blocked, and the remedy names a bit-15 kernel', () => {
    const d = decide({ guest: guest({ boot: { method: 'pvh-grub' } }), host: host('4.17.3', false) });
    expect(d).toMatchObject({
      rsdp: 'high',
      action: 'blocked',
      reason: 'high-rsdp-without-override',
      status: 'blocked',
    });
    expect(d.remedy).toContain(BIT15_KERNEL_REMEDY);
    expect(d.remedy).toContain(OVERRIDE_HOST_REMEDY);
    // booted directly, libxl would see "linux" without bit 15 and place the RSDP low
    expect(d.remedy.join('\n')).toMatch(/boot the kernel directly/);
    expect(d.remedy.join('\n')).not.toMatch(/GuestOsDeclared/);
    expect(d.explanation.at(-1)).toBe(`Remedy: ${d.remedy.join('; or ')}.`);
  });
  it('a "linux-foo" kernel booted directly on Xen 4.17 with an override gets override-low (libxl would place it high)', () => {
    const d = decide({ kernel: LINUX_FOO, guest: booting(LINUX_FOO), host: host('4.17.3', true) });
    expect(d).toMatchObject({ rsdp: 'low', action: 'override-low', status: 'needs-low-rsdp' });
    expect(d.facts).toMatchObject({
      imageLoaded: 'kernel',
      toolstackPlacement: 'high',
      need: 'low',
      needReason: 'guest-os-not-known-to-cope',
    });
  });
  it('a "linux-foo" kernel booted directly on Xen 4.17 without override is blocked, and the remedy says to declare GUEST_OS "linux-foo"', () => {
    const d = decide({ kernel: LINUX_FOO, guest: booting(LINUX_FOO) });
    expect(d).toMatchObject({ rsdp: 'high', action: 'blocked', status: 'blocked' });
    expect(d.remedy).toEqual([
      BIT15_KERNEL_REMEDY,
      'declare GUEST_OS "linux-foo" with GuestOsDeclared once it is known to read rsdp_paddr',
      OVERRIDE_HOST_REMEDY,
    ]);
    expect(d.explanation.at(-1)).toMatch(/^Remedy: .*declare GUEST_OS "linux-foo" with GuestOsDeclared/);
  });
  it('a kernel with Xen notes but no GUEST_OS, booted directly on Xen 4.17 without override, is blocked and the remedy names a bit-15 kernel (no declaration can name it)', () => {
    const k: KernelFacts = { imageSha256: '6'.repeat(64), xenNotes: { supportedFeatures: 0x801, pvh: true } };
    const d = decide({ kernel: k, guest: booting(k) });
    expect(d).toMatchObject({ rsdp: 'high', action: 'blocked', status: 'blocked' });
    expect(d.remedy).toEqual([BIT15_KERNEL_REMEDY, OVERRIDE_HOST_REMEDY]);
  });
  it('given Xen 4.10 (always low), a Linux 4.15 kernel behind pvh-grub needs no action', () => {
    expect(decide({ guest: guest({ boot: { method: 'pvh-grub' } }), host: host('4.10.4', false) })).toMatchObject({
      rsdp: 'low',
      action: 'none',
    });
  });
  it('given Xen 4.17, a Linux 6.1 kernel behind pvh-grub copes with the high RSDP', () => {
    expect(decide({ kernel: NEW_LINUX, guest: booting(NEW_LINUX, 'pvh-grub') })).toMatchObject({
      rsdp: 'high',
      action: 'none',
      status: 'ok',
    });
  });
  it('an unknown kernel behind pvh-grub on Xen 4.17 without override is blocked, and the remedy says to announce that build', () => {
    const d = decide({ kernel: undefined, guest: guest({ boot: { method: 'pvh-grub' } }) });
    expect(d).toMatchObject({ rsdp: 'high', action: 'blocked', status: 'blocked' });
    expect(d.remedy).toEqual([
      `announce kernel build ${'a'.repeat(64)} with KernelBuildCompleted, so that its notes decide`,
      OVERRIDE_HOST_REMEDY,
    ]);
    expect(d.explanation.join(' ')).toMatch(/kernel is unknown: the guest may not boot/);
  });
  it('an unknown kernel with no sha behind pvh-grub without override is blocked, and the remedy says to report and announce it', () => {
    const d = decide({ kernel: undefined, guest: guest({ boot: { method: 'pvh-grub', kernelSha256: null } }) });
    expect(d.remedy[0]).toMatch(/report the kernel the guest boots \(boot.kernelSha256\) and announce its build/);
  });
  it('an unknown kernel behind pvh-grub with an override gets override-low, status unknown-kernel', () => {
    expect(
      decide({ kernel: undefined, guest: guest({ boot: { method: 'pvh-grub' } }), host: host('4.17.3', true) }),
    ).toMatchObject({
      rsdp: 'low',
      action: 'override-low',
      status: 'unknown-kernel',
    });
  });
  it('the "other" boot method is treated like a bootloader whose notes have no GUEST_OS', () => {
    expect(decide({ guest: guest({ boot: { method: 'other' } }), host: host('4.17.3', true) })).toMatchObject({
      rsdp: 'low',
      action: 'override-low',
    });
  });
  it('an announced bootloader image is judged by its own notes', () => {
    const d = decide({
      guest: guest({ boot: { method: 'pvh-grub' } }),
      bootloaderNotes: { guestOs: 'linux', supportedFeatures: 0x801, pvh: true },
    });
    expect(d).toMatchObject({ rsdp: 'low', action: 'none' });
  });
});

describe('hypervisor versions and the behaviour table', () => {
  const direct = (version: string, override = false, kernel: KernelFacts | undefined = OLD_LINUX) =>
    decide({ host: host(version, override), kernel });

  it.each([
    ['4.8.0', 'always-low'],
    ['4.10.4', 'always-low'],
    ['4.10.99', 'always-low'],
    ['4.11.0', 'by-notes'],
    ['4.11', 'by-notes'],
    ['4.11.1', 'by-notes'],
    ['4.17.3', 'by-notes'],
    ['5.0.0', 'by-notes'],
  ])('Xen %s is %s', (version, behaviour) => {
    const d = direct(version);
    expect(d.facts.toolstackBehaviour).toBe(behaviour);
    expect(d.flags).toEqual([]);
  });

  it.each(['4.11-unstable', '4.11.0-rc1', 'xen', '', '4.7.0', '4.x'])(
    'Xen "%s" is not covered: always-high and flagged',
    (version) => {
      const d = direct(version);
      expect(d.facts.toolstackBehaviour).toBe('always-high');
      expect(d.flags).toContain('hypervisor-version-not-covered');
      expect(d).toMatchObject({ rsdp: 'high', action: 'blocked', status: 'blocked' });
      expect(d.remedy.join('\n')).toMatch(/HypervisorBehaviourDeclared/);
    },
  );

  it('given an unparseable version and an override, the guest gets override-low, never a bare high', () => {
    expect(direct('garbage', true)).toMatchObject({ rsdp: 'low', action: 'override-low' });
  });

  it('given an operator-declared always-high build (4.11 development), a directly booted Linux 4.15 kernel needs the override', () => {
    const table: BehaviourTable = {
      ...DEFAULT_BEHAVIOUR_TABLE,
      declared: [{ build: '4.11-unstable-20180115', behaviour: 'always-high' }],
    };
    expect(decide({ host: host('4.11.0', true, '4.11-unstable-20180115'), behaviours: table })).toMatchObject({
      rsdp: 'low',
      action: 'override-low',
    });
    const without = decide({ host: host('4.11.0', false, '4.11-unstable-20180115'), behaviours: table });
    expect(without).toMatchObject({ rsdp: 'high', action: 'blocked' });
    expect(without.remedy).toEqual([BIT15_KERNEL_REMEDY, OVERRIDE_HOST_REMEDY]);
    // the unknown kernel under always-high is blocked too: the toolstack does not read it
    expect(
      decide({ host: host('4.11.0', false, '4.11-unstable-20180115'), behaviours: table, kernel: undefined }),
    ).toMatchObject({ action: 'blocked' });
  });

  it('a declared exact version beats the default range', () => {
    const table: BehaviourTable = {
      ...DEFAULT_BEHAVIOUR_TABLE,
      declared: [{ version: '4.10.4', behaviour: 'always-high' }],
    };
    expect(decide({ host: host('4.10.4'), behaviours: table }).facts.toolstackBehaviour).toBe('always-high');
    expect(decide({ host: host('4.10.3'), behaviours: table }).facts.toolstackBehaviour).toBe('always-low');
  });
});

describe('policy version', () => {
  it('is 2 since the need became evidence-based', () => {
    expect(POLICY_VERSION).toBe('2');
  });
});

/*
 * Exhaustive safety. Everything expected here comes from this test's own tables, written by
 * hand from the domain; nothing is taken from the decision under test.
 */
describe('exhaustive safety over kernels x boot x hypervisor x override x memory x bootloader notes', () => {
  type Need = 'low' | 'high';
  interface KernelRow {
    readonly name: string;
    /** The kernel's Xen notes, null for none at all, 'unknown' when the service does not know it. */
    readonly notes: RsdpNotes | null | 'unknown';
    /** Written by hand from the domain's definition of the need. */
    readonly need: Need;
    readonly needReason: NeedReason;
    /** Where libxl (Xen 4.11+) puts the RSDP when it loads this kernel directly: by hand, from the libxl rule. */
    readonly libxlDirect: 'low' | 'high' | 'unknown';
  }
  const KERNELS: readonly KernelRow[] = [
    {
      name: 'Linux 4.15 (0x801)',
      notes: { guestOs: 'linux', supportedFeatures: 0x801, pvh: true },
      need: 'low',
      needReason: 'kernel-lacks-rsdp-unrestricted',
      libxlDirect: 'low',
    },
    {
      name: 'Linux 4.11 with no SUPPORTED_FEATURES note',
      notes: { guestOs: 'linux', pvh: true },
      need: 'low',
      needReason: 'kernel-lacks-rsdp-unrestricted',
      libxlDirect: 'low',
    },
    {
      name: 'linux with every bit but 15 (0xffff7fff)',
      notes: { guestOs: 'linux', supportedFeatures: 0xffff7fff, pvh: true },
      need: 'low',
      needReason: 'kernel-lacks-rsdp-unrestricted',
      libxlDirect: 'low',
    },
    {
      name: 'Linux 6.1 (0x8801)',
      notes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: true },
      need: 'high',
      needReason: 'kernel-has-rsdp-unrestricted',
      libxlDirect: 'high',
    },
    {
      name: 'linux with every bit (0xffffffff)',
      notes: { guestOs: 'linux', supportedFeatures: 0xffffffff, pvh: true },
      need: 'high',
      needReason: 'kernel-has-rsdp-unrestricted',
      libxlDirect: 'high',
    },
    {
      name: 'FreeBSD',
      notes: { guestOs: 'FreeBSD', pvh: true },
      need: 'high',
      needReason: 'guest-os-copes-with-high-rsdp',
      libxlDirect: 'high',
    },
    {
      name: 'NetBSD',
      notes: { guestOs: 'NetBSD', supportedFeatures: 0x1, pvh: true },
      need: 'high',
      needReason: 'guest-os-copes-with-high-rsdp',
      libxlDirect: 'high',
    },
    {
      name: 'Mini-OS',
      notes: { guestOs: 'Mini-OS', pvh: true },
      need: 'high',
      needReason: 'guest-os-copes-with-high-rsdp',
      libxlDirect: 'high',
    },
    {
      name: '"Linux" (0x801)',
      notes: { guestOs: 'Linux', supportedFeatures: 0x801, pvh: true },
      need: 'low',
      needReason: 'guest-os-not-known-to-cope',
      libxlDirect: 'high',
    },
    {
      name: '"Linux" with bit 15 (0x8801)',
      notes: { guestOs: 'Linux', supportedFeatures: 0x8801, pvh: true },
      need: 'high',
      needReason: 'kernel-has-rsdp-unrestricted',
      libxlDirect: 'high',
    },
    {
      name: '"linux-foo"',
      notes: { guestOs: 'linux-foo', pvh: true },
      need: 'low',
      needReason: 'guest-os-not-known-to-cope',
      libxlDirect: 'high',
    },
    {
      name: '"freebsd" (lower case)',
      notes: { guestOs: 'freebsd', pvh: true },
      need: 'low',
      needReason: 'guest-os-not-known-to-cope',
      libxlDirect: 'high',
    },
    {
      name: '"FreeBSD " (trailing space)',
      notes: { guestOs: 'FreeBSD ', pvh: true },
      need: 'low',
      needReason: 'guest-os-not-known-to-cope',
      libxlDirect: 'high',
    },
    {
      name: 'no GUEST_OS (0x801)',
      notes: { supportedFeatures: 0x801, pvh: true },
      need: 'low',
      needReason: 'kernel-has-no-guest-os',
      libxlDirect: 'high',
    },
    {
      name: 'no GUEST_OS but bit 15 (0x8000)',
      notes: { supportedFeatures: 0x8000, pvh: true },
      need: 'high',
      needReason: 'kernel-has-rsdp-unrestricted',
      libxlDirect: 'high',
    },
    {
      name: 'Linux 4.15 naming the flag only in the FEATURES string',
      notes: {
        guestOs: 'linux',
        supportedFeatures: 0x801,
        pvh: true,
        features: '!writable_page_tables|linux_rsdp_unrestricted',
      } as RsdpNotes,
      need: 'low',
      needReason: 'kernel-lacks-rsdp-unrestricted',
      libxlDirect: 'low',
    },
    { name: 'no Xen notes', notes: null, need: 'low', needReason: 'kernel-has-no-xen-notes', libxlDirect: 'high' },
    {
      name: 'Linux 6.1 notes without PHYS32_ENTRY',
      notes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: false },
      need: 'high',
      needReason: 'kernel-has-rsdp-unrestricted',
      libxlDirect: 'high',
    },
    {
      name: 'Linux 4.15 notes without PHYS32_ENTRY',
      notes: { guestOs: 'linux', supportedFeatures: 0x801 },
      need: 'low',
      needReason: 'kernel-lacks-rsdp-unrestricted',
      libxlDirect: 'low',
    },
    { name: 'an unknown kernel', notes: 'unknown', need: 'low', needReason: 'kernel-unknown', libxlDirect: 'unknown' },
  ];
  const METHODS = ['direct', 'pvh-grub', 'other'] as const;
  const DECLARED_DEV_BUILD = '4.11-unstable-20180115';
  const BEHAVIOURS: BehaviourTable = {
    ...DEFAULT_BEHAVIOUR_TABLE,
    declared: [{ build: DECLARED_DEV_BUILD, behaviour: 'always-high' }],
  };
  const HYPERVISORS = [
    { name: 'Xen 4.10.4 (always-low)', version: '4.10.4', build: undefined, behaviour: 'always-low', covered: true },
    { name: 'Xen 4.17.3 (by-notes)', version: '4.17.3', build: undefined, behaviour: 'by-notes', covered: true },
    {
      name: `Xen 4.11.0 build ${DECLARED_DEV_BUILD} (declared always-high)`,
      version: '4.11.0',
      build: DECLARED_DEV_BUILD,
      behaviour: 'always-high',
      covered: true,
    },
    {
      name: 'Xen 4.11-unstable (not covered)',
      version: '4.11-unstable',
      build: undefined,
      behaviour: 'always-high',
      covered: false,
    },
  ] as const;
  // An announced bootloader image whose notes make libxl place low (GUEST_OS "linux", no bit 15),
  // against the assumed unannounced GRUB i386-xen_pvh image (no GUEST_OS: libxl places high).
  const ANNOUNCED_BOOTLOADER: RsdpNotes = { guestOs: 'linux', supportedFeatures: 0x801, pvh: true };
  const BOOTLOADERS = [
    { name: 'an announced bootloader whose notes libxl places low', notes: ANNOUNCED_BOOTLOADER, libxl: 'low' },
    { name: 'an unannounced bootloader (GRUB, no GUEST_OS)', notes: undefined, libxl: 'high' },
  ] as const;
  const MEMORY = [512, 1024, 4096];

  const cases = KERNELS.flatMap((k) =>
    METHODS.flatMap((method) =>
      HYPERVISORS.flatMap((hv) =>
        [false, true].flatMap((override) =>
          MEMORY.flatMap((memoryMiB) =>
            BOOTLOADERS.map((bl) => ({
              title: `a ${memoryMiB} MiB guest booting ${k.name} ${method === 'direct' ? 'directly' : `via ${method}`} on ${hv.name} ${override ? 'with' : 'without'} override, with ${bl.name}`,
              k,
              method,
              hv,
              override,
              memoryMiB,
              bl,
            })),
          ),
        ),
      ),
    ),
  );

  it.each(cases)('$title', ({ k, method, hv, override, memoryMiB, bl }) => {
    const sha = '7'.repeat(64);
    const kernel: KernelFacts | undefined = k.notes === 'unknown' ? undefined : { imageSha256: sha, xenNotes: k.notes };
    const d = decidePlacement({
      guest: {
        guestId: 'g',
        mode: 'pvh',
        memoryMiB,
        boot: { method, kernelSha256: sha, bootloaderSha256: bl.notes ? 'b'.repeat(64) : null },
      },
      host: { hostId: 'h', hypervisorVersion: hv.version, hypervisorBuild: hv.build, rsdpOverrideSupported: override },
      kernel,
      bootloaderNotes: bl.notes,
      behaviours: BEHAVIOURS,
      guestOses: DEFAULT_GUEST_OS_TABLE,
    });

    // The test's own expectations.
    const kernelKnown = k.notes !== 'unknown';
    const cannotBootAsPvh = method === 'direct' && kernelKnown && !k.notes?.pvh;
    const placement: 'low' | 'high' =
      hv.behaviour === 'always-low'
        ? 'low'
        : hv.behaviour === 'always-high'
          ? 'high'
          : method !== 'direct'
            ? bl.libxl
            : k.libxlDirect === 'unknown'
              ? 'low' // the domain: reported as the assumed need until CI announces the kernel
              : k.libxlDirect;

    expect(d.facts.need).toBe(k.need);
    expect(d.facts.needReason).toBe(k.needReason);

    if (cannotBootAsPvh) {
      expect(d).toMatchObject({
        rsdp: 'not-applicable',
        action: 'blocked',
        reason: 'kernel-not-pvh-capable',
        status: 'blocked',
        costs: [],
      });
      expect(d.remedy.length).toBeGreaterThan(0);
      return;
    }

    // Safety: "none" only when the guest will boot: the RSDP it gets is low, or it copes with high.
    if (d.action === 'none') expect(d.rsdp === 'low' || k.need === 'high').toBe(true);
    // A wrong high never goes out unblocked.
    if (d.rsdp === 'high' && d.action !== 'blocked') expect(k.need).toBe('high');
    // The override is used only when the host has one.
    if (d.action === 'override-low') expect(override).toBe(true);
    // Blocked exactly when the toolstack places high, the kernel needs low and there is no override.
    expect(d.action === 'blocked').toBe(placement === 'high' && k.need === 'low' && !override);
    // The full decision, from the decision table.
    const expected =
      placement === 'low' || k.need === 'high'
        ? { rsdp: placement, action: 'none' }
        : override
          ? { rsdp: 'low', action: 'override-low' }
          : { rsdp: 'high', action: 'blocked' };
    expect({ rsdp: d.rsdp, action: d.action }).toEqual(expected);
    expect(d.facts.toolstackPlacement).toBe(placement);
    // Cost iff the RSDP ends up low and the guest has at least 1 GiB.
    expect(d.costs.length > 0).toBe(d.rsdp === 'low' && memoryMiB >= 1024);
    // Statuses.
    const status =
      d.action === 'blocked' ? 'blocked' : !kernelKnown ? 'unknown-kernel' : k.need === 'low' ? 'needs-low-rsdp' : 'ok';
    expect(d.status).toBe(status);
    // Flags and remedies.
    expect(d.flags.includes('hypervisor-version-not-covered')).toBe(!hv.covered);
    expect(d.remedy.length > 0).toBe(d.action === 'blocked');
    if (d.action === 'blocked') {
      expect(d.remedy).toContain(OVERRIDE_HOST_REMEDY);
      if (kernelKnown) expect(d.remedy).toContain(BIT15_KERNEL_REMEDY);
      else expect(d.remedy.join('\n')).toMatch(/announce kernel build 7{64}/);
      const guestOs = (k.notes as RsdpNotes | null)?.guestOs;
      const declare = `declare GUEST_OS ${JSON.stringify(guestOs)} with GuestOsDeclared once it is known to read rsdp_paddr`;
      expect(d.remedy.includes(declare)).toBe(k.needReason === 'guest-os-not-known-to-cope');
      expect(d.explanation.at(-1)).toMatch(/^Remedy: /);
    }
  });
});

describe('a kernel announced after its guest', () => {
  it("given a guest behind pvh-grub on an override host, it is re-decided from unknown-kernel to the kernel's own need once the kernel is announced", () => {
    const g = booting(NEW_LINUX, 'pvh-grub');
    expect(decide({ guest: g, kernel: undefined, host: host('4.17.3', true) })).toMatchObject({
      rsdp: 'low',
      action: 'override-low',
      status: 'unknown-kernel',
    });
    expect(decide({ guest: g, kernel: NEW_LINUX, host: host('4.17.3', true) })).toMatchObject({
      rsdp: 'high',
      action: 'none',
      status: 'ok',
    });
  });
});
