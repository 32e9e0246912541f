import { DataSource } from 'typeorm';
import { z } from 'zod';
import { MAX_LABELS } from '@fleetcompat/contract';
import { BehaviourRule, DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES, GuestOsRule } from '@fleetcompat/policy';
import {
  FixSuggestion,
  HostSelection,
  KernelOfHosts,
  policyInputFor,
  readContext,
  ReadContext,
  readFixCandidates,
  readGuestsOfHosts,
  readKernelsOfHosts,
  readPolicyTables,
  readSelectedHosts,
} from '@fleetcompat/projections';
import { PlacementMemo } from './placement-memo';
import { WhatIfResult, WhatIfTally } from './what-if-tally';

export * from './what-if-tally';

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
      .refine(
        (h) => Boolean(h.ids?.length || (h.labels && Object.keys(h.labels).length) || h.waveId),
        'name the hosts by ids, labels or waveId',
      ),
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

/** Fixes suggested per blocked guest's distro line. */
const FIX_LIMIT = 3;

/** The distro lines of these kernels. */
function distrosOf(kernels: ReadonlyMap<string, KernelOfHosts>): string[] {
  return [...new Set([...kernels.values()].map((k) => k.distro).filter((d): d is string => Boolean(d)))];
}

/**
 * The what-if of a planned upgrade: the policy the projector runs (decidePlacement on
 * policyInputFor), applied to the projections as they are, for another target version.
 * Reads in one read-only, repeatable-read transaction; guests are streamed through a
 * cursor in chunks of the columns the policy needs; nothing is written.
 */
export class WhatIfService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly defaults: readonly BehaviourRule[] = DEFAULT_BEHAVIOUR_RULES,
    private readonly guestOsDefaults: readonly GuestOsRule[] = DEFAULT_GUEST_OS_RULES,
    /** Guests fetched from the cursor at a time. */
    private readonly chunkSize = 5000,
  ) {}

  run(req: WhatIfRequest): Promise<WhatIfResult> {
    return this.inSnapshot(async (ctx) => {
      const sel: HostSelection = req.hosts;
      const selected = await readSelectedHosts(ctx, sel);
      const kernels = await readKernelsOfHosts(ctx, sel);
      const tables = await readPolicyTables(ctx, this.defaults, this.guestOsDefaults);
      const fixes = await readFixCandidates(ctx, distrosOf(kernels), FIX_LIMIT);
      const target = { version: req.target.version, build: req.target.build ?? null };
      const tally = new WhatIfTally(
        req,
        selected.filter((h) => h.registered),
        kernels,
        fixes,
      );
      const memo = new PlacementMemo();
      for await (const chunk of readGuestsOfHosts(ctx, sel, this.chunkSize)) {
        for (const g of chunk)
          tally.add(
            g,
            memo.decisionFor(policyInputFor(g, tally.host(g.hostId), target, (sha) => kernels.get(sha), tables)),
          );
      }
      const found = new Set(selected.map((h) => h.hostId));
      return tally.result(
        target,
        (req.hosts.ids ?? []).filter((id) => !found.has(id)),
        selected.filter((h) => !h.registered).map((h) => h.hostId),
      );
    });
  }

  /**
   * Per distro line: announced, non-revoked kernels with bit 15 set that can boot as PVH,
   * the latest first, a few each (also the remedy the dashboard's attention list shows).
   */
  fixCandidates(db: ReadContext['db'], distros: string[]): Promise<Map<string, FixSuggestion[]>> {
    return readFixCandidates(readContext(db), distros, FIX_LIMIT);
  }

  /** `work` on one connection in a read-only, repeatable-read transaction (one snapshot of the projections). */
  private async inSnapshot<T>(work: (ctx: ReadContext) => Promise<T>): Promise<T> {
    const qr = this.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out = await work(readContext(qr));
      await qr.query('COMMIT');
      return out;
    } catch (e) {
      await qr.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }
}
