import { DataSource } from 'typeorm';
import { FleetEvent, IncomingEvent } from '@fleetcompat/contract';
import { eventStoreMigrations } from './migrations';
import { PostgresEventStore } from './postgres-event-store';
import { Checkpoint, StoredEvent } from './types';

/**
 * Test helpers for this library's integration tests (not exported from index.ts).
 */

/** A DataSource on `url` with the event store migrations run. */
export async function openEventStoreDataSource(url: string, poolSize = 20): Promise<DataSource> {
  const ds = new DataSource({
    type: 'postgres',
    url,
    migrations: eventStoreMigrations,
    migrationsRun: false,
    synchronize: false,
    extra: { max: poolSize },
  });
  await ds.initialize();
  await ds.runMigrations();
  return ds;
}

const OCCURRED = '2026-11-24T10:00:00.000Z';

/** A valid GuestObserved on `guestId` (stream guest-<guestId>). */
export function guestObserved(eventId: string, guestId: string, hostId = 'host-a'): IncomingEvent {
  const event: FleetEvent = {
    eventId,
    type: 'GuestObserved',
    schemaVersion: 1,
    occurredAt: OCCURRED,
    source: 'test',
    data: { guestId, hostId, mode: 'pvh', memoryMiB: 1024, boot: { method: 'direct' } },
  };
  return { event, origin: { channel: 'http' } };
}

/** A valid HostRegistered (stream host-<hostId>). */
export function hostRegistered(eventId: string, hostId: string): IncomingEvent {
  const event: FleetEvent = {
    eventId,
    type: 'HostRegistered',
    schemaVersion: 1,
    occurredAt: OCCURRED,
    source: 'test',
    data: { hostId, hypervisor: { name: 'xen', version: '4.10.4' }, rsdpOverrideSupported: true },
  };
  return { event, origin: { channel: 'kafka', topic: 'fleet.guest-inventory.v1', partition: 0, offset: '7' } };
}

/**
 * Reads from `after` until `want` events are seen (or `timeoutMs` passes). The store's reads
 * stop below the oldest transaction still open anywhere on the server (xmin is cluster-wide:
 * another test run on the same Postgres holds them back), so a read that must return
 * something polls rather than expecting it at once.
 */
export async function readUntil(
  store: PostgresEventStore,
  after: Checkpoint,
  want: number,
  limit = 100,
  timeoutMs = 30000,
): Promise<{ seen: StoredEvent[]; checkpoint: Checkpoint }> {
  const seen: StoredEvent[] = [];
  let checkpoint = after;
  const deadline = Date.now() + timeoutMs;
  while (seen.length < want && Date.now() < deadline) {
    const page = await store.readAll({ after: checkpoint, limit });
    seen.push(...page.events);
    checkpoint = page.checkpoint;
    if (page.events.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  return { seen, checkpoint };
}
