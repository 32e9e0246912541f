import { DEFAULT_BEHAVIOUR_TABLE, BehaviourTable } from './behaviour';
import { decidePlacement, GuestFacts, HostFacts, KernelFacts, PlacementInput } from './decide';
import { libxlRsdpPlacement } from './notes';

// Kernels as their notes say (domain: Linux 4.11-4.16 carry 0x801, 4.17+ carry 0x8801).
const OLD_LINUX: KernelFacts = { imageSha256: 'a'.repeat(64), xenNotes: { guestOs: 'linux', supportedFeatures: 0x801, pvh: true } };
const NEW_LINUX: KernelFacts = { imageSha256: 'b'.repeat(64), xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: true } };
const FREEBSD: KernelFacts = { imageSha256: 'c'.repeat(64), xenNotes: { guestOs: 'FreeBSD', pvh: true } };

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
  });
}

describe('the libxl rule', () => {
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
  ] as const)('%s -> %s', (_name, notes, expected) => {
    expect(libxlRsdpPlacement(notes as any)).toBe(expected);
  });

  it('ignores the flag when it is named only in the FEATURES string note', () => {
    const notes = { guestOs: 'linux', supportedFeatures: 0x801, features: '!writable_page_tables|linux_rsdp_unrestricted' };
    expect(libxlRsdpPlacement(notes)).toBe('low');
  });
});

describe('decision table, row 1: HVM and PV guests', () => {
  it.each(['hvm', 'pv'] as const)('%s guest: not-applicable, no action', (mode) => {
    const d = decide({ guest: guest({ mode }) });
    expect(d).toMatchObject({ rsdp: 'not-applicable', action: 'none', reason: 'guest-not-pvh', status: 'not-applicable' });
    expect(d.costs).toEqual([]);
  });
});

describe('decision table, row 2: a directly booted kernel that cannot boot as PVH', () => {
  it('kernel known without PHYS32_ENTRY: blocked', () => {
    const noEntry: KernelFacts = { imageSha256: 'd'.repeat(64), xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: false } };
    const d = decide({ kernel: noEntry, guest: guest({ boot: { kernelSha256: noEntry.imageSha256 } }) });
    expect(d).toMatchObject({ rsdp: 'not-applicable', action: 'blocked', reason: 'kernel-not-pvh-capable', status: 'blocked' });
  });
  it('kernel known with no Xen notes at all: blocked', () => {
    const bare: KernelFacts = { imageSha256: 'e'.repeat(64), xenNotes: null };
    const d = decide({ kernel: bare, host: host('4.10.4', true) });
    expect(d).toMatchObject({ rsdp: 'not-applicable', action: 'blocked', reason: 'kernel-not-pvh-capable', status: 'blocked' });
  });
  it('does not apply to pvh-grub (GRUB starts the kernel, not the toolstack)', () => {
    const noEntry: KernelFacts = { imageSha256: 'd'.repeat(64), xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: false } };
    const d = decide({ kernel: noEntry, guest: guest({ boot: { method: 'pvh-grub' } }) });
    expect(d.reason).not.toBe('kernel-not-pvh-capable');
    expect(d).toMatchObject({ rsdp: 'high', action: 'none', status: 'ok' });
  });
  it('does not apply to an unknown kernel (nothing known says it lacks the entry)', () => {
    const d = decide({ kernel: undefined });
    expect(d.reason).not.toBe('kernel-not-pvh-capable');
  });
});

describe('decision table, row 3: the toolstack placement meets the need', () => {
  it('Xen 4.10 always places low: an old Linux boots, no action', () => {
    expect(decide({ host: host('4.10.4') })).toMatchObject({ rsdp: 'low', action: 'none', reason: 'toolstack-places-low', status: 'needs-low-rsdp' });
  });
  it('Xen 4.10 places low even for a new Linux: no action, status ok, and it pays the superpage', () => {
    const d = decide({ host: host('4.10.4'), kernel: NEW_LINUX, guest: guest({ memoryMiB: 4096, boot: { kernelSha256: NEW_LINUX.imageSha256 } }) });
    expect(d).toMatchObject({ rsdp: 'low', action: 'none', reason: 'toolstack-places-low', status: 'ok' });
    expect(d.costs.map((c) => c.code)).toEqual(['first-gib-superpage-lost']);
  });
  it('Xen 4.11.0 by notes, direct boot of an old Linux: libxl itself places low', () => {
    expect(decide({ host: host('4.11.0') })).toMatchObject({ rsdp: 'low', action: 'none', reason: 'toolstack-places-low', status: 'needs-low-rsdp' });
  });
  it('Xen 4.17 by notes, a new Linux: high, no action, no cost', () => {
    const d = decide({ kernel: NEW_LINUX, guest: guest({ memoryMiB: 8192, boot: { kernelSha256: NEW_LINUX.imageSha256 } }) });
    expect(d).toMatchObject({ rsdp: 'high', action: 'none', reason: 'kernel-handles-high-rsdp', status: 'ok' });
    expect(d.costs).toEqual([]);
  });
  it('FreeBSD gets high and needs high', () => {
    expect(decide({ kernel: FREEBSD })).toMatchObject({ rsdp: 'high', action: 'none', status: 'ok' });
  });
  it('a kernel with no GUEST_OS note needs high', () => {
    const k: KernelFacts = { imageSha256: 'f'.repeat(64), xenNotes: { supportedFeatures: 0x801, pvh: true } };
    expect(decide({ kernel: k })).toMatchObject({ rsdp: 'high', action: 'none', status: 'ok' });
  });
  it('"Linux" with a capital L needs high (the compare is exact)', () => {
    const k: KernelFacts = { imageSha256: 'f'.repeat(64), xenNotes: { guestOs: 'Linux', supportedFeatures: 0x801, pvh: true } };
    expect(decide({ kernel: k, host: host('4.17.3', false) })).toMatchObject({ rsdp: 'high', action: 'none', status: 'ok' });
  });
  it('linux with no SUPPORTED_FEATURES note needs low', () => {
    const k: KernelFacts = { imageSha256: 'f'.repeat(64), xenNotes: { guestOs: 'linux', pvh: true } };
    expect(decide({ kernel: k })).toMatchObject({ rsdp: 'low', action: 'none', status: 'needs-low-rsdp' });
  });
  it('the flag named only in the FEATURES string does not count: still low', () => {
    const k: KernelFacts = {
      imageSha256: 'f'.repeat(64),
      xenNotes: { guestOs: 'linux', supportedFeatures: 0x801, pvh: true, features: 'linux_rsdp_unrestricted' } as any,
    };
    expect(decide({ kernel: k, host: host('4.17.3', false) })).toMatchObject({ rsdp: 'low', status: 'needs-low-rsdp' });
  });
  it('unknown kernel, direct boot, by notes: low (the toolstack reads the real kernel), status unknown-kernel', () => {
    const d = decide({ kernel: undefined });
    expect(d).toMatchObject({ rsdp: 'low', action: 'none', reason: 'toolstack-places-low', status: 'unknown-kernel' });
    expect(d.facts).toMatchObject({ need: 'low', needReason: 'kernel-unknown', kernelKnown: false });
  });
  it('guest without a kernel sha at all is treated as unknown kernel', () => {
    const d = decide({ kernel: undefined, guest: guest({ boot: { kernelSha256: undefined } }) });
    expect(d.status).toBe('unknown-kernel');
  });
});

describe('decision table, rows 4 and 5: placement high but the kernel needs low', () => {
  it('pvh-grub on 4.17 with an old Linux and an override: override-low', () => {
    const d = decide({ guest: guest({ boot: { method: 'pvh-grub' }, memoryMiB: 2048 }), host: host('4.17.3', true) });
    expect(d).toMatchObject({ rsdp: 'low', action: 'override-low', reason: 'override-low-required', status: 'needs-low-rsdp' });
    expect(d.facts).toMatchObject({ imageLoaded: 'bootloader', toolstackPlacement: 'high' });
    expect(d.costs.map((c) => c.code)).toEqual(['first-gib-superpage-lost']);
  });
  it('pvh-grub on 4.17 with an old Linux and no override: blocked, rsdp high', () => {
    expect(decide({ guest: guest({ boot: { method: 'pvh-grub' } }), host: host('4.17.3', false) })).toMatchObject({
      rsdp: 'high',
      action: 'blocked',
      reason: 'high-rsdp-without-override',
      status: 'blocked',
    });
  });
  it('pvh-grub on 4.10 (always low): no action', () => {
    expect(decide({ guest: guest({ boot: { method: 'pvh-grub' } }), host: host('4.10.4', false) })).toMatchObject({ rsdp: 'low', action: 'none' });
  });
  it('pvh-grub with a new Linux on 4.17: high is fine', () => {
    const d = decide({ kernel: NEW_LINUX, guest: guest({ boot: { method: 'pvh-grub', kernelSha256: NEW_LINUX.imageSha256 } }) });
    expect(d).toMatchObject({ rsdp: 'high', action: 'none', status: 'ok' });
  });
  it('pvh-grub with an unknown kernel on 4.17 without override: blocked', () => {
    expect(decide({ kernel: undefined, guest: guest({ boot: { method: 'pvh-grub' } }) })).toMatchObject({ rsdp: 'high', action: 'blocked', status: 'blocked' });
  });
  it('pvh-grub with an unknown kernel and an override: override-low, status unknown-kernel', () => {
    expect(decide({ kernel: undefined, guest: guest({ boot: { method: 'pvh-grub' } }), host: host('4.17.3', true) })).toMatchObject({
      rsdp: 'low',
      action: 'override-low',
      status: 'unknown-kernel',
    });
  });
  it('"other" boot method is treated like a bootloader the rule sees no GUEST_OS in', () => {
    expect(decide({ guest: guest({ boot: { method: 'other' } }), host: host('4.17.3', true) })).toMatchObject({ rsdp: 'low', action: 'override-low' });
  });
  it('an announced bootloader image is judged by its own notes', () => {
    const d = decide({ guest: guest({ boot: { method: 'pvh-grub' } }), bootloaderNotes: { guestOs: 'linux', supportedFeatures: 0x801, pvh: true } });
    expect(d).toMatchObject({ rsdp: 'low', action: 'none' });
  });
});

describe('hypervisor versions and the behaviour table', () => {
  const direct = (version: string, override = false, kernel: KernelFacts | undefined = OLD_LINUX) => decide({ host: host(version, override), kernel });

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

  it.each(['4.11-unstable', '4.11.0-rc1', 'xen', '', '4.7.0', '4.x'])('Xen "%s" is not covered: always-high and flagged', (version) => {
    const d = direct(version);
    expect(d.facts.toolstackBehaviour).toBe('always-high');
    expect(d.flags).toContain('hypervisor-version-not-covered');
    expect(d).toMatchObject({ rsdp: 'high', action: 'blocked', status: 'blocked' });
  });

  it('an unparseable version with an override: override-low, never a bare high', () => {
    expect(direct('garbage', true)).toMatchObject({ rsdp: 'low', action: 'override-low' });
  });

  it('an always-high build (4.11 development) declared by an operator: old Linux with direct boot needs the override', () => {
    const table: BehaviourTable = { ...DEFAULT_BEHAVIOUR_TABLE, declared: [{ build: '4.11-unstable-20180115', behaviour: 'always-high' }] };
    const d = decide({ host: host('4.11.0', true, '4.11-unstable-20180115'), behaviours: table });
    expect(d).toMatchObject({ rsdp: 'low', action: 'override-low' });
    const without = decide({ host: host('4.11.0', false, '4.11-unstable-20180115'), behaviours: table });
    expect(without).toMatchObject({ rsdp: 'high', action: 'blocked' });
    // the unknown kernel under always-high is blocked too: the toolstack does not read it
    expect(decide({ host: host('4.11.0', false, '4.11-unstable-20180115'), behaviours: table, kernel: undefined })).toMatchObject({ action: 'blocked' });
  });

  it('a declared exact version beats the default range', () => {
    const table: BehaviourTable = { ...DEFAULT_BEHAVIOUR_TABLE, declared: [{ version: '4.10.4', behaviour: 'always-high' }] };
    expect(decide({ host: host('4.10.4'), behaviours: table }).facts.toolstackBehaviour).toBe('always-high');
    expect(decide({ host: host('4.10.3'), behaviours: table }).facts.toolstackBehaviour).toBe('always-low');
  });
});

describe('exhaustive safety: never high for a guest that needs low unless blocked', () => {
  const kernels: (KernelFacts | undefined)[] = [OLD_LINUX, NEW_LINUX, FREEBSD, undefined, { imageSha256: '1'.repeat(64), xenNotes: { guestOs: 'linux', pvh: true } }];
  const versions = ['4.10.4', '4.11.0', '4.17.3', '4.11-unstable', 'nonsense'];
  const methods = ['direct', 'pvh-grub', 'other'] as const;
  for (const kernel of kernels)
    for (const version of versions)
      for (const method of methods)
        for (const override of [true, false])
          it(`${kernel?.xenNotes?.guestOs ?? 'unknown'}/${kernel?.xenNotes?.supportedFeatures ?? '-'} on ${version} ${method} override=${override}`, () => {
            const d = decide({ kernel, host: host(version, override), guest: guest({ boot: { method } }) });
            if (d.facts.need === 'low' && d.rsdp === 'high') expect(d.action).toBe('blocked');
            if (d.action === 'override-low') expect(override).toBe(true);
            if (d.rsdp === 'low' && d.action === 'none') expect(d.facts.toolstackPlacement).toBe('low');
            expect(d.explanation.length).toBeGreaterThan(0);
          });
});

describe('a kernel announced after its guest', () => {
  it('the same guest is re-decided from unknown-kernel to the kernel\'s own need', () => {
    const g = guest({ boot: { method: 'pvh-grub', kernelSha256: NEW_LINUX.imageSha256 } });
    const before = decide({ guest: g, kernel: undefined, host: host('4.17.3', true) });
    expect(before).toMatchObject({ rsdp: 'low', action: 'override-low', status: 'unknown-kernel' });
    const after = decide({ guest: g, kernel: NEW_LINUX, host: host('4.17.3', true) });
    expect(after).toMatchObject({ rsdp: 'high', action: 'none', status: 'ok' });
  });
});
