import { FleetEvent } from './events';

/**
 * Ports between the transport (Kafka, HTTP) and the event store / outbox. The transport
 * depends only on these interfaces; the store implements them. Nest injection tokens
 * are the symbols below.
 */

/** Where an event came from; kept with the stored event for audit. */
export interface IngestOrigin {
  readonly channel: 'kafka' | 'http';
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: string;
}

export interface IncomingEvent {
  readonly event: FleetEvent;
  readonly origin: IngestOrigin;
}

export interface StoreOutcome {
  /** Events newly stored by this call. */
  readonly stored: number;
  /** Events whose eventId was already in the store (or repeated in the batch): no effect. */
  readonly duplicates: number;
  /**
   * Of the duplicates, those (by index in the call's events) whose content (type,
   * occurredAt, data) differs from the event stored under that eventId: another event took
   * the id first. Not stored; refused loudly
   * (HTTP 409, dead letter `conflict`) so that a squatted id is seen, never silently dropped.
   */
  readonly conflicts?: readonly { readonly index: number; readonly eventId: string }[];
  /** The eventIds this call stored (as many as `stored`), when the sink reports them (the Postgres store does). */
  readonly storedIds?: readonly string[];
}

/**
 * The store refused the events as data (Postgres SQLSTATE class 22, a NOT NULL or CHECK
 * violation, a size limit): the same events fail every retry. Not retriable; the ingest
 * finds the refused event by splitting its batch and dead-letters it (`unstorable`).
 */
export class UnstorableEventsError extends Error {
  readonly code = 'unstorable' as const;
  readonly retriable = false;

  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnstorableEventsError';
  }
}

export function isUnstorable(e: unknown): e is UnstorableEventsError {
  return (
    e instanceof UnstorableEventsError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { code?: unknown }).code === 'unstorable' &&
      (e as { retriable?: unknown }).retriable === false)
  );
}

/** Appends validated events idempotently (an eventId is stored once, forever). */
export interface EventSink {
  store(events: readonly IncomingEvent[]): Promise<StoreOutcome>;
}
export const EVENT_SINK = Symbol('EVENT_SINK');

/** One row of the transactional outbox, ready to publish. */
export interface OutboxMessage {
  readonly id: string;
  readonly topic: string;
  readonly key: string;
  /** The JSON value, serialized. */
  readonly value: string;
  readonly headers?: Record<string, string>;
}

/**
 * The outbox as the relay sees it. `publishBatch` takes up to `limit` of the oldest
 * unpublished messages in an order no reader can skip (commit order per guest: with projector
 * shards, several transactions write it at once), hands them to `publish` (which resolves only once
 * the broker has acknowledged all of them), and marks them published in the same database
 * transaction. If `publish` throws, nothing is marked. Only one relay instance at a time
 * gets a batch (the others get 0). Returns how many messages were published.
 */
export interface OutboxStore {
  publishBatch(limit: number, publish: (messages: readonly OutboxMessage[]) => Promise<void>): Promise<number>;
}
export const OUTBOX_STORE = Symbol('OUTBOX_STORE');
