import { ReadContext, select } from './context';
import { HostSelection, hostSelectorSql } from './host-selection';

/** Current decisions of some hosts, counted as POST /v1/what-if counts its outcomes. */
export interface PlanTotals {
  hosts: number;
  guests: number;
  fine: number;
  overrideLow: number;
  blocked: number;
  notApplicable: number;
  /** Present guests without a decision (their host has not registered). */
  undecided: number;
  lostFirstGiBSuperpage: number;
  unknownKernel: number;
  byReason: Record<string, number>;
  byStatus: Record<string, number>;
}

/** The current plan of some hosts (POST /v1/plan). */
export interface CurrentPlan {
  totals: PlanTotals;
  /** The versions the registered hosts are decided for (the planned target, else the running version). */
  decidedFor: { version: string | null; hosts: number }[];
  unknownHostIds: string[];
  unregisteredHostIds: string[];
}

interface PlanHostDbRow {
  host_id: string;
  registered: boolean;
  version: string | null;
}

/** Present guests of one status and current decision outcome, counted; action null: no decision. */
interface PlanGroupDbRow {
  status: string;
  action: string | null;
  rsdp: string | null;
  reason: string | null;
  lost: boolean;
  unknown: boolean | null;
  n: number;
}

/**
 * The current plan of the selected hosts: their present guests' current decisions, counted
 * as POST /v1/what-if counts its outcomes (fine, override-low, blocked, not applicable, the
 * superpage lost, unknown kernels, by reason and by status), plus the versions the hosts
 * are decided for. Ids that match no host come back in `unknownHostIds`.
 */
export async function readPlanTotals({ db, s }: ReadContext, sel: HostSelection): Promise<CurrentPlan> {
  const params: unknown[] = [];
  const where = hostSelectorSql(sel, params);
  const [hostRows, rows] = await Promise.all([
    select<PlanHostDbRow>(
      db,
      `SELECT h.host_id, h.registered, coalesce(h.upgrade->>'toVersion', h.hypervisor_version) AS version FROM ${s}.hosts h WHERE ${where}`,
      params,
    ),
    select<PlanGroupDbRow>(
      db,
      `SELECT g.status, d.message->>'action' AS action, d.message->>'rsdp' AS rsdp, d.message->>'reason' AS reason,
                coalesce((d.message->'costs')::jsonb @> '[{"code":"first-gib-superpage-lost"}]', false) AS lost,
                (g.status = 'unknown-kernel' OR (d.message->'facts'->>'kernelKnown' = 'false' AND d.message->'facts'->>'mode' = 'pvh')) AS unknown,
                count(*)::int AS n
           FROM ${s}.guests g
           LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id
          WHERE g.present AND g.host_id IN (SELECT h.host_id FROM ${s}.hosts h WHERE h.registered AND ${where})
          GROUP BY 1, 2, 3, 4, 5, 6`,
      params,
    ),
  ]);
  const registered = hostRows.filter((h) => h.registered);
  const totals: PlanTotals = {
    hosts: registered.length,
    guests: 0,
    fine: 0,
    overrideLow: 0,
    blocked: 0,
    notApplicable: 0,
    undecided: 0,
    lostFirstGiBSuperpage: 0,
    unknownKernel: 0,
    byReason: {},
    byStatus: {},
  };
  for (const r of rows) {
    const n = r.n;
    totals.guests += n;
    totals.byStatus[r.status] = (totals.byStatus[r.status] ?? 0) + n;
    if (!r.action) {
      totals.undecided += n;
      continue;
    }
    if (r.action === 'blocked') totals.blocked += n;
    else if (r.action === 'override-low') totals.overrideLow += n;
    else if (r.rsdp === 'not-applicable') totals.notApplicable += n;
    else totals.fine += n;
    if (r.lost) totals.lostFirstGiBSuperpage += n;
    if (r.unknown) totals.unknownKernel += n;
    totals.byReason[String(r.reason)] = (totals.byReason[String(r.reason)] ?? 0) + n;
  }
  const versions = new Map<string | null, number>();
  for (const h of registered) versions.set(h.version, (versions.get(h.version) ?? 0) + 1);
  const found = new Set(hostRows.map((h) => h.host_id));
  return {
    totals,
    decidedFor: [...versions]
      .map(([version, hosts]) => ({ version, hosts }))
      .sort((a, b) => String(a.version).localeCompare(String(b.version), undefined, { numeric: true })),
    unknownHostIds: (sel.ids ?? []).filter((id) => !found.has(id)),
    unregisteredHostIds: hostRows.filter((h) => !h.registered).map((h) => h.host_id),
  };
}
