/**
 * Times of facts. occurredAt values are compared as instants (milliseconds since the epoch,
 * as the event store gives them back), never as strings: "2026-11-01T12:00:00+02:00" is
 * before "2026-11-01T11:00:00Z".
 */
export function instant(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${JSON.stringify(iso)}`);
  return ms;
}

/**
 * Whether a fact set by an event at `at` replaces the one set at `current`: the latest
 * occurredAt wins; on a tie the event applied later wins, which is the one stored last
 * (events are applied in the store's order).
 */
export function supersedes(at: string, current: string | null | undefined): boolean {
  return current === null || current === undefined || instant(at) >= instant(current);
}
