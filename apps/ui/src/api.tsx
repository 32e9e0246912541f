// The API of this service, with the token the user pasted once (kept in this tab's sessionStorage).

import type {
  AttentionItem as AttentionRead,
  FleetSummary,
  HostListItem,
  WaveReadiness,
} from '../../../libs/projections/src/read/answers';
import type { ReadinessCounts } from '../../../libs/projections/src/read/go-no-go';

const TOKEN_KEY = 'fleetcompat.token';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused: the token lasts as long as the page */
  }
}

/** An RFC 9457 problem the API answered with (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(detail);
  }
}

/** Listeners told when the API refused the token (401): the app shows the login again. */
const signedOut = new Set<(why: string) => void>();
export function onSignedOut(f: (why: string) => void): () => void {
  signedOut.add(f);
  return () => signedOut.delete(f);
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; token?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const token = init.token ?? storedToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
      cache: 'no-store',
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'the service did not answer (is it running?)');
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? (JSON.parse(text) as unknown) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const retry = res.headers.get('retry-after');
    const problem = body as { code?: string; detail?: string; title?: string } | null;
    const err = new ApiError(
      res.status,
      problem?.code ?? `http-${res.status}`,
      problem?.detail ?? problem?.title ?? `${res.status} ${res.statusText}`,
      retry ? Number(retry) : null,
    );
    if (res.status === 401 && !init.token) for (const f of signedOut) f(err.detail);
    throw err;
  }
  return body as T;
}

export const q = (params: Record<string, string | number | undefined | null | readonly string[]>): string => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) u.append(k, x);
    else u.append(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
};

// ---- shapes of the answers the pages use ---------------------------------------------------

// The dashboard reads' answers are the API's own types (libs/projections/src/read/answers.ts,
// dependency-free, imported above): one definition, checked by the compiler on both sides.
export type { HostListItem };
export type Summary = FleetSummary;
export type Wave = WaveReadiness;
/** A host's readiness (GET /v1/hosts/{id} adds the guests still waiting for an acknowledgement). */
export type Readiness = ReadinessCounts & { pendingGuestIds?: string[] };
/** GET /v1/attention adds the announced builds that would unblock a blocked guest. */
export type AttentionItem = AttentionRead & { fixes: Fix[] };

export interface Me {
  tokenId: string;
  name: string | null;
  role: string;
  kind: 'planner' | 'ci' | 'admin' | 'host';
  hostId: string | null;
  may: {
    fleet: boolean;
    whatIf: boolean;
    hosts: 'all' | 'own' | 'none';
    hostTimeline: boolean;
    guests: boolean;
    live: boolean;
  };
}

export type Counts = Record<string, number>;

export interface PlannedUpgrade {
  fromVersion?: string;
  toVersion: string;
  toBuild: string | null;
  plannedRebootAt: string;
  waveId: string | null;
  state: string;
}

export interface Fix {
  imageSha256: string;
  release: string;
  distro: string;
}

export interface AttentionPage {
  items: AttentionItem[];
  nextCursor: string | null;
  counts: { total: number; kinds: Record<'blocked' | 'override' | 'unknown-kernel', number>; reasons: Counts };
}

export interface Decision {
  decisionId: string;
  hostId: string;
  guestId: string;
  sequence: number;
  hypervisorVersion: string;
  rsdp: string;
  action: string;
  reason: string;
  costs: { code: string; detail: string }[];
  decidedAt: string;
  facts: Record<string, unknown>;
}

export interface Guest {
  guestId: string;
  hostId: string;
  present: boolean;
  status: string;
  mode: string | null;
  memoryMiB: number | null;
  boot: { method: string | null; kernelSha256: string | null; bootloaderSha256: string | null };
  requiredPlacement: { rsdp: string; action: string; reason: string } | null;
  decision: Decision | null;
  acknowledged: { decisionId: string; appliedAt: string } | null;
  reportedBy: string[];
  flags: string[];
  host: {
    hostId: string;
    hypervisor: { version: string | null; build: string | null };
    rsdpOverrideSupported: boolean;
    labels: Record<string, string>;
    plannedUpgrade: PlannedUpgrade | null;
  } | null;
  kernel: {
    imageSha256: string;
    release: string | null;
    distro: string | null;
    revoked: boolean;
    xenNotes: Record<string, unknown> | null;
  } | null;
  bootloader: { imageSha256: string; release: string | null; distro: string | null } | null;
  explanation: {
    rule: string | null;
    steps: string[];
    remedy: string[];
    flags: string[];
    causedBy: { eventId: string; type: string } | null;
  };
}

export interface EventRef {
  fact?: string;
  eventId: string;
  type: string;
  streamId: string;
  occurredAt: string | null;
  recordedAt: string | null;
  globalPosition: string;
}

export interface HistoryItem {
  decisionId: string;
  hostId: string;
  sequence: number;
  kind: string;
  decidedAt: string | null;
  message: Decision & { type: string };
  rule: { reason: string; status: string; explanation: string[]; flags: string[] } | null;
  causedBy: EventRef;
  restedOn: EventRef[];
}

export interface Host {
  hostId: string;
  registered: boolean;
  hypervisor: { name: string; version: string | null; build: string | null };
  rsdpOverrideSupported: boolean;
  labels: Record<string, string>;
  plannedUpgrade: PlannedUpgrade | null;
  decisionsForVersion: string | null;
  readiness: Readiness;
}

export interface Placements {
  hostId: string;
  hypervisorVersion: string;
  placements: { guestId: string; status: string; decision: Decision | null; acknowledged: boolean }[];
}

export interface TimelineItem {
  position: number;
  eventId: string;
  type: string;
  occurredAt: string | null;
  recordedAt: string | null;
  source: string;
  data: Record<string, unknown>;
}

export interface Totals {
  hosts: number;
  guests: number;
  fine: number;
  overrideLow: number;
  blocked: number;
  notApplicable: number;
  lostFirstGiBSuperpage: number;
  unknownKernel: number;
  undecided?: number;
  byReason: Counts;
  byStatus: Counts;
}

export interface WhatIfResult {
  target: { version: string; build: string | null };
  totals: Totals;
  hosts: {
    hostId: string;
    hypervisor: { version: string | null; build: string | null };
    waveId: string | null;
    totals: Totals;
    guests: {
      guestId: string;
      outcome: string;
      status: string;
      reason: string;
      lostFirstGiBSuperpage: boolean;
      unknownKernel: boolean;
      explanation: string[];
      fixes?: Fix[];
    }[];
  }[];
  unknownHostIds: string[];
  unregisteredHostIds: string[];
  guestsListed: number;
  truncated: boolean;
  flags: string[];
}

export interface PlanResult {
  totals: Totals;
  decidedFor: { version: string | null; hosts: number }[];
  unknownHostIds: string[];
  unregisteredHostIds: string[];
}
