// The go / no-go rule of a host, with no imports: the dashboard's bundle (apps/ui) uses this
// file as it is, so the API and the page cannot disagree on it.

/**
 * The go / no-go rule: a host may reboot when it has guests, the host acknowledged the
 * current decision of every one (so every one is decided) and none is blocked. readySql
 * (readiness.ts) is the same rule in SQL, for the reads that filter or count by it.
 */
export function isReady(r: {
  readonly guests: number;
  readonly acknowledged: number;
  readonly blocked: number;
}): boolean {
  return r.guests > 0 && r.acknowledged === r.guests && r.blocked === 0;
}

/** A host's readiness counted in SQL (readinessCountsSql, readiness.ts), without the guest ids. */
export interface ReadinessCounts {
  guests: number;
  decided: number;
  acknowledged: number;
  blocked: number;
  /** Every guest decided and acknowledged, none blocked (and at least one guest): go (isReady). */
  ready: boolean;
}

/** Why a host is no-go, in words (empty when it is go). */
export function noGoReasons(r: ReadinessCounts, registered: boolean): string[] {
  const why: string[] = [];
  if (!registered) why.push('the host has not registered');
  if (r.guests === 0) why.push('no guests reported');
  if (r.blocked) why.push(`${r.blocked} guest${r.blocked === 1 ? '' : 's'} blocked`);
  const undecided = r.guests - r.decided;
  if (undecided > 0) why.push(`${undecided} guest${undecided === 1 ? '' : 's'} not decided`);
  const unacked = r.decided - r.acknowledged;
  if (unacked > 0) why.push(`${unacked} decision${unacked === 1 ? '' : 's'} not acknowledged by the host`);
  return why;
}
