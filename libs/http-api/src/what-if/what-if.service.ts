import { DataSource } from 'typeorm';
import { z } from 'zod';
import { MAX_LABELS } from '@fleetcompat/contract';
import { BehaviourRule, DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES, decidePlacement, GuestOsRule, hasRsdpUnrestricted, PlacementDecision } from '@fleetcompat/policy';
import { behaviourTable, guestOsTable, LIVE_SCHEMA, PolicyKernel, policyInputFor } from '@fleetcompat/projections';

/** POST /v1/what-if body. */
export const whatIfRequestSchema = z
  .object({
    hosts: z
      .object({
        ids: z.array(z.string().min(1).max(128)).min(1).max(100000).optional(),
        labels: z
          .record(z.string().min(1).max(128), z.string().max(256))
          .refine((l) => Object.keys(l).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`)
          .optional(),
        waveId: z.string().min(1).max(128).optional(),
      })
      .strict()
      .refine((h) => Boolean(h.ids?.length || (h.labels && Object.keys(h.labels).length) || h.waveId), 'name the hosts by ids, labels or waveId'),
    target: z
      .object({
        version: z
          .string()
          .max(64)
          .regex(/^\d+\.\d+(\.\d+)?([-+~.][0-9A-Za-z.+~-]*)?$/, 'a Xen version such as 4.17.3'),
        build: z.string().min(1).max(200).optional(),
      })
      .strict(),
    /** Which guests to list one by one (totals always count every guest). */
    guests: z.enum(['all', 'attention', 'none']).default('all'),
    /** At most this many guests listed (the rest are counted; `truncated` says so). */
    maxGuests: z.number().int().min(0).max(100000).default(10000),
  })
  .strict();

export type WhatIfRequest = z.output<typeof whatIfRequestSchema>;

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

export interface FixSuggestion {
  imageSha256: string;
  release: string;
  distro: string;
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

const FIX_LIMIT = 3;

function emptyTotals(): Totals {
  return { guests: 0, fine: 0, overrideLow: 0, blocked: 0, notApplicable: 0, lostFirstGiBSuperpage: 0, unknownKernel: 0, byReason: {}, byStatus: {} };
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
  for (const k of ['guests', 'fine', 'overrideLow', 'blocked', 'notApplicable', 'lostFirstGiBSuperpage', 'unknownKernel'] as const) into[k] += t[k];
  for (const [k, n] of Object.entries(t.byReason)) into.byReason[k] = (into.byReason[k] ?? 0) + n;
  for (const [k, n] of Object.entries(t.byStatus)) into.byStatus[k] = (into.byStatus[k] ?? 0) + n;
}

/**
 * The what-if of a planned upgrade: the policy the projector runs (decidePlacement on
 * policyInputFor), applied to the projections as they are, for another target version.
 * Reads in one read-only, repeatable-read transaction; guests are streamed through a
 * cursor in chunks of the columns the policy needs; nothing is written.
 */
export class WhatIfService {
  private readonly s = LIVE_SCHEMA;

  constructor(
    private readonly dataSource: DataSource,
    private readonly defaults: readonly BehaviourRule[] = DEFAULT_BEHAVIOUR_RULES,
    private readonly guestOsDefaults: readonly GuestOsRule[] = DEFAULT_GUEST_OS_RULES,
    /** Guests fetched from the cursor at a time. */
    private readonly chunkSize = 5000,
  ) {}

  async run(req: WhatIfRequest): Promise<WhatIfResult> {
    const s = this.s;
    const qr = this.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The hosts named, as SQL (a semi-join, never a long array compared row by row).
      const selector = `($1::text[] IS NULL OR host_id IN (SELECT unnest($1::text[])))
            AND ($2::jsonb IS NULL OR labels @> $2::jsonb) AND ($3::text IS NULL OR wave_id = $3::text)`;
      const params = [req.hosts.ids ?? null, req.hosts.labels ? JSON.stringify(req.hosts.labels) : null, req.hosts.waveId ?? null];
      const selected = `SELECT host_id FROM ${s}.hosts WHERE registered AND ${selector}`;
      const hostRows: any[] = await qr.query(
        `SELECT host_id, registered, hypervisor_version, hypervisor_build, rsdp_override_supported, labels, wave_id
           FROM ${s}.hosts WHERE ${selector} ORDER BY host_id`,
        params,
      );
      const found = new Set(hostRows.map((h) => h.host_id as string));
      const unknownHostIds = (req.hosts.ids ?? []).filter((id) => !found.has(id));
      const registered = hostRows.filter((h) => h.registered);
      const target = { version: req.target.version, build: req.target.build ?? null };

      const [kernelRows, ruleRows, guestOsRows]: any[][] = [
        await qr.query(
          `SELECT image_sha256, xen_notes, revoked, announced_at, distro FROM ${s}.kernels
            WHERE image_sha256 IN (SELECT kernel_sha256 FROM ${s}.guests WHERE present AND host_id IN (${selected})
                                   UNION SELECT bootloader_sha256 FROM ${s}.guests WHERE present AND host_id IN (${selected}))`,
          params,
        ),
        await qr.query(`SELECT key, rule FROM ${s}.behaviour_rules ORDER BY key`),
        await qr.query(`SELECT guest_os, rule FROM ${s}.guest_os_rules ORDER BY guest_os`),
      ];
      const kernels = new Map<string, PolicyKernel & { distro: string | null }>(
        kernelRows.map((k) => [k.image_sha256, { imageSha256: k.image_sha256, xenNotes: k.xen_notes, revoked: k.revoked, announcedAt: k.announced_at, distro: k.distro }]),
      );
      const tables = { behaviours: behaviourTable(ruleRows, this.defaults), guestOses: guestOsTable(guestOsRows, this.guestOsDefaults) };
      const fixes = await this.fixCandidates(qr, [...new Set([...kernels.values()].map((k) => k.distro).filter((d): d is string => Boolean(d)))]);

      const hosts = new Map<string, WhatIfHost>(
        registered.map((h) => [
          h.host_id,
          {
            hostId: h.host_id,
            hypervisor: { version: h.hypervisor_version, build: h.hypervisor_build },
            rsdpOverrideSupported: h.rsdp_override_supported,
            labels: h.labels ?? {},
            waveId: h.wave_id,
            totals: emptyTotals(),
            guests: [],
          },
        ]),
      );
      const flags = new Set<string>();
      const decided = new Map<string, PlacementDecision>();
      let listed = 0;
      let truncated = false;
      // One query, streamed through a cursor in chunks: only the columns the policy needs.
      await qr.query(
        `DECLARE what_if_guests NO SCROLL CURSOR FOR
           SELECT guest_id, host_id, mode, memory_mib, boot_method, kernel_sha256, bootloader_sha256
             FROM ${s}.guests
            WHERE present AND host_id IN (${selected})
            ORDER BY host_id, guest_id`,
        params,
      );
      for (;;) {
        const rows: any[] = await qr.query(`FETCH ${this.chunkSize} FROM what_if_guests`);
        for (const r of rows) {
          const host = hosts.get(r.host_id)!;
          const guest = { guestId: r.guest_id, mode: r.mode, memoryMiB: r.memory_mib, bootMethod: r.boot_method, kernelSha256: r.kernel_sha256, bootloaderSha256: r.bootloader_sha256 };
          // decidePlacement is pure, and within one what-if only these inputs vary (ids do not
          // enter the decision): guests alike share one call. Exact, and fast for a million.
          const key = `${r.mode}|${r.memory_mib}|${r.boot_method}|${r.kernel_sha256}|${r.bootloader_sha256}|${host.rsdpOverrideSupported}`;
          let d = decided.get(key);
          if (!d) {
            d = decidePlacement(policyInputFor(guest, host, target, (sha) => kernels.get(sha), tables));
            if (decided.size >= 100000) decided.clear();
            decided.set(key, d);
          }
          const outcome = outcomeOf(d);
          count(host.totals, outcome, d);
          for (const f of d.flags) flags.add(f);
          const attention = outcome === 'blocked' || outcome === 'override-low' || d.status === 'unknown-kernel' || d.costs.length > 0;
          if (req.guests === 'none' || (req.guests === 'attention' && !attention)) continue;
          if (listed >= req.maxGuests) {
            truncated = true;
            continue;
          }
          listed++;
          const lost = d.costs.some((c) => c.code === 'first-gib-superpage-lost');
          const kernel = r.kernel_sha256 ? kernels.get(r.kernel_sha256) : undefined;
          host.guests.push({
            guestId: r.guest_id,
            outcome,
            status: d.status,
            rsdp: d.rsdp,
            action: d.action,
            reason: d.reason,
            lostFirstGiBSuperpage: lost,
            unknownKernel: d.status === 'unknown-kernel' || (d.facts.kernelKnown === false && d.facts.mode === 'pvh'),
            kernelSha256: r.kernel_sha256,
            explanation: d.explanation,
            flags: d.flags,
            ...(outcome === 'blocked' ? { fixes: kernel?.distro ? (fixes.get(kernel.distro) ?? []).filter((f) => f.imageSha256 !== r.kernel_sha256) : [] } : {}),
          });
        }
        if (rows.length < this.chunkSize) break;
      }
      await qr.query('COMMIT');
      const totals = { hosts: hosts.size, ...emptyTotals() };
      for (const h of hosts.values()) add(totals, h.totals);
      return {
        target,
        totals,
        hosts: [...hosts.values()],
        unknownHostIds,
        unregisteredHostIds: hostRows.filter((h) => !h.registered).map((h) => h.host_id),
        guestsListed: listed,
        truncated,
        flags: [...flags].sort(),
      };
    } catch (e) {
      await qr.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }

  /**
   * Per distro line: announced, non-revoked kernels that set XENFEAT_linux_rsdp_unrestricted
   * (bit 15) and can boot as PVH, the latest announced first, a few each. (Also the remedy
   * the dashboard's attention list shows for blocked guests.)
   */
  async fixCandidates(qr: { query(sql: string, p?: unknown[]): Promise<any> }, distros: string[]): Promise<Map<string, FixSuggestion[]>> {
    const out = new Map<string, FixSuggestion[]>();
    if (!distros.length) return out;
    const rows: any[] = await qr.query(
      `SELECT k.image_sha256, k.release, k.distro, k.xen_notes
         FROM ${this.s}.kernels k
        WHERE NOT k.revoked AND k.announced_at IS NOT NULL AND k.distro = ANY($1::text[])
        ORDER BY k.announced_at DESC, k.image_sha256`,
      [distros],
    );
    for (const r of rows) {
      if (!hasRsdpUnrestricted(r.xen_notes) || r.xen_notes?.pvh !== true) continue;
      const list = out.get(r.distro) ?? [];
      if (list.length < FIX_LIMIT) list.push({ imageSha256: r.image_sha256, release: r.release, distro: r.distro });
      out.set(r.distro, list);
    }
    return out;
  }
}
