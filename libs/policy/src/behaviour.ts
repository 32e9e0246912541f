import defaultRules from './data/hypervisor-behaviours.json';
import { compareXenVersions, parseXenVersion } from './version';

/**
 * How a hypervisor's toolstack places the RSDP of a PVH guest:
 * - always-low: below 1 MiB, whatever the guest (Xen 4.8 - 4.10.x);
 * - by-notes: the libxl rule on the ELF image the toolstack loads (Xen 4.11.0 and later);
 * - always-high: next to the other ACPI tables below 4 GiB (4.11 development builds, and
 *   any version the table does not cover: the worst case).
 */
export type ToolstackBehaviour = 'always-low' | 'by-notes' | 'always-high';

/**
 * One row of the behaviour table. Exactly one way of matching:
 * `build` (exact build string), `version` (exact version string), or a range of released
 * versions `from` (inclusive) / `before` (exclusive).
 */
export interface BehaviourRule {
  readonly build?: string;
  readonly version?: string;
  readonly from?: string;
  readonly before?: string;
  readonly behaviour: ToolstackBehaviour;
  readonly note?: string;
}

/** Declared rules (operators) take precedence over the default rules (this release's data). */
export interface BehaviourTable {
  readonly declared: readonly BehaviourRule[];
  readonly defaults: readonly BehaviourRule[];
}

export const DEFAULT_BEHAVIOUR_RULES: readonly BehaviourRule[] = defaultRules as BehaviourRule[];

export const DEFAULT_BEHAVIOUR_TABLE: BehaviourTable = { declared: [], defaults: DEFAULT_BEHAVIOUR_RULES };

export interface BehaviourLookup {
  readonly behaviour: ToolstackBehaviour;
  /** The rule that matched, or null when none did (then behaviour is always-high). */
  readonly rule: BehaviourRule | null;
  /** False when no rule covers the version: treated as always-high and flagged. */
  readonly covered: boolean;
}

function inRange(rule: BehaviourRule, version: string): boolean {
  if (rule.from === undefined && rule.before === undefined) return false;
  const v = parseXenVersion(version);
  if (!v) return false;
  if (rule.from !== undefined) {
    const from = parseXenVersion(rule.from);
    if (!from || compareXenVersions(v, from) < 0) return false;
  }
  if (rule.before !== undefined) {
    const before = parseXenVersion(rule.before);
    if (!before || compareXenVersions(v, before) >= 0) return false;
  }
  return true;
}

/**
 * The behaviour of a hypervisor version (and build, when known). Order: a rule for the
 * exact build, then for the exact version, then a version range; declared rules before
 * defaults at each step. No match: always-high, not covered.
 */
export function lookupBehaviour(table: BehaviourTable, version: string, build?: string | null): BehaviourLookup {
  const all = [...table.declared, ...table.defaults];
  const match =
    (build ? all.find((r) => r.build !== undefined && r.build === build) : undefined) ??
    all.find((r) => r.version !== undefined && r.version === version) ??
    all.find((r) => r.build === undefined && r.version === undefined && inRange(r, version));
  if (!match) return { behaviour: 'always-high', rule: null, covered: false };
  return { behaviour: match.behaviour, rule: match, covered: true };
}
