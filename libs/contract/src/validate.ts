import { MAX_EVENT_BYTES } from './topics';
import { EnvelopeSchema, EventDataSchemas, EventType, FleetEvent } from './events';
import {
  badTime,
  DEFAULT_MAX_FUTURE_SKEW_MS,
  findBadString,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  MAX_PLANNED_TIME,
  MIN_EVENT_TIME,
} from './limits';

/** Stable codes for rejected input; they appear in dead letters and problem details. */
export const REJECTION_CODES = [
  'invalid-json',
  'oversize',
  'too-deep',
  'invalid-envelope',
  'unknown-type',
  'invalid-data',
  'invalid-string',
  'invalid-time',
  'wrong-topic',
  'conflict',
  'unauthenticated',
  'forbidden',
  'limit-exceeded',
  'unstorable',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** What validation compares times with. */
export interface ValidationOptions {
  /** The service's clock (default: now). */
  readonly now?: number;
  /** How far ahead of `now` an occurredAt may be (default 5 minutes). */
  readonly maxFutureSkewMs?: number;
}

export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
  /** The eventId, when the envelope got far enough to have one. */
  readonly eventId?: string;
}

export type ValidationResult = { ok: true; event: FleetEvent } | { ok: false; rejection: Rejection };

function describe(issues: readonly { path: readonly PropertyKey[]; message: string }[], prefix: string): string {
  return issues
    .slice(0, 5)
    .map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validates an already parsed value as an event envelope of a known type. */
export function validateEvent(value: unknown, options: ValidationOptions = {}): ValidationResult {
  const bad = findBadString(value);
  if (bad) {
    const given = (value as { eventId?: unknown } | null | undefined)?.eventId;
    const eventId = typeof given === 'string' && !findBadString(given) ? given : undefined;
    return { ok: false, rejection: { code: 'invalid-string', message: `${bad.path}: ${bad.reason}`, eventId } };
  }
  const env = EnvelopeSchema.safeParse(value);
  if (!env.success) {
    const given = (value as { eventId?: unknown } | null | undefined)?.eventId;
    const eventId = typeof given === 'string' ? given : undefined;
    return { ok: false, rejection: { code: 'invalid-envelope', message: describe(env.error.issues, ''), eventId } };
  }
  const { type, eventId } = env.data;
  if (!Object.prototype.hasOwnProperty.call(EventDataSchemas, type)) {
    return { ok: false, rejection: { code: 'unknown-type', message: `unknown event type "${type}"`, eventId } };
  }
  const latest = (options.now ?? Date.now()) + (options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
  const when = badTime(env.data.occurredAt, MIN_EVENT_TIME, latest);
  if (when) return { ok: false, rejection: { code: 'invalid-time', message: `occurredAt ${when}`, eventId } };
  const data = EventDataSchemas[type as EventType].safeParse(env.data.data);
  if (!data.success) {
    return { ok: false, rejection: { code: 'invalid-data', message: describe(data.error.issues, 'data'), eventId } };
  }
  const planned = (data.data as { plannedRebootAt?: string }).plannedRebootAt;
  const plannedBad = planned === undefined ? null : badTime(planned, MIN_EVENT_TIME, MAX_PLANNED_TIME);
  if (plannedBad)
    return { ok: false, rejection: { code: 'invalid-time', message: `data.plannedRebootAt ${plannedBad}`, eventId } };
  return { ok: true, event: { ...env.data, type: type as EventType, data: data.data } as FleetEvent };
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses and validates raw bytes (a Kafka message value or an HTTP body item). */
export function parseEvent(raw: Buffer | string | null | undefined, options: ValidationOptions = {}): ValidationResult {
  if (raw === null || raw === undefined) {
    return { ok: false, rejection: { code: 'invalid-json', message: 'empty message value' } };
  }
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > MAX_EVENT_BYTES) {
    return {
      ok: false,
      rejection: { code: 'oversize', message: `message of ${size} bytes exceeds the limit of ${MAX_EVENT_BYTES}` },
    };
  }
  let text: string;
  try {
    // strict: bytes that are not UTF-8 are refused, not replaced with U+FFFD and stored
    text = typeof raw === 'string' ? raw : STRICT_UTF8.decode(raw);
  } catch {
    return { ok: false, rejection: { code: 'invalid-json', message: 'the value is not valid UTF-8' } };
  }
  if (jsonDepthExceeds(text)) {
    return {
      ok: false,
      rejection: { code: 'too-deep', message: `arrays and objects nest deeper than ${MAX_JSON_DEPTH} levels` },
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, rejection: { code: 'invalid-json', message: `not valid JSON: ${(e as Error).message}` } };
  }
  return validateEvent(value, options);
}
