import { AckRow, GuestView, HostRow, KernelRow } from '../model';
import { ackFromDb, hostFromDb, kernelFromDb } from '../projection-store';
import { ReadContext, select } from './context';
import { GuestViewDbRow, guestViewFromDb, guestViewSql } from './guest-view';

/** A guest as one host sees it, with that host, its kernels and the host's acknowledgement. */
export interface GuestDetail {
  readonly guest: GuestView;
  readonly host: HostRow | null;
  readonly kernel: KernelRow | null;
  readonly bootloader: KernelRow | null;
  readonly ack: AckRow | null;
  /** Every host that reports the guest present, in host id order. */
  readonly reportedBy: string[];
}

/**
 * A guest as one host sees it (`hostId`, else the host that reports it present, the latest
 * report first, else the latest report), with that host, its kernels and the host's
 * acknowledgement. `reportedBy` lists every host that reports it present: more than one
 * during a live migration (or when a host is wrong), and each of them has a decision of its own.
 * Null when no host ever reported the guest (or not the host asked for).
 */
export async function readGuest({ db, s }: ReadContext, guestId: string, hostId?: string): Promise<GuestDetail | null> {
  const rows = await select<GuestViewDbRow>(
    db,
    `${guestViewSql(s)} WHERE g.guest_id = $1 AND ($2::text IS NULL OR g.host_id = $2)
      ORDER BY g.present DESC, g.presence_at DESC, g.host_id`,
    [guestId, hostId ?? null],
  );
  if (!rows.length) return null;
  const guest = guestViewFromDb(rows[0]);
  const images = [guest.kernelSha256, guest.bootloaderSha256].filter((x): x is string => Boolean(x));
  const [reporters, hosts, kernels, acks] = await Promise.all([
    select<{ host_id: string }>(
      db,
      `SELECT host_id FROM ${s}.guests WHERE guest_id = $1 AND present ORDER BY host_id`,
      [guestId],
    ),
    select<Record<string, unknown>>(db, `SELECT * FROM ${s}.hosts WHERE host_id = $1`, [guest.hostId]),
    select<Record<string, unknown>>(db, `SELECT * FROM ${s}.kernels WHERE image_sha256 = ANY($1::text[])`, [images]),
    select<Record<string, unknown>>(db, `SELECT * FROM ${s}.acks WHERE host_id = $1 AND guest_id = $2`, [
      guest.hostId,
      guestId,
    ]),
  ]);
  const k = kernels.map(kernelFromDb);
  return {
    guest,
    host: hosts[0] ? hostFromDb(hosts[0]) : null,
    kernel: k.find((x) => x.imageSha256 === guest.kernelSha256) ?? null,
    bootloader: k.find((x) => x.imageSha256 === guest.bootloaderSha256) ?? null,
    ack: acks[0] ? ackFromDb(acks[0]) : null,
    reportedBy: reporters.map((r) => r.host_id),
  };
}
