import { PolicyGuest } from '../evolve';
import { ReadContext, select } from './context';
import { HostSelection, registeredSelectedSql, selectionParams } from './host-selection';

/** A present guest of a selected host: the columns the policy needs, and its host. */
export interface GuestOfHost extends PolicyGuest {
  readonly hostId: string;
}

interface GuestDbRow {
  guest_id: string;
  host_id: string;
  mode: PolicyGuest['mode'];
  memory_mib: number;
  boot_method: PolicyGuest['bootMethod'];
  kernel_sha256: string | null;
  bootloader_sha256: string | null;
}

/**
 * The present guests of the registered hosts selected, in (host id, guest id) order, in
 * chunks of `chunkSize` read through a cursor: one query, a million guests without holding
 * them all. Must run inside a transaction (the cursor lives until it ends); one at a time
 * per connection.
 */
export async function* readGuestsOfHosts(
  { db, s }: ReadContext,
  sel: HostSelection,
  chunkSize: number,
): AsyncGenerator<GuestOfHost[]> {
  await db.query(
    `DECLARE what_if_guests NO SCROLL CURSOR FOR
       SELECT guest_id, host_id, mode, memory_mib, boot_method, kernel_sha256, bootloader_sha256
         FROM ${s}.guests
        WHERE present AND host_id IN (${registeredSelectedSql(s)})
        ORDER BY host_id, guest_id`,
    selectionParams(sel),
  );
  try {
    for (;;) {
      const rows = await select<GuestDbRow>(db, `FETCH ${Math.trunc(chunkSize)} FROM what_if_guests`);
      if (rows.length) {
        yield rows.map((r) => ({
          guestId: r.guest_id,
          hostId: r.host_id,
          mode: r.mode,
          memoryMiB: r.memory_mib,
          bootMethod: r.boot_method,
          kernelSha256: r.kernel_sha256,
          bootloaderSha256: r.bootloader_sha256,
        }));
      }
      if (rows.length < chunkSize) return;
    }
  } finally {
    await db.query('CLOSE what_if_guests').catch(() => undefined);
  }
}
