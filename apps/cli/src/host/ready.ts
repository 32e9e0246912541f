import { apiUrl, fetchError, problemOf } from './http-source';
import { AgentState, readState, StateFileError } from './state';

/** Exit codes of `fleetcompat host ready`. */
export const ReadyExit = { ready: 0, notReady: 1, cannotTell: 2 } as const;

/** Why one guest holds the reboot back. */
export interface GuestHold {
  readonly guestId: string;
  /** A stable code: blocked, no-decision, decision-for-other-version, not-applied, apply-failing, not-acknowledged, agent-ahead-of-service. */
  readonly reason: string;
  /** One sentence for people. */
  readonly detail: string;
  /** What would release it (for blocked guests: the policy's remedy). */
  readonly remedy: readonly string[];
  /** The decision's own reason code (policy), when there is a decision. */
  readonly decisionReason?: string;
  readonly sequence?: number;
}

export interface ReadyVerdict {
  readonly hostId: string;
  readonly target: string;
  readonly exitCode: 0 | 1 | 2;
  readonly ready: boolean;
  /** Exit 2: why the gate cannot tell (one line each). */
  readonly unknown: readonly string[];
  /** Exit 1: the guests that hold the reboot back. */
  readonly holds: readonly GuestHold[];
  /** PVH guests (status other than not-applicable) the service lists for the host. */
  readonly pvhGuests: number;
  readonly guests: number;
  readonly agent: {
    readonly lastSyncAt: string | null;
    readonly ageSeconds: number | null;
    readonly mode: string | null;
    readonly lastError: string | null;
  } | null;
  readonly service: { readonly decisionsForVersion: string | null; readonly readiness: unknown } | null;
}

/** What the gate reads: the agent's state (or why it could not), and the service's two answers (or why not). */
export interface ReadyInputs {
  readonly hostId: string;
  readonly target: string;
  readonly now: Date;
  readonly maxAgeSeconds: number;
  readonly agent: AgentState | { error: string } | null;
  /** GET /v1/hosts/{id} */
  readonly host: { body: unknown } | { error: string };
  /** GET /v1/hosts/{id}/placements */
  readonly placements: { body: unknown } | { error: string };
}

/**
 * What the gate reads of the service's JSON answers. Nothing checks them against a schema: the
 * gate tests each field it needs (or goes by what the API documents), hence the optional and
 * `unknown` fields.
 */
interface HostAnswer {
  readonly decisionsForVersion?: string | null;
  readonly readiness?: { readonly pendingGuestIds?: unknown } | null;
}
interface PlacementAnswer {
  readonly guestId?: unknown;
  readonly status?: unknown;
  readonly remedy?: unknown;
  readonly acknowledged?: unknown;
  readonly decision?: {
    readonly decisionId: string;
    readonly sequence: number;
    readonly reason: string;
    readonly hypervisorVersion: string;
    readonly action: string;
    readonly rsdp: string;
  } | null;
}

const isError = (x: unknown): x is { error: string } => !!x && typeof (x as { error?: unknown }).error === 'string';

/**
 * The pre-reboot verdict. Ready (0) only when the service lists the host, the agent's state is
 * there, for this host and fresh, and every PVH guest the service lists for the host has a
 * decision for the target version that is not blocked, that the agent applied (the same
 * decision id in its state, applied by the hook) and that the service has acknowledged (in both
 * of its answers: the placements and the host's readiness). Anything it cannot establish is
 * exit 2; any guest short of that is exit 1, with the reason and the remedy.
 */
export function judgeReadiness(i: ReadyInputs): ReadyVerdict {
  const unknown: string[] = [];
  let agent: AgentState | null = null;
  if (i.agent === null)
    unknown.push(
      'agent state missing: no state.json in the state folder (is the host agent running with this --state-dir?)',
    );
  else if (isError(i.agent)) unknown.push(`agent state unreadable: ${i.agent.error}`);
  else if (i.agent.hostId !== i.hostId) unknown.push(`the agent state is for host ${i.agent.hostId}, not ${i.hostId}`);
  else agent = i.agent;
  let ageSeconds: number | null = null;
  if (agent) {
    ageSeconds = agent.lastSyncAt
      ? Math.max(0, Math.round((i.now.getTime() - Date.parse(agent.lastSyncAt)) / 1000))
      : null;
    if (ageSeconds === null) unknown.push('agent state stale: the agent has never been in sync with its source');
    else if (ageSeconds > i.maxAgeSeconds)
      unknown.push(
        `agent state stale: last in sync with its source ${ageSeconds} s ago (more than ${i.maxAgeSeconds} s)${agent.lastError ? `; its last error: ${agent.lastError}` : ''}`,
      );
  }
  if (isError(i.host)) unknown.push(`service: ${i.host.error}`);
  if (isError(i.placements)) unknown.push(`service: ${i.placements.error}`);
  const hostBody = (isError(i.host) ? null : i.host.body) as HostAnswer | null;
  const placementsBody = (isError(i.placements) ? null : i.placements.body) as { placements?: unknown } | null;
  if (placementsBody && !Array.isArray(placementsBody.placements))
    unknown.push('service: the placements answer has no placements list');

  const list: (PlacementAnswer | null | undefined)[] = Array.isArray(placementsBody?.placements)
    ? (placementsBody.placements as PlacementAnswer[])
    : [];
  const pvh = list.filter((p) => p?.status !== 'not-applicable');
  const holds: GuestHold[] = [];
  const pendingInService = new Set<string>(
    Array.isArray(hostBody?.readiness?.pendingGuestIds) ? (hostBody.readiness.pendingGuestIds as string[]) : [],
  );
  if (hostBody && placementsBody) {
    for (const p of pvh as PlacementAnswer[]) {
      const guestId = String(p.guestId);
      const d = p.decision;
      const remedy: string[] = Array.isArray(p.remedy) ? p.remedy.map((x) => String(x)) : [];
      if (!d) {
        holds.push({
          guestId,
          reason: 'no-decision',
          detail: `no decision yet (status ${String(p.status)})`,
          remedy: ['wait for the service to decide (the host must be registered, the guest observed)'],
        });
        continue;
      }
      const base = { guestId, decisionReason: d.reason, sequence: d.sequence };
      if (d.hypervisorVersion !== i.target) {
        holds.push({
          ...base,
          reason: 'decision-for-other-version',
          detail: `its decision is for Xen ${d.hypervisorVersion}, not ${i.target}`,
          remedy: [`plan the host's upgrade to ${i.target} (HypervisorUpgradePlanned) and wait for its decisions`],
        });
        continue;
      }
      if (d.action === 'blocked' || p.status === 'blocked') {
        holds.push({
          ...base,
          reason: 'blocked',
          detail: `blocked for Xen ${i.target}: ${d.reason} (rsdp ${d.rsdp})`,
          remedy: remedy.length ? remedy : ['see GET /v1/guests/{id} for the explanation'],
        });
        continue;
      }
      if (!agent) continue; // exit 2 anyway
      const mine = agent.guests[guestId];
      if (mine && mine.sequence > d.sequence) {
        holds.push({
          ...base,
          reason: 'agent-ahead-of-service',
          detail: `the agent has sequence ${mine.sequence}, the service answered ${d.sequence}: the service's answer is behind`,
          remedy: ['ask again in a moment'],
        });
        continue;
      }
      if (!mine || mine.sequence < d.sequence || mine.decisionId !== d.decisionId) {
        holds.push({
          ...base,
          reason: 'not-applied',
          detail: `the agent has not received decision ${d.decisionId} (sequence ${d.sequence}) yet${mine ? `; it has sequence ${mine.sequence}` : ''}`,
          remedy: ['wait for the host agent (fleetcompat host status)'],
        });
        continue;
      }
      if (!mine.applied) {
        holds.push({
          ...base,
          reason: mine.attempts > 0 ? 'apply-failing' : 'not-applied',
          detail:
            mine.attempts > 0
              ? `the apply hook failed ${mine.attempts} time(s): ${mine.lastError}`
              : 'the agent has not run the apply hook for it yet',
          remedy:
            mine.attempts > 0
              ? ['fix the apply hook (--apply-command); the agent retries it']
              : ['wait for the host agent (fleetcompat host status)'],
        });
        continue;
      }
      if (p.acknowledged !== true || pendingInService.has(guestId)) {
        holds.push({
          ...base,
          reason: 'not-acknowledged',
          detail: `applied by the agent${mine.acked ? ' and acknowledged' : ''}, but the service has not recorded the acknowledgement of ${d.decisionId} yet`,
          remedy: ['wait for the acknowledgement to reach the service (fleetcompat host status shows the agent side)'],
        });
      }
    }
    if (hostBody.decisionsForVersion && hostBody.decisionsForVersion !== i.target && pvh.length === 0) {
      unknown.push(
        `the service decides the host for Xen ${hostBody.decisionsForVersion}, not ${i.target}, and lists no PVH guest for it`,
      );
    }
  }
  const exitCode: 0 | 1 | 2 = unknown.length
    ? ReadyExit.cannotTell
    : holds.length
      ? ReadyExit.notReady
      : ReadyExit.ready;
  return {
    hostId: i.hostId,
    target: i.target,
    exitCode,
    ready: exitCode === 0,
    unknown,
    holds,
    pvhGuests: pvh.length,
    guests: list.length,
    agent: agent ? { lastSyncAt: agent.lastSyncAt, ageSeconds, mode: agent.mode, lastError: agent.lastError } : null,
    service: hostBody
      ? { decisionsForVersion: hostBody.decisionsForVersion ?? null, readiness: hostBody.readiness ?? null }
      : null,
  };
}

async function getJson(
  url: string,
  token: string | undefined,
  timeoutMs: number,
): Promise<{ body: unknown } | { error: string }> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    return { error: `unreachable: ${fetchError(e, `GET ${url}`).message}` };
  }
  if (res.status !== 200) return { error: `GET ${url}: HTTP ${res.status} ${await problemOf(res)}` };
  try {
    return { body: (await res.json()) as unknown };
  } catch (e) {
    return { error: `GET ${url}: not JSON (${(e as Error).message})` };
  }
}

/** Reads the three inputs (agent state, then the service's answers) and judges. */
export async function checkReadiness(o: {
  hostId: string;
  target: string;
  stateDir: string;
  url: string;
  token: string | undefined;
  maxAgeSeconds: number;
  timeoutMs: number;
}): Promise<ReadyVerdict> {
  let agent: ReadyInputs['agent'];
  try {
    agent = readState(o.stateDir);
  } catch (e) {
    agent = { error: e instanceof StateFileError ? e.message : String(e) };
  }
  const base = apiUrl(o.url, `/v1/hosts/${encodeURIComponent(o.hostId)}`);
  // the host's readiness first, the placements after: an acknowledgement recorded in between only makes the second more complete
  const host = await getJson(base, o.token, o.timeoutMs);
  const placements = await getJson(`${base}/placements`, o.token, o.timeoutMs);
  return judgeReadiness({
    hostId: o.hostId,
    target: o.target,
    now: new Date(),
    maxAgeSeconds: o.maxAgeSeconds,
    agent,
    host,
    placements,
  });
}

export function formatVerdict(v: ReadyVerdict): string {
  const lines: string[] = [];
  if (v.exitCode === 0) {
    lines.push(
      `host ${v.hostId}: ready to reboot into Xen ${v.target}: ${v.pvhGuests} PVH guest(s) decided for ${v.target}, applied and acknowledged, none blocked`,
    );
  } else if (v.exitCode === 2) {
    lines.push(`host ${v.hostId}: cannot tell whether it may reboot into Xen ${v.target}:`);
    for (const u of v.unknown) lines.push(`  - ${u}`);
    if (v.holds.length) lines.push(`  (and ${v.holds.length} guest(s) hold it back anyway)`);
  } else {
    lines.push(
      `host ${v.hostId}: NOT ready to reboot into Xen ${v.target}: ${v.holds.length} of ${v.pvhGuests} PVH guest(s) hold it back`,
    );
  }
  for (const h of v.holds) {
    lines.push(`  ${h.guestId}: ${h.reason}: ${h.detail}`);
    for (const r of h.remedy) lines.push(`      remedy: ${r}`);
  }
  return lines.join('\n') + '\n';
}
