import { ConcurrencyError, ExpectedVersion, Queryable } from './types';
import { sqlStateOf } from './transaction';

/** One event ready for the events table (data and origin already JSON text). */
export interface EventRow {
  readonly eventId: string;
  readonly streamId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly source: string;
  readonly data: string;
  readonly origin: string;
}

export interface AppendEventsResult {
  /** Rows newly inserted. */
  readonly stored: number;
  /** Version of `expected.streamId` after the call (0 without an expected stream). */
  readonly streamVersion: number;
  /** The eventIds of the rows inserted (as many as `stored`, in no particular order). */
  readonly storedIds: readonly string[];
}

/** Drops repeated eventIds, the first occurrence wins. */
export function dedupeByEventId<T extends { readonly eventId: string }>(rows: readonly T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const row of rows) {
    if (seen.has(row.eventId)) continue;
    seen.add(row.eventId);
    out.push(row);
  }
  return out;
}

/** SQLSTATE raised by fc_append_events on a wrong expected version (DETAIL: actual). */
export const WRONG_EXPECTED_VERSION_SQLSTATE = 'FC409';

/**
 * Appends `rows` with one call of `fc_append_events` (one round trip, one statement; see
 * migration AppendEventsOneStatement1764000000004 for the steps): eventIds already stored are
 * skipped, stream positions are gapless, streams are locked in sorted order. Runs in the
 * caller's transaction when `q` is one, else on its own (autocommit). Throws
 * ConcurrencyError on a wrong expected version; other failures (deadlock,
 * serialization_failure when an eventId of the call was stored by a transaction that
 * committed meanwhile, under any stream) are retriable: see `retrying`.
 *
 * `rows` must be deduplicated by eventId (dedupeByEventId).
 */
export async function appendEvents(
  q: Queryable,
  rows: readonly EventRow[],
  expected?: { readonly streamId: string; readonly expectedVersion: ExpectedVersion },
): Promise<AppendEventsResult> {
  if (rows.length === 0) return { stored: 0, streamVersion: 0, storedIds: [] };
  const expectedVersion =
    expected === undefined || expected.expectedVersion === 'any'
      ? null
      : expected.expectedVersion === 'no-stream'
        ? 0
        : expected.expectedVersion;
  try {
    const [result]: { stored: number; stream_version: string; stored_ids: string[] }[] = await q.query(
      `SELECT stored, stream_version::text AS stream_version, stored_ids
         FROM fc_append_events($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[],
                               $6::text[], $7::text[], $8::text[], $9::text, $10::bigint)`,
      [
        rows.map((r) => r.eventId),
        rows.map((r) => r.streamId),
        rows.map((r) => r.type),
        rows.map((r) => r.schemaVersion),
        rows.map((r) => r.occurredAt),
        rows.map((r) => r.source),
        rows.map((r) => r.data),
        rows.map((r) => r.origin),
        expected?.streamId ?? null,
        expectedVersion,
      ],
    );
    return { stored: result.stored, streamVersion: Number(result.stream_version), storedIds: result.stored_ids };
  } catch (error) {
    if (expected && sqlStateOf(error) === WRONG_EXPECTED_VERSION_SQLSTATE) {
      const e = error as { detail?: string; driverError?: { detail?: string } };
      const detail = e.driverError?.detail ?? e.detail;
      throw new ConcurrencyError(expected.streamId, expected.expectedVersion, Number(detail ?? NaN));
    }
    throw error;
  }
}
