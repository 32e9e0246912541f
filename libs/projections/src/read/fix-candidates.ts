import { hasRsdpUnrestricted } from '@fleetcompat/policy';
import { KernelRow } from '../model';
import { ReadContext, select } from './context';

/** A kernel that would unblock a guest of its distro line. */
export interface FixSuggestion {
  imageSha256: string;
  release: string;
  distro: string;
}

/**
 * Per distro line: announced, non-revoked kernels that set XENFEAT_linux_rsdp_unrestricted
 * (bit 15) and can boot as PVH, the latest announced first, at most `perDistro` each.
 * (The fixes what-if suggests and the remedy the dashboard's attention list shows.)
 */
export async function readFixCandidates(
  { db, s }: ReadContext,
  distros: readonly string[],
  perDistro: number,
): Promise<Map<string, FixSuggestion[]>> {
  const out = new Map<string, FixSuggestion[]>();
  if (!distros.length) return out;
  const rows = await select<{
    image_sha256: string;
    release: string;
    distro: string;
    xen_notes: KernelRow['xenNotes'];
  }>(
    db,
    `SELECT k.image_sha256, k.release, k.distro, k.xen_notes
       FROM ${s}.kernels k
      WHERE NOT k.revoked AND k.announced_at IS NOT NULL AND k.distro = ANY($1::text[])
      ORDER BY k.announced_at DESC, k.image_sha256`,
    [distros],
  );
  for (const r of rows) {
    if (!hasRsdpUnrestricted(r.xen_notes) || r.xen_notes?.pvh !== true) continue;
    const list = out.get(r.distro) ?? [];
    if (list.length < perDistro) list.push({ imageSha256: r.image_sha256, release: r.release, distro: r.distro });
    out.set(r.distro, list);
  }
  return out;
}
