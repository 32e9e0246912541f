import { DataSource } from 'typeorm';
import { EventSink, IncomingEvent, StoreOutcome, UnstorableEventsError } from '@fleetcompat/contract';
import { appendEvents, dedupeByEventId, EventRow } from './append-events';
import { readAll, readHead, readStream } from './read-all';
import { streamIdOf } from './stream-id';
import { retrying, sqlStateOf, TransactionOptions } from './transaction';
import {
  AppendOptions,
  AppendResult,
  Checkpoint,
  Queryable,
  ReadAllOptions,
  ReadAllResult,
  StoredEvent,
} from './types';

function toRow(incoming: IncomingEvent, streamId: string = streamIdOf(incoming.event)): EventRow {
  const e = incoming.event;
  return {
    eventId: e.eventId,
    streamId,
    type: e.type,
    schemaVersion: e.schemaVersion,
    occurredAt: e.occurredAt,
    source: e.source,
    data: JSON.stringify(e.data),
    origin: JSON.stringify(incoming.origin ?? {}),
  };
}

/**
 * SQLSTATEs of data Postgres refuses whatever the retry: class 22 (data exception: bad
 * UTF-8 or escape, a time out of range, a value too long), NOT NULL and CHECK violations,
 * and size limits (54000 program_limit_exceeded, e.g. an index row too large).
 */
export function isDataError(sqlState: string): boolean {
  return sqlState.startsWith('22') || sqlState === '23502' || sqlState === '23514' || sqlState === '54000';
}

/**
 * The Postgres event store: append-only, an eventId stored once forever, gapless positions
 * per stream, and a global order readers can never skip (see readAll).
 */
export class PostgresEventStore implements EventSink {
  constructor(
    private readonly dataSource: DataSource,
    private readonly options: TransactionOptions = {},
  ) {}

  /**
   * Idempotent batch append: each event goes to its own stream (streamIdOf). Within the
   * batch the first occurrence of an eventId wins; eventIds already stored are skipped.
   * One statement (one round trip, one INSERT, its own transaction); concurrent calls with
   * overlapping eventIds store each eventId once (conflicts are retried, never surfaced).
   */
  async store(events: readonly IncomingEvent[]): Promise<StoreOutcome> {
    if (events.length === 0) return { stored: 0, duplicates: 0 };
    const all = events.map((e) => toRow(e));
    const rows = dedupeByEventId(all);
    let stored: number;
    let storedIds: readonly string[];
    try {
      ({ stored, storedIds } = await retrying(() => appendEvents(this.dataSource, rows), this.options));
    } catch (e) {
      const state = sqlStateOf(e);
      if (state && isDataError(state)) throw new UnstorableEventsError(state, (e as Error).message);
      throw e;
    }
    // duplicates (repeats in the batch, or ids stored before): the ones whose content differs from what is stored are conflicts
    const conflicts = stored < events.length ? await this.conflictsWithStored(all) : [];
    return { stored, duplicates: events.length - stored, storedIds, ...(conflicts.length ? { conflicts } : {}) };
  }

  /** The events (by index) whose eventId is stored with another type, occurredAt or data. */
  private async conflictsWithStored(rows: readonly EventRow[]): Promise<{ index: number; eventId: string }[]> {
    const found: { n: string; event_id: string }[] = await this.dataSource.query(
      `SELECT i.n::text AS n, i.event_id FROM events e
         JOIN unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) WITH ORDINALITY AS i(event_id, type, occurred_at, data, n) ON e.event_id = i.event_id
        WHERE e.type <> i.type OR e.occurred_at <> i.occurred_at OR e.data <> i.data::jsonb
        ORDER BY i.n`,
      [rows.map((r) => r.eventId), rows.map((r) => r.type), rows.map((r) => r.occurredAt), rows.map((r) => r.data)],
    );
    return found.map((r) => ({ index: Number(r.n) - 1, eventId: r.event_id }));
  }

  /**
   * Appends to one stream if it is at `expectedVersion` (a number: that many events;
   * 'no-stream': none; 'any': no check), else throws ConcurrencyError
   * (code 'wrong-expected-version'). Idempotent by eventId like store(): events already
   * stored are skipped, and a call whose events are all stored already succeeds without a
   * version check (a retried append is harmless).
   */
  async append(streamId: string, events: readonly IncomingEvent[], options: AppendOptions): Promise<AppendResult> {
    const rows = dedupeByEventId(events.map((e) => toRow(e, streamId)));
    if (rows.length === 0) {
      return { stored: 0, duplicates: 0, nextExpectedVersion: await this.streamVersion(streamId) };
    }
    const { stored, streamVersion } = await retrying(
      () => appendEvents(this.dataSource, rows, { streamId, expectedVersion: options.expectedVersion }),
      this.options,
    );
    return { stored, duplicates: events.length - stored, nextExpectedVersion: streamVersion };
  }

  /** See readAll(): pass your EntityManager/QueryRunner to read inside your transaction. */
  readAll(options: ReadAllOptions, queryable: Queryable = this.dataSource): Promise<ReadAllResult> {
    return readAll(queryable, options);
  }

  readStream(streamId: string, fromPosition = 1, queryable: Queryable = this.dataSource): Promise<StoredEvent[]> {
    return readStream(queryable, streamId, fromPosition);
  }

  /** The checkpoint of the last event readers can see now (START when none). */
  head(queryable: Queryable = this.dataSource): Promise<Checkpoint> {
    return readHead(queryable);
  }

  /** Number of stored events (committed, visible to this snapshot). */
  async count(queryable: Queryable = this.dataSource): Promise<number> {
    const [{ n }]: { n: string }[] = await queryable.query(`SELECT count(*)::text AS n FROM events`);
    return Number(n);
  }

  /** The version of a stream (0 when it does not exist). */
  async streamVersion(streamId: string, queryable: Queryable = this.dataSource): Promise<number> {
    const rows: { version: string }[] = await queryable.query(
      `SELECT version::text AS version FROM streams WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0] ? Number(rows[0].version) : 0;
  }
}
