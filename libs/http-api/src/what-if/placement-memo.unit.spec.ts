import { decidePlacement, DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES, PlacementDecision, PlacementInput } from '@fleetcompat/policy';
import { behaviourTable, guestOsTable, policyInputFor, PolicyGuest, PolicyTables } from '@fleetcompat/projections';
import { PlacementMemo } from './placement-memo';

const tables = (): PolicyTables => ({ behaviours: behaviourTable([], DEFAULT_BEHAVIOUR_RULES), guestOses: guestOsTable([], DEFAULT_GUEST_OS_RULES) });
const sha = 'b'.repeat(64);
const kernels = new Map([[sha, { imageSha256: sha, xenNotes: { guestOs: 'linux', supportedFeatures: 1 << 15, pvh: true }, revoked: false, announcedAt: '2026-11-01T00:00:00.000Z' }]]);
const guest = (over: Partial<PolicyGuest> = {}): PolicyGuest => ({ guestId: 'g1', mode: 'pvh', memoryMiB: 2048, bootMethod: 'direct', kernelSha256: sha, bootloaderSha256: null, ...over });
const target = { version: '4.17.3', build: null };

describe('PlacementMemo', () => {
  const counting = () => {
    const calls: PlacementInput[] = [];
    const memo = new PlacementMemo((input) => (calls.push(input), decidePlacement(input)));
    return { memo, calls };
  };
  const input = (g: PolicyGuest, t: PolicyTables, host = { hostId: 'h1', rsdpOverrideSupported: true }) => policyInputFor(g, host, target, (s) => kernels.get(s), t);

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
    memo.decisionFor(policyInputFor(guest(), { hostId: 'h1', rsdpOverrideSupported: true }, { version: '4.10.4', build: null }, (s) => kernels.get(s), t));
    memo.decisionFor(input(guest(), tables()));
    expect(calls).toHaveLength(8);
  });

  it('its key is the input itself less the two ids: a field the policy input gains enters it', () => {
    const memo = new PlacementMemo();
    const i = input(guest(), tables());
    const withMore = { ...i, guest: { ...i.guest, somethingNew: 1 } } as PlacementInput;
    expect(memo.keyOf(withMore)).not.toBe(memo.keyOf(i));
    expect(memo.keyOf({ ...i, guest: { ...i.guest, guestId: 'other' }, host: { ...i.host, hostId: 'other' } })).toBe(memo.keyOf(i));
  });
});
