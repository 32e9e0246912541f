// Test helpers of the facts: events in, a working set out (not exported from index.ts).
import { EventDataOf, EventType } from '@fleetcompat/contract';
import { DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES } from '@fleetcompat/policy';
import { Evolver, ProjectedEvent } from '../evolve';
import { WorkingSet } from '../working-set';
import { FactEvent } from './events';

let n = 0;

/** An event of `type` at `occurredAt` (an ISO time, or minutes after 2026-11-01T00:00Z). */
export function ev<T extends EventType>(
  type: T,
  at: string | number,
  data: EventDataOf<T>,
  eventId = `e${++n}`,
): FactEvent {
  const occurredAt = typeof at === 'number' ? new Date(Date.UTC(2026, 10, 1) + at * 60_000).toISOString() : at;
  return { type, eventId, occurredAt, data } as FactEvent;
}

/** Stored events in this order (global positions 1, 2, ...), as the projector reads them. */
export function stored(events: readonly FactEvent[]): ProjectedEvent[] {
  return events.map((e, i) => ({ ...e, globalPosition: String(i + 1), recordedAt: '2026-12-01T00:00:00.000Z' }));
}

/** The working set after applying the events in the given order, deciding as the projector does. */
export function project(events: readonly FactEvent[]): WorkingSet {
  const ws = new WorkingSet();
  const evolver = new Evolver(ws, { defaults: DEFAULT_BEHAVIOUR_RULES, guestOsDefaults: DEFAULT_GUEST_OS_RULES });
  for (const e of stored(events)) evolver.apply(e);
  return ws;
}

export const OLD_LINUX = {
  guestOs: 'linux',
  guestVersion: '2.6',
  supportedFeatures: 0x801,
  phys32Entry: '0x1000000',
  pvh: true,
} as const;
export const NEW_LINUX = {
  guestOs: 'linux',
  guestVersion: '2.6',
  supportedFeatures: 0x8801,
  phys32Entry: '0x1000000',
  pvh: true,
} as const;
export const sha = (c: string): string => c.repeat(64).slice(0, 64);
