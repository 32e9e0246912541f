import { GuestReport } from '../model';
import { FactEventOf } from './events';
import { FactChange, FactsReader, NO_CHANGE } from './state';
import { supersedes } from './time';

/**
 * A host's observation of a guest: changes that host's view only (another host's view of
 * the same guest is its own). Sets what was observed, and that the host has the guest, each
 * where newest.
 */
export function onGuestObserved(state: FactsReader, e: FactEventOf<'GuestObserved'>): readonly FactChange[] {
  const d = e.data;
  const view = state.guest(d.guestId, d.hostId);
  const observation = supersedes(e.occurredAt, view?.observedAt);
  const presence = supersedes(e.occurredAt, view?.presenceAt);
  if (!observation && !presence) return NO_CHANGE;
  const row: GuestReport = {
    guestId: d.guestId,
    hostId: d.hostId,
    ...(presence || !view
      ? { present: true, presenceAt: e.occurredAt, lastEventId: e.eventId }
      : { present: view.present, presenceAt: view.presenceAt, lastEventId: view.lastEventId }),
    ...(observation || !view
      ? {
          mode: d.mode,
          memoryMiB: d.memoryMiB,
          bootMethod: d.boot.method,
          kernelSha256: d.boot.kernelSha256 ?? null,
          bootloaderSha256: d.boot.bootloaderSha256 ?? null,
          observedAt: e.occurredAt,
          observedEventId: e.eventId,
        }
      : {
          mode: view.mode,
          memoryMiB: view.memoryMiB,
          bootMethod: view.bootMethod,
          kernelSha256: view.kernelSha256,
          bootloaderSha256: view.bootloaderSha256,
          observedAt: view.observedAt,
          observedEventId: view.observedEventId,
        }),
  };
  return [{ kind: 'guest', row }];
}

/**
 * A host's removal of a guest: that host no longer has it, where newer than its
 * observations. Kept even for a guest the host was never seen with.
 */
export function onGuestRemoved(state: FactsReader, e: FactEventOf<'GuestRemoved'>): readonly FactChange[] {
  const d = e.data;
  const view = state.guest(d.guestId, d.hostId);
  if (view && !supersedes(e.occurredAt, view.presenceAt)) return NO_CHANGE;
  const row: GuestReport = view
    ? { ...view, present: false, presenceAt: e.occurredAt, lastEventId: e.eventId }
    : unobservedRemoval(d.guestId, d.hostId, e.occurredAt, e.eventId);
  return [{ kind: 'guest', row }];
}

/** A host's view of a guest it never reported observed: removed, with no facts of the guest. */
export function unobservedRemoval(guestId: string, hostId: string, at: string, eventId: string): GuestReport {
  return {
    guestId,
    hostId,
    present: false,
    presenceAt: at,
    mode: null,
    memoryMiB: null,
    bootMethod: null,
    kernelSha256: null,
    bootloaderSha256: null,
    observedAt: null,
    observedEventId: null,
    lastEventId: eventId,
  };
}
