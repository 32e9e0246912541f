import { MAX_EVENT_BYTES } from './topics';
import { EnvelopeSchema, EventDataSchemas, EventType, FleetEvent } from './events';

/** Stable codes for rejected input; they appear in dead letters and problem details. */
export type RejectionCode = 'invalid-json' | 'oversize' | 'invalid-envelope' | 'unknown-type' | 'invalid-data';

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
export function validateEvent(value: unknown): ValidationResult {
  const env = EnvelopeSchema.safeParse(value);
  if (!env.success) {
    const eventId = typeof (value as any)?.eventId === 'string' ? (value as any).eventId : undefined;
    return { ok: false, rejection: { code: 'invalid-envelope', message: describe(env.error.issues, ''), eventId } };
  }
  const { type, eventId } = env.data;
  if (!Object.prototype.hasOwnProperty.call(EventDataSchemas, type)) {
    return { ok: false, rejection: { code: 'unknown-type', message: `unknown event type "${type}"`, eventId } };
  }
  const data = EventDataSchemas[type as EventType].safeParse(env.data.data);
  if (!data.success) {
    return { ok: false, rejection: { code: 'invalid-data', message: describe(data.error.issues, 'data'), eventId } };
  }
  return { ok: true, event: { ...env.data, type: type as EventType, data: data.data } as FleetEvent };
}

/** Parses and validates raw bytes (a Kafka message value or an HTTP body item). */
export function parseEvent(raw: Buffer | string | null | undefined): ValidationResult {
  if (raw === null || raw === undefined) {
    return { ok: false, rejection: { code: 'invalid-json', message: 'empty message value' } };
  }
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > MAX_EVENT_BYTES) {
    return { ok: false, rejection: { code: 'oversize', message: `message of ${size} bytes exceeds the limit of ${MAX_EVENT_BYTES}` } };
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (e) {
    return { ok: false, rejection: { code: 'invalid-json', message: `not valid JSON: ${(e as Error).message}` } };
  }
  return validateEvent(value);
}
