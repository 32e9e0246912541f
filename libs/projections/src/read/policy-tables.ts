import { BehaviourRule, GuestOsRule } from '@fleetcompat/policy';
import { behaviourTable, guestOsTable, PolicyTables } from '../evolve';
import { ReadContext, select } from './context';

/**
 * The operator data the policy decides with, as the projections hold it: the declared
 * behaviour rules (by key) and GUEST_OS rules (by value), over this release's defaults.
 */
export async function readPolicyTables(
  { db, s }: ReadContext,
  defaults: readonly BehaviourRule[],
  guestOsDefaults: readonly GuestOsRule[],
): Promise<PolicyTables> {
  const [row] = await select<{ behaviours: BehaviourRule[]; guest_oses: GuestOsRule[] }>(
    db,
    `SELECT coalesce((SELECT json_agg(rule ORDER BY key) FROM ${s}.behaviour_rules), '[]'::json) AS behaviours,
            coalesce((SELECT json_agg(rule ORDER BY guest_os) FROM ${s}.guest_os_rules), '[]'::json) AS guest_oses`,
  );
  return {
    behaviours: behaviourTable(
      row.behaviours.map((rule) => ({ rule })),
      defaults,
    ),
    guestOses: guestOsTable(
      row.guest_oses.map((rule) => ({ rule })),
      guestOsDefaults,
    ),
  };
}
