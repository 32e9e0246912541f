import { PolicyKernel } from '../evolve';
import { KernelRow } from '../model';
import { ReadContext, isoOf, select } from './context';
import { HostSelection, registeredSelectedSql, selectionParams } from './host-selection';

/** A kernel as the policy reads it, with its distro line (for the fixes of a blocked guest). */
export type KernelOfHosts = PolicyKernel & Pick<KernelRow, 'distro'>;

interface KernelDbRow {
  image_sha256: string;
  xen_notes: KernelRow['xenNotes'];
  revoked: boolean;
  announced_at: Date | string | null;
  distro: string | null;
}

/** The kernel and bootloader images that the present guests of the registered hosts selected boot, by image sha256. */
export async function readKernelsOfHosts(
  { db, s }: ReadContext,
  sel: HostSelection,
): Promise<Map<string, KernelOfHosts>> {
  const selected = registeredSelectedSql(s);
  const rows = await select<KernelDbRow>(
    db,
    `SELECT image_sha256, xen_notes, revoked, announced_at, distro FROM ${s}.kernels
      WHERE image_sha256 IN (SELECT kernel_sha256 FROM ${s}.guests WHERE present AND host_id IN (${selected})
                             UNION SELECT bootloader_sha256 FROM ${s}.guests WHERE present AND host_id IN (${selected}))`,
    selectionParams(sel),
  );
  return new Map(
    rows.map((k) => [
      k.image_sha256,
      {
        imageSha256: k.image_sha256,
        xenNotes: k.xen_notes,
        revoked: k.revoked,
        announcedAt: k.announced_at === null ? null : isoOf(k.announced_at),
        distro: k.distro,
      },
    ]),
  );
}
