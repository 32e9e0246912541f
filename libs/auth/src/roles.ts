/**
 * Who may do what. A token carries one role:
 * - `planner`: reads everything, runs what-if;
 * - `ci`: writes kernel builds (KernelBuildCompleted, KernelBuildRevoked) and nothing else;
 * - `host:<hostId>`: reads its own host and placements, writes its own inventory
 *   (HostRegistered, GuestObserved, GuestRemoved) and acknowledgements (PlacementApplied);
 * - `admin`: everything (tokens, the hypervisor behaviour table, upgrades).
 */
export type Role = 'planner' | 'ci' | 'admin' | `host:${string}`;

export type RoleKind = 'planner' | 'ci' | 'admin' | 'host';

export const HOST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Parses a role name; null when it is not one. */
export function parseRole(text: string): Role | null {
  if (text === 'planner' || text === 'ci' || text === 'admin') return text;
  if (text.startsWith('host:') && HOST_ID_PATTERN.test(text.slice(5))) return text as Role;
  return null;
}

export function roleKind(role: Role): RoleKind {
  return role.startsWith('host:') ? 'host' : (role as RoleKind);
}

/** The host a `host:<id>` role speaks for, else null. */
export function hostOf(role: Role): string | null {
  return role.startsWith('host:') ? role.slice(5) : null;
}

/** An authenticated caller. */
export interface Principal {
  /** Token id (or `bootstrap` for FLEETCOMPAT_BOOTSTRAP_TOKEN). */
  readonly tokenId: string;
  readonly name: string | null;
  readonly role: Role;
}

const KERNEL_EVENTS = new Set(['KernelBuildCompleted', 'KernelBuildRevoked']);
const HOST_EVENTS = new Set(['HostRegistered', 'GuestObserved', 'GuestRemoved', 'PlacementApplied']);

export interface EventRefusal {
  readonly index: number;
  readonly eventId?: string;
  readonly type?: string;
  readonly reason: string;
}

/**
 * Which events of a POST /v1/events body the role may write. Items whose type is not a
 * string are left to validation (a 400 follows); every other item must be allowed.
 * Returns the refusals (empty: all allowed).
 */
export function refusedEvents(role: Role, items: readonly unknown[]): EventRefusal[] {
  const kind = roleKind(role);
  if (kind === 'admin') return [];
  const refusals: EventRefusal[] = [];
  items.forEach((item, index) => {
    const e = (item && typeof item === 'object' ? item : {}) as {
      eventId?: unknown;
      type?: unknown;
      data?: { hostId?: unknown };
    };
    if (typeof e.type !== 'string') return;
    const ref = { index, type: e.type, ...(typeof e.eventId === 'string' ? { eventId: e.eventId } : {}) };
    if (kind === 'ci') {
      if (!KERNEL_EVENTS.has(e.type))
        refusals.push({
          ...ref,
          reason: `role ci may write KernelBuildCompleted and KernelBuildRevoked only, not ${e.type}`,
        });
      return;
    }
    if (kind === 'host') {
      const own = hostOf(role)!;
      if (!HOST_EVENTS.has(e.type))
        refusals.push({
          ...ref,
          reason: `a host may write HostRegistered, GuestObserved, GuestRemoved and PlacementApplied only, not ${e.type}`,
        });
      else if (typeof e.data?.hostId === 'string' && e.data.hostId !== own)
        refusals.push({ ...ref, reason: `role ${role} may write events of host ${own} only, not of ${e.data.hostId}` });
      return;
    }
    refusals.push({ ...ref, reason: `role ${role} may not write events` });
  });
  return refusals;
}
