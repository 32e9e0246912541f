import type { AttentionItem } from './answers';
export type { AttentionItem } from './answers';
import { ReadContext, select } from './context';
import { decodeKey, encodeKey } from './cursor';
import { AttentionFilter, attentionKinds, attentionWhereSql } from './attention-filter';

export interface AttentionPageFilter extends AttentionFilter {
  /** The cursor after which the page starts (`nextCursor` of the previous page); one not of ours starts at the first. */
  readonly after?: string;
  readonly limit: number;
}

/** A present guest with its current decision (always one: joined), host and kernel. */
interface AttentionDbRow {
  guest_id: string;
  host_id: string;
  status: string;
  kernel_sha256: string | null;
  decision_id: string;
  action: string;
  reason: string;
  rsdp: string;
  hypervisor_version: string;
  need_reason: string | null;
  explanation: string[] | null;
  remedy: string[] | null;
  flags: string[] | null;
  wave_id: string | null;
  labels: Record<string, string> | null;
  kernel_release: string | null;
  kernel_distro: string | null;
}

/** A page of guests that need attention (guest, host order), newest decision each, with reason and remedy. */
export async function listAttention(
  { db, s }: ReadContext,
  filter: AttentionPageFilter,
): Promise<{ items: AttentionItem[]; nextCursor: string | null }> {
  const params: unknown[] = [];
  let where = attentionWhereSql(filter, params, true);
  const key = filter.after ? decodeKey(filter.after, 2) : null;
  if (key) {
    params.push(key[0], key[1]);
    where += ` AND (g.guest_id, g.host_id) > ($${params.length - 1}, $${params.length})`;
  }
  params.push(filter.limit + 1);
  const rows = await select<AttentionDbRow>(
    db,
    `SELECT g.guest_id, g.host_id, g.status, g.kernel_sha256, g.decision_id,
              d.message->>'action' AS action, d.message->>'reason' AS reason, d.message->>'rsdp' AS rsdp,
              d.message->>'hypervisorVersion' AS hypervisor_version, d.message->'facts'->>'needReason' AS need_reason,
              d.detail->'explanation' AS explanation, d.detail->'remedy' AS remedy, d.detail->'flags' AS flags,
              h.wave_id, h.labels, k.release AS kernel_release, k.distro AS kernel_distro
         FROM ${s}.guests g
         JOIN ${s}.decisions d ON d.decision_id = g.decision_id
         JOIN ${s}.hosts h ON h.host_id = g.host_id
         LEFT JOIN ${s}.kernels k ON k.image_sha256 = g.kernel_sha256
        WHERE ${where}
        ORDER BY g.guest_id, g.host_id
        LIMIT $${params.length}`,
    params,
  );
  const items = rows.slice(0, filter.limit).map((r): AttentionItem => ({
    guestId: r.guest_id,
    hostId: r.host_id,
    status: r.status,
    kinds: attentionKinds(r.status, r.action),
    action: r.action,
    reason: r.reason,
    needReason: r.need_reason ?? null,
    rsdp: r.rsdp,
    hypervisorVersion: r.hypervisor_version,
    explanation: r.explanation ?? [],
    remedy: r.remedy ?? [],
    flags: r.flags ?? [],
    kernel: { sha256: r.kernel_sha256 ?? null, release: r.kernel_release ?? null, distro: r.kernel_distro ?? null },
    waveId: r.wave_id ?? null,
    labels: r.labels ?? {},
    decisionId: r.decision_id,
  }));
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > filter.limit && last ? encodeKey([last.guestId, last.hostId]) : null };
}
