import { EventType, IngestOrigin } from '@fleetcompat/contract';

/**
 * Anything that runs SQL: a TypeORM DataSource, EntityManager or QueryRunner (all have
 * `query(sql, parameters)`). Pass the EntityManager/QueryRunner of your own transaction to
 * read or save a checkpoint inside it.
 */
export interface Queryable {
  /** The rows (or, for some statements, TypeORM's result): their type is the caller's to say. */
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

/**
 * A position in the global order: `(transactionId, globalPosition)`, both bigints as
 * decimal strings. Readers resume strictly after a checkpoint.
 */
export interface Checkpoint {
  readonly transactionId: string;
  readonly globalPosition: string;
}

/** Before the first event. */
export const START: Checkpoint = Object.freeze({ transactionId: '0', globalPosition: '0' });

/** A checkpoint as text, `transactionId/globalPosition` (logs, messages; the fault suite parses it). */
export function checkpointText(c: Checkpoint): string {
  return `${c.transactionId}/${c.globalPosition}`;
}

/** Orders checkpoints as the store orders events: -1, 0 or 1. */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ga = BigInt(a.globalPosition);
  const gb = BigInt(b.globalPosition);
  return ga === gb ? 0 : ga < gb ? -1 : 1;
}

/** An event as stored. */
export interface StoredEvent {
  /** bigint as a decimal string */
  readonly globalPosition: string;
  /** xid8 as a decimal string */
  readonly transactionId: string;
  readonly eventId: string;
  readonly streamId: string;
  /** 1-based, gapless within the stream */
  readonly streamPosition: number;
  readonly type: EventType;
  readonly schemaVersion: number;
  /** ISO 8601, UTC (normalized by timestamptz) */
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly source: string;
  readonly data: unknown;
  readonly origin: IngestOrigin;
}

export type ExpectedVersion = number | 'any' | 'no-stream';

export interface AppendOptions {
  readonly expectedVersion: ExpectedVersion;
}

export interface AppendResult {
  readonly stored: number;
  readonly duplicates: number;
  /** The stream's version after the append (its last position; 0 = no stream). */
  readonly nextExpectedVersion: number;
}

export interface ReadAllOptions {
  /** Resume strictly after this checkpoint (default: from the start). */
  readonly after?: Checkpoint;
  readonly limit: number;
}

export interface ReadAllResult {
  readonly events: StoredEvent[];
  /** The last returned event's checkpoint, or `after` (or START) when none was returned. */
  readonly checkpoint: Checkpoint;
}

/** The stream was not at the expected version. Not retriable as is: reload and decide again. */
export class ConcurrencyError extends Error {
  readonly code = 'wrong-expected-version' as const;
  readonly retriable = false;

  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
    readonly actualVersion: number,
  ) {
    super(`stream ${streamId}: expected version ${expectedVersion}, actual ${actualVersion}`);
    this.name = 'ConcurrencyError';
  }
}
