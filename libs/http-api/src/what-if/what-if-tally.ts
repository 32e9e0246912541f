import { PlacementDecision } from '@fleetcompat/policy';
import { FixSuggestion, GuestOfHost, KernelOfHosts, SelectedHost } from '@fleetcompat/projections';

// The what-if answer and its tally: pure (no I/O), fed one decided guest at a time.

export type { FixSuggestion };

/** What would happen to one guest. */
export type Outcome = 'fine' | 'override-low' | 'blocked' | 'not-applicable';

export interface Totals {
  guests: number;
  fine: number;
  overrideLow: number;
  blocked: number;
  notApplicable: number;
  lostFirstGiBSuperpage: number;
  unknownKernel: number;
  byReason: Record<string, number>;
  byStatus: Record<string, number>;
}

export interface WhatIfGuest {
  guestId: string;
  outcome: Outcome;
  status: string;
  rsdp: string;
  action: string;
  reason: string;
  lostFirstGiBSuperpage: boolean;
  unknownKernel: boolean;
  kernelSha256: string | null;
  explanation: readonly string[];
  flags: readonly string[];
  /** For a blocked guest: announced kernels of its kernel's distro line with bit 15 set, newest first. */
  fixes?: FixSuggestion[];
}

export interface WhatIfHost {
  hostId: string;
  hypervisor: { version: string | null; build: string | null };
  rsdpOverrideSupported: boolean;
  labels: Record<string, string>;
  waveId: string | null;
  totals: Totals;
  guests: WhatIfGuest[];
}

export interface WhatIfResult {
  target: { version: string; build: string | null };
  totals: Totals & { hosts: number };
  hosts: WhatIfHost[];
  /** Ids asked for that no host has. */
  unknownHostIds: string[];
  /** Hosts named that have not registered (no guests can be decided for them). */
  unregisteredHostIds: string[];
  guestsListed: number;
  truncated: boolean;
  flags: string[];
}

function emptyTotals(): Totals {
  return {
    guests: 0,
    fine: 0,
    overrideLow: 0,
    blocked: 0,
    notApplicable: 0,
    lostFirstGiBSuperpage: 0,
    unknownKernel: 0,
    byReason: {},
    byStatus: {},
  };
}

function outcomeOf(d: PlacementDecision): Outcome {
  if (d.action === 'blocked') return 'blocked';
  if (d.action === 'override-low') return 'override-low';
  return d.rsdp === 'not-applicable' ? 'not-applicable' : 'fine';
}

function count(t: Totals, o: Outcome, d: PlacementDecision): void {
  t.guests++;
  if (o === 'fine') t.fine++;
  else if (o === 'override-low') t.overrideLow++;
  else if (o === 'blocked') t.blocked++;
  else t.notApplicable++;
  if (d.costs.some((c) => c.code === 'first-gib-superpage-lost')) t.lostFirstGiBSuperpage++;
  if (d.status === 'unknown-kernel' || (d.facts.kernelKnown === false && d.facts.mode === 'pvh')) t.unknownKernel++;
  t.byReason[d.reason] = (t.byReason[d.reason] ?? 0) + 1;
  t.byStatus[d.status] = (t.byStatus[d.status] ?? 0) + 1;
}

function add(into: Totals, t: Totals): void {
  for (const k of [
    'guests',
    'fine',
    'overrideLow',
    'blocked',
    'notApplicable',
    'lostFirstGiBSuperpage',
    'unknownKernel',
  ] as const)
    into[k] += t[k];
  for (const [k, n] of Object.entries(t.byReason)) into.byReason[k] = (into.byReason[k] ?? 0) + n;
  for (const [k, n] of Object.entries(t.byStatus)) into.byStatus[k] = (into.byStatus[k] ?? 0) + n;
}

/** What the tally needs of the request (what-if.service.ts WhatIfRequest). */
export interface ListingRequest {
  readonly guests: 'all' | 'attention' | 'none';
  readonly maxGuests: number;
}

/**
 * Counts every decided guest into its host's totals and lists the guests asked for (up to
 * maxGuests), with the fixes of a blocked one from its kernel's distro line.
 */
export class WhatIfTally {
  private readonly hosts: Map<string, WhatIfHost>;
  private readonly flags = new Set<string>();
  private listed = 0;
  private truncated = false;

  constructor(
    private readonly req: ListingRequest,
    registered: readonly SelectedHost[],
    private readonly kernels: ReadonlyMap<string, KernelOfHosts>,
    private readonly fixes: ReadonlyMap<string, readonly FixSuggestion[]>,
  ) {
    this.hosts = new Map(
      registered.map((h) => [
        h.hostId,
        {
          hostId: h.hostId,
          hypervisor: { version: h.hypervisorVersion, build: h.hypervisorBuild },
          rsdpOverrideSupported: h.rsdpOverrideSupported,
          labels: h.labels,
          waveId: h.waveId,
          totals: emptyTotals(),
          guests: [],
        },
      ]),
    );
  }

  /** The host of a guest read (every guest read is of a registered host selected). */
  host(hostId: string): WhatIfHost {
    const host = this.hosts.get(hostId);
    if (!host) throw new Error(`what-if: guest of a host not selected (${hostId})`);
    return host;
  }

  add(g: GuestOfHost, d: PlacementDecision): void {
    const host = this.host(g.hostId);
    const outcome = outcomeOf(d);
    count(host.totals, outcome, d);
    for (const f of d.flags) this.flags.add(f);
    const attention =
      outcome === 'blocked' || outcome === 'override-low' || d.status === 'unknown-kernel' || d.costs.length > 0;
    if (this.req.guests === 'none' || (this.req.guests === 'attention' && !attention)) return;
    if (this.listed >= this.req.maxGuests) {
      this.truncated = true;
      return;
    }
    this.listed++;
    const kernel = g.kernelSha256 ? this.kernels.get(g.kernelSha256) : undefined;
    host.guests.push({
      guestId: g.guestId,
      outcome,
      status: d.status,
      rsdp: d.rsdp,
      action: d.action,
      reason: d.reason,
      lostFirstGiBSuperpage: d.costs.some((c) => c.code === 'first-gib-superpage-lost'),
      unknownKernel: d.status === 'unknown-kernel' || (d.facts.kernelKnown === false && d.facts.mode === 'pvh'),
      kernelSha256: g.kernelSha256,
      explanation: d.explanation,
      flags: d.flags,
      ...(outcome === 'blocked'
        ? {
            fixes: kernel?.distro
              ? (this.fixes.get(kernel.distro) ?? []).filter((f) => f.imageSha256 !== g.kernelSha256)
              : [],
          }
        : {}),
    });
  }

  result(target: WhatIfResult['target'], unknownHostIds: string[], unregisteredHostIds: string[]): WhatIfResult {
    const totals = { hosts: this.hosts.size, ...emptyTotals() };
    for (const h of this.hosts.values()) add(totals, h.totals);
    return {
      target,
      totals,
      hosts: [...this.hosts.values()],
      unknownHostIds,
      unregisteredHostIds,
      guestsListed: this.listed,
      truncated: this.truncated,
      flags: [...this.flags].sort(),
    };
  }
}
