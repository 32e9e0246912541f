import { KernelRow } from '../model';
import { FactEventOf } from './events';
import { FactChange, FactsReader, NO_CHANGE } from './state';
import { supersedes } from './time';

function neverAnnounced(imageSha256: string, at: string, eventId: string): KernelRow {
  return {
    imageSha256,
    release: null,
    arch: null,
    distro: null,
    xenNotes: null,
    pipeline: null,
    announcedAt: null,
    revoked: false,
    revokedReason: null,
    statusAt: at,
    lastEventId: eventId,
  };
}

/** Sets the build's notes (when newest) and its revoked fact to "not revoked" (when newest). */
export function onKernelBuildCompleted(
  state: FactsReader,
  e: FactEventOf<'KernelBuildCompleted'>,
): readonly FactChange[] {
  const d = e.data;
  const row = state.kernel(d.imageSha256) ?? neverAnnounced(d.imageSha256, e.occurredAt, e.eventId);
  const build = supersedes(e.occurredAt, row.announcedAt);
  const status = supersedes(e.occurredAt, row.statusAt);
  if (!build && !status) return NO_CHANGE;
  const next: KernelRow = {
    ...row,
    ...(build
      ? {
          release: d.release,
          arch: d.arch,
          distro: d.distro ?? null,
          xenNotes: d.xenNotes ?? null,
          pipeline: d.pipeline ?? null,
          announcedAt: e.occurredAt,
        }
      : {}),
    ...(status ? { revoked: false, revokedReason: null, statusAt: e.occurredAt, lastEventId: e.eventId } : {}),
  };
  return [{ kind: 'kernel', row: next }];
}

/** Sets the revoked fact (when newest); kept for an image never announced, too. */
export function onKernelBuildRevoked(state: FactsReader, e: FactEventOf<'KernelBuildRevoked'>): readonly FactChange[] {
  const d = e.data;
  const row = state.kernel(d.imageSha256);
  if (row && !supersedes(e.occurredAt, row.statusAt)) return NO_CHANGE;
  const base = row ?? neverAnnounced(d.imageSha256, e.occurredAt, e.eventId);
  return [
    {
      kind: 'kernel',
      row: { ...base, revoked: true, revokedReason: d.reason, statusAt: e.occurredAt, lastEventId: e.eventId },
    },
  ];
}
