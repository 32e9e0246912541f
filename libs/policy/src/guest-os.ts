import defaultRules from './data/guest-os.json';

/**
 * One entry of the GUEST_OS list: whether kernels whose GUEST_OS note (6) is exactly
 * `guestOs` are known to cope with a high RSDP (they read rsdp_paddr from hvm_start_info).
 * A rule with copesWithHighRsdp false withdraws that knowledge (e.g. an operator removing a
 * default). Bit 15 of SUPPORTED_FEATURES is evidence on its own and needs no rule.
 */
export interface GuestOsRule {
  readonly guestOs: string;
  readonly copesWithHighRsdp: boolean;
  readonly note?: string;
}

/**
 * Declared rules (operators, GuestOsDeclared events) take precedence over the defaults (this
 * release's data). The caller puts the declaration in force for a guestOs first (for each
 * guestOs the one with the latest occurredAt): the first declared rule for a guestOs wins.
 */
export interface GuestOsTable {
  readonly declared: readonly GuestOsRule[];
  readonly defaults: readonly GuestOsRule[];
}

/** This release's list (data/guest-os.json): FreeBSD, NetBSD, Mini-OS. */
export const DEFAULT_GUEST_OS_RULES: readonly GuestOsRule[] = defaultRules;

export const DEFAULT_GUEST_OS_TABLE: GuestOsTable = { declared: [], defaults: DEFAULT_GUEST_OS_RULES };

/**
 * The rule for a GUEST_OS value: exact, case-sensitive match ("freebsd" is not "FreeBSD");
 * the first declared rule for that guestOs wins over the defaults. An absent GUEST_OS
 * (undefined) has no rule.
 */
export function lookupGuestOs(table: GuestOsTable, guestOs: string | undefined): GuestOsRule | null {
  if (guestOs === undefined) return null;
  return table.declared.find((r) => r.guestOs === guestOs) ?? table.defaults.find((r) => r.guestOs === guestOs) ?? null;
}
