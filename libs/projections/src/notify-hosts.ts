import { Queryable } from '@fleetcompat/event-store';
import { PROJECTION_CHANNEL } from './schema';
import { WorkingSet } from './working-set';

/** Beyond this many hosts a batch notifies "everything" (an empty payload) instead of naming them. */
export const MAX_NOTIFIED_HOSTS = 200;

/** Postgres takes payloads under 8,000 bytes; longer lists notify everything. */
const MAX_PAYLOAD_BYTES = 7800;

/**
 * The hosts whose `GET /v1/hosts/{id}/placements` answer a batch may have changed: the hosts
 * of its written guest views and acknowledgements, and its written hosts. Null when there are
 * more than MAX_NOTIFIED_HOSTS.
 */
export function changedHosts(ws: WorkingSet): string[] | null {
  const hosts = new Set<string>(ws.dirtyHosts);
  for (const hostId of ws.dirtyGuestHosts()) {
    hosts.add(hostId);
    if (hosts.size > MAX_NOTIFIED_HOSTS) return null;
  }
  for (const k of ws.dirtyAcks) {
    hosts.add(ws.acks.get(k)!.hostId);
    if (hosts.size > MAX_NOTIFIED_HOSTS) return null;
  }
  return hosts.size > MAX_NOTIFIED_HOSTS ? null : [...hosts];
}

/**
 * In the batch's transaction: notifies PROJECTION_CHANNEL with the hosts the batch changed
 * (`{"hosts":[...]}`), and tells the checkpoint trigger (migration ProjectionNotifyHosts) not to
 * send its own "everything changed" notification. `hosts` null: nothing is sent here and the
 * trigger notifies everything, as for any other writer of a checkpoint.
 */
export async function notifyChangedHosts(q: Queryable, hosts: readonly string[] | null): Promise<void> {
  if (hosts === null) return;
  const payload = JSON.stringify({ hosts });
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return;
  await q.query(`SELECT set_config('fleetcompat.projection_notified', 'hosts', true), pg_notify($1, $2)`, [
    PROJECTION_CHANNEL,
    payload,
  ]);
}

/** The hosts a PROJECTION_CHANNEL payload names, or null: anything may have changed (empty or unknown payload). */
export function notifiedHosts(payload: string | undefined): readonly string[] | null {
  if (!payload || payload[0] !== '{') return null;
  try {
    const v = JSON.parse(payload) as { hosts?: unknown };
    return Array.isArray(v.hosts) && v.hosts.every((h) => typeof h === 'string') ? v.hosts : null;
  } catch {
    return null;
  }
}
