import {
  decidePlacement,
  DEFAULT_BEHAVIOUR_RULES,
  DEFAULT_GUEST_OS_RULES,
  PlacementDecision,
  PlacementInput,
} from '@fleetcompat/policy';
import { behaviourTable, guestOsTable, policyInputFor, PolicyGuest, PolicyTables } from '@fleetcompat/projections';
import { KeyParts, PlacementMemo } from './placement-memo';

const tables = (): PolicyTables => ({
  behaviours: behaviourTable([], DEFAULT_BEHAVIOUR_RULES),
  guestOses: guestOsTable([], DEFAULT_GUEST_OS_RULES),
});
const sha = 'b'.repeat(64);
const kernels = new Map([
  [
    sha,
    {
      imageSha256: sha,
      xenNotes: { guestOs: 'linux', supportedFeatures: 1 << 15, pvh: true },
      revoked: false,
      announcedAt: '2026-11-01T00:00:00.000Z',
    },
  ],
]);
const guest = (over: Partial<PolicyGuest> = {}): PolicyGuest => ({
  guestId: 'g1',
  mode: 'pvh',
  memoryMiB: 2048,
  bootMethod: 'direct',
  kernelSha256: sha,
  bootloaderSha256: null,
  ...over,
});
const target = { version: '4.17.3', build: null };

describe('PlacementMemo', () => {
  const counting = () => {
    const calls: PlacementInput[] = [];
    const memo = new PlacementMemo((input) => (calls.push(input), decidePlacement(input)));
    return { memo, calls };
  };
  const input = (g: PolicyGuest, t: PolicyTables, host = { hostId: 'h1', rsdpOverrideSupported: true }) =>
    policyInputFor(g, host, target, (s) => kernels.get(s), t);

  it('gives what the policy decides, and decides once for guests alike on other hosts', () => {
    const { memo, calls } = counting();
    const t = tables();
    const a: PlacementDecision = memo.decisionFor(input(guest(), t));
    const b = memo.decisionFor(input(guest({ guestId: 'g2' }), t, { hostId: 'h2', rsdpOverrideSupported: true }));
    expect(a).toEqual(decidePlacement(input(guest(), t)));
    expect(b).toBe(a);
    expect(calls).toHaveLength(1);
  });

  it('decides again when anything the policy reads differs: memory, mode, boot, kernel, host capability, target, tables', () => {
    const { memo, calls } = counting();
    const t = tables();
    memo.decisionFor(input(guest(), t));
    memo.decisionFor(input(guest({ memoryMiB: 512 }), t));
    memo.decisionFor(input(guest({ mode: 'hvm' }), t));
    memo.decisionFor(input(guest({ bootMethod: 'pvh-grub' }), t));
    memo.decisionFor(input(guest({ kernelSha256: null }), t));
    memo.decisionFor(input(guest(), t, { hostId: 'h1', rsdpOverrideSupported: false }));
    memo.decisionFor(
      policyInputFor(
        guest(),
        { hostId: 'h1', rsdpOverrideSupported: true },
        { version: '4.10.4', build: null },
        (s) => kernels.get(s),
        t,
      ),
    );
    memo.decisionFor(input(guest(), tables()));
    expect(calls).toHaveLength(8);
  });

  it('its key is the whole input less the two ids; the compiler holds every field of the input to a part of the key', () => {
    const memo = new PlacementMemo();
    const i = input(guest(), tables());
    expect(memo.keyOf({ ...i, guest: { ...i.guest, guestId: 'other' }, host: { ...i.host, hostId: 'other' } })).toBe(
      memo.keyOf(i),
    );
    expect(memo.keyOf({ ...i, bootloaderNotes: { pvh: true } })).not.toBe(memo.keyOf(i));
    expect(memo.keyOf({ ...i, host: { ...i.host, hypervisorBuild: 'b2' } })).not.toBe(memo.keyOf(i));
    expect(
      memo.keyOf({ ...i, kernel: { ...i.kernel!, xenNotes: { ...i.kernel!.xenNotes, supportedFeatures: 0 } } }),
    ).not.toBe(memo.keyOf(i));
    // (checked by the typecheck: a type with a field the key leaves out does not compile)
    // @ts-expect-error b has no part
    const missing: KeyParts<{ a: number; b?: string }> = { a: (v: number) => v };
    expect(missing.a(1)).toBe(1);
  });
});
