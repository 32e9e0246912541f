import { DataSource } from 'typeorm';
import { FleetEvent, IncomingEvent } from '@fleetcompat/contract';
import { eventStoreMigrations } from './migrations';

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

