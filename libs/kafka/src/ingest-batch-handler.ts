import { Principal, refusedEvents } from '@fleetcompat/auth';
import { DeadLetter, EventRouting, IncomingEvent, parseEvent, Rejection } from '@fleetcompat/contract';
import type { IngestAuthenticator } from './ingest-auth';
import type { RawMessage } from './raw-message';

export type { RawMessage } from './raw-message';

/** A dead letter as written by the Kafka transport: the contract's fields plus how `value` is encoded. */
export interface KafkaDeadLetter extends DeadLetter {
  /** `utf8` when the original value was valid UTF-8 (the common case), else `base64`. */
  readonly valueEncoding?: 'utf8' | 'base64';
  /** Present (true) when `value` was cut to the size limit. */
  readonly valueTruncated?: boolean;
}

/** One record to publish on the dead-letter topic. */
export interface DeadLetterRecord {
  /** The original message key (UTF-8), so that dead letters of one key stay in order. */
  readonly key: string | null;
  readonly letter: KafkaDeadLetter;
  /** The serialized letter: the Kafka message value. */
  readonly value: string;
  readonly headers: Record<string, string>;
}

export interface HandledBatch {
  /** Valid events, in offset order, with their Kafka origin. */
  readonly toStore: IncomingEvent[];
  /** Rejected messages, in offset order. */
  readonly deadLetters: DeadLetterRecord[];
}

export interface IngestBatchHandlerOptions {
  /** Largest original value kept in a dead letter, in bytes (default 256 KiB; longer ones are cut). */
  readonly maxDeadLetterValueBytes?: number;
  /** The prefix of the topic names in force: an event must come on `prefix + its contract topic`. */
  readonly topicPrefix?: string;
  /** How far ahead of the clock an occurredAt may be (default 5 minutes). */
  readonly maxFutureSkewMs?: number;
  /**
   * KAFKA_AUTH=signed: who signed each message (unsigned, badly signed, unknown or revoked
   * token: dead letter `unauthenticated`), then whether that token's role may write the event
   * (the HTTP rule, refusedEvents: `forbidden`). Absent: no check (KAFKA_AUTH=none, ACLs alone).
   */
  readonly auth?: IngestAuthenticator;
}

/** Header names on dead-letter messages (for consumers that filter without parsing). */
export const DeadLetterHeaders = {
  code: 'fleetcompat-error-code',
  topic: 'fleetcompat-original-topic',
  partition: 'fleetcompat-original-partition',
  offset: 'fleetcompat-original-offset',
} as const;

/** Upper bound of one serialized dead letter, below the broker's default 1 MiB message limit. */
export const MAX_DEAD_LETTER_BYTES = 768 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The pure part of ingest: sorts one batch of messages of one topic-partition into events to
 * store and dead letters. No I/O; unit-testable with plain objects.
 */
export class IngestBatchHandler {
  private readonly maxValueBytes: number;
  private readonly prefix: string;
  private readonly maxFutureSkewMs: number | undefined;
  readonly auth: IngestAuthenticator | undefined;

  constructor(options: IngestBatchHandlerOptions = {}) {
    this.maxValueBytes = options.maxDeadLetterValueBytes ?? 256 * 1024;
    this.prefix = options.topicPrefix ?? '';
    this.maxFutureSkewMs = options.maxFutureSkewMs;
    this.auth = options.auth;
  }

  /**
   * Sorts the messages (with `auth`: call `auth.prepare(messages)` first). The checks, in
   * order: the signature (unauthenticated), the value (invalid-json ... invalid-data), the
   * topic (wrong-topic), the signer's role (forbidden).
   */
  handle(topic: string, partition: number, messages: readonly RawMessage[], now: Date = new Date()): HandledBatch {
    const toStore: IncomingEvent[] = [];
    const deadLetters: DeadLetterRecord[] = [];
    for (const message of messages) {
      let signer: Principal | undefined;
      if (this.auth) {
        const a = this.auth.authenticate(topic, message);
        if (!a.ok) {
          // the eventId, when the value is readable, so that the producer sees which event was refused
          const peek = parseEvent(message.value, { now: now.getTime(), maxFutureSkewMs: this.maxFutureSkewMs });
          const eventId = peek.ok ? peek.event.eventId : peek.rejection.eventId;
          deadLetters.push(
            this.deadLetter(
              topic,
              partition,
              message,
              { ...a.rejection, ...(eventId !== undefined ? { eventId } : {}) },
              now,
            ),
          );
          continue;
        }
        signer = a.principal;
      }
      const result = parseEvent(message.value, { now: now.getTime(), maxFutureSkewMs: this.maxFutureSkewMs });
      if (!result.ok) {
        deadLetters.push(this.deadLetter(topic, partition, message, result.rejection, now));
        continue;
      }
      // an event travels on its own topic only: producers are authorized per topic (Kafka ACLs)
      const own = this.prefix + EventRouting[result.event.type].topic;
      if (own !== topic) {
        const rejection: Rejection = {
          code: 'wrong-topic',
          message: `${result.event.type} belongs on ${own}, not ${topic}`,
          eventId: result.event.eventId,
        };
        deadLetters.push(this.deadLetter(topic, partition, message, rejection, now));
        continue;
      }
      // the same rule as POST /v1/events: what the signer's role may write
      if (signer) {
        const [refusal] = refusedEvents(signer.role, [result.event]);
        if (refusal) {
          const rejection: Rejection = {
            code: 'forbidden',
            message: `${refusal.reason} (signed by token ${signer.tokenId})`,
            eventId: result.event.eventId,
          };
          deadLetters.push(this.deadLetter(topic, partition, message, rejection, now));
          continue;
        }
      }
      toStore.push({ event: result.event, origin: { channel: 'kafka', topic, partition, offset: message.offset } });
    }
    return { toStore, deadLetters };
  }

  /** Builds the dead letter of one rejected message. */
  deadLetter(
    topic: string,
    partition: number,
    message: RawMessage,
    rejection: Rejection,
    now: Date = new Date(),
  ): DeadLetterRecord {
    const key =
      message.key == null ? null : typeof message.key === 'string' ? message.key : message.key.toString('utf8');
    const build = (limit: number): KafkaDeadLetter => {
      const { value, valueEncoding, valueTruncated } = encodeValue(message.value, limit);
      return {
        topic,
        partition,
        offset: message.offset,
        key,
        value,
        ...(value !== null ? { valueEncoding } : {}),
        ...(valueTruncated ? { valueTruncated } : {}),
        error: { code: rejection.code, message: rejection.message.slice(0, 4096) },
        ...(rejection.eventId !== undefined ? { eventId: rejection.eventId } : {}),
        receivedAt: now.toISOString(),
      };
    };
    // JSON escaping can make a value up to 6 times longer (control characters): cut further
    // until the letter fits well under the broker's default message.max.bytes (1 MiB).
    let limit = this.maxValueBytes;
    let letter = build(limit);
    let json = JSON.stringify(letter);
    while (Buffer.byteLength(json) > MAX_DEAD_LETTER_BYTES && limit > 0) {
      limit = Math.floor(limit / 2);
      letter = build(limit);
      json = JSON.stringify(letter);
    }
    return {
      key,
      letter,
      value: json,
      headers: {
        [DeadLetterHeaders.code]: rejection.code,
        [DeadLetterHeaders.topic]: topic,
        [DeadLetterHeaders.partition]: String(partition),
        [DeadLetterHeaders.offset]: message.offset,
      },
    };
  }
}

function encodeValue(
  raw: Buffer | string | null | undefined,
  maxBytes: number,
): { value: string | null; valueEncoding: 'utf8' | 'base64'; valueTruncated: boolean } {
  if (raw === null || raw === undefined) return { value: null, valueEncoding: 'utf8', valueTruncated: false };
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const truncated = buf.length > maxBytes;
  let end = Math.min(buf.length, maxBytes);
  try {
    if (truncated) {
      // Cut at a UTF-8 character boundary: step back over continuation bytes.
      while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
    }
    return { value: utf8.decode(buf.subarray(0, end)), valueEncoding: 'utf8', valueTruncated: truncated };
  } catch {
    // Not UTF-8: base64 of the (cut) bytes; base64 is 4/3 larger, so keep 3/4 of the limit.
    const cut = Math.min(buf.length, Math.floor((maxBytes * 3) / 4));
    return {
      value: buf.subarray(0, cut).toString('base64'),
      valueEncoding: 'base64',
      valueTruncated: cut < buf.length,
    };
  }
}
