import defaultsJson from './data/guest-os.json';
import { DEFAULT_GUEST_OS_RULES, DEFAULT_GUEST_OS_TABLE, GuestOsTable, lookupGuestOs } from './guest-os';

describe('the GUEST_OS list shipped with this release', () => {
  it('lists FreeBSD, NetBSD and Mini-OS as coping with a high RSDP, each with a note saying why', () => {
    expect(DEFAULT_GUEST_OS_RULES.map((r) => [r.guestOs, r.copesWithHighRsdp])).toEqual([
      ['FreeBSD', true],
      ['NetBSD', true],
      ['Mini-OS', true],
    ]);
    for (const r of DEFAULT_GUEST_OS_RULES) expect(r.note).toEqual(expect.any(String));
    expect(DEFAULT_GUEST_OS_RULES.find((r) => r.guestOs === 'FreeBSD')!.note).toMatch(/rsdp_paddr/);
    expect(DEFAULT_GUEST_OS_RULES.find((r) => r.guestOs === 'NetBSD')!.note).toMatch(/rsdp_paddr/);
    expect(DEFAULT_GUEST_OS_RULES.find((r) => r.guestOs === 'Mini-OS')!.note).toMatch(/April 2018/);
  });
  it('comes from data/guest-os.json, not from code', () => {
    expect(DEFAULT_GUEST_OS_RULES).toEqual(defaultsJson);
  });
  it('does not list "linux": for Linux the evidence is bit 15', () => {
    expect(lookupGuestOs(DEFAULT_GUEST_OS_TABLE, 'linux')).toBeNull();
  });
  it('the default table has no declared rules', () => {
    expect(DEFAULT_GUEST_OS_TABLE).toEqual({ declared: [], defaults: DEFAULT_GUEST_OS_RULES });
  });
});

describe('looking up a GUEST_OS', () => {
  it.each(['FreeBSD', 'NetBSD', 'Mini-OS'])('given the defaults, "%s" has its rule', (guestOs) => {
    expect(lookupGuestOs(DEFAULT_GUEST_OS_TABLE, guestOs)).toMatchObject({ guestOs, copesWithHighRsdp: true });
  });
  it.each([
    'freebsd',
    'FREEBSD',
    'FreeBSD ',
    ' FreeBSD',
    'netbsd',
    'mini-os',
    'MiniOS',
    'Mini-OS\u0000',
    '',
    'Linux',
    'linux-foo',
  ])('given the defaults, %j has no rule (exact, case-sensitive match)', (guestOs) => {
    expect(lookupGuestOs(DEFAULT_GUEST_OS_TABLE, guestOs)).toBeNull();
  });
  it('given no GUEST_OS note, there is no rule', () => {
    expect(lookupGuestOs(DEFAULT_GUEST_OS_TABLE, undefined)).toBeNull();
  });
  it('given an operator declares Mini-OS does not cope, the declaration wins over the default', () => {
    const table: GuestOsTable = {
      ...DEFAULT_GUEST_OS_TABLE,
      declared: [{ guestOs: 'Mini-OS', copesWithHighRsdp: false, note: 'ops' }],
    };
    expect(lookupGuestOs(table, 'Mini-OS')).toEqual({ guestOs: 'Mini-OS', copesWithHighRsdp: false, note: 'ops' });
    expect(lookupGuestOs(table, 'FreeBSD')).toMatchObject({ copesWithHighRsdp: true });
  });
  it('given two declared rules for the same GUEST_OS, the first one wins', () => {
    const table: GuestOsTable = {
      ...DEFAULT_GUEST_OS_TABLE,
      declared: [
        { guestOs: 'Haiku', copesWithHighRsdp: true, note: 'first' },
        { guestOs: 'Haiku', copesWithHighRsdp: false, note: 'second' },
      ],
    };
    expect(lookupGuestOs(table, 'Haiku')).toMatchObject({ note: 'first' });
  });
  it('given a declared rule for a new GUEST_OS, it is found', () => {
    const table: GuestOsTable = {
      ...DEFAULT_GUEST_OS_TABLE,
      declared: [{ guestOs: 'linux-foo', copesWithHighRsdp: true }],
    };
    expect(lookupGuestOs(table, 'linux-foo')).toEqual({ guestOs: 'linux-foo', copesWithHighRsdp: true });
  });
});
