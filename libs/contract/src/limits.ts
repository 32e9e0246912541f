/**
 * What the edge refuses before anything is stored: values Postgres cannot take (NUL in text
 * or jsonb, lone UTF-16 surrogates, times outside timestamptz's range or with offsets it
 * refuses), structures deep enough to exhaust a stack, and times a producer cannot honestly
 * have (before 2000, or later than now plus a small clock skew). One place, used by the
 * HTTP API and the Kafka ingest alike.
 */

/** Deepest nesting of arrays and objects accepted in one event (a v1 event needs 4). */
export const MAX_JSON_DEPTH = 16;

/** Earliest occurredAt accepted. */
export const MIN_EVENT_TIME = Date.parse('2000-01-01T00:00:00Z');

/** Latest time a planned reboot may name. */
export const MAX_PLANNED_TIME = Date.parse('2200-01-01T00:00:00Z');

/** Largest UTC offset of a time: ±14:00 (the widest offset in use, Kiribati). */
export const MAX_OFFSET_MINUTES = 14 * 60;

/** Default tolerance for a producer's clock running ahead of the service's. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60_000;

/**
 * Whether the JSON text nests arrays and objects deeper than `max`, found by a linear scan
 * that skips strings: run before JSON.parse, so that nothing recursive ever sees such a value.
 */
export function jsonDepthExceeds(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

// eslint-disable-next-line no-control-regex -- NUL is the very character this refuses
const BAD_CHAR = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored as text or jsonb, or null when it can. */
export function badString(s: string): string | null {
  const m = BAD_CHAR.exec(s);
  if (!m) return null;
  return m[0] === '\u0000'
    ? 'contains a NUL character (U+0000)'
    : `contains a lone UTF-16 surrogate (U+${m[0].charCodeAt(0).toString(16).toUpperCase()})`;
}

/**
 * The first string (value or key) of a parsed JSON value that cannot be stored, with its
 * path, or null. Iterative and bounded by `MAX_JSON_DEPTH`, so any parsed value is safe.
 */
export function findBadString(value: unknown): { path: string; reason: string } | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const reason = badString(v);
      if (reason) return { path: path || '(root)', reason };
    } else if (v !== null && typeof v === 'object' && depth < MAX_JSON_DEPTH + 1) {
      for (const [k, child] of Object.entries(v)) {
        const childPath = Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
        const reason = Array.isArray(v) ? null : badString(k);
        if (reason) return { path: childPath, reason: `key ${reason}` };
        stack.push({ v: child, path: childPath, depth: depth + 1 });
      }
    }
  }
  return null;
}

/** The UTC offset of an RFC 3339 time in minutes (0 for Z), or null when it has none. */
function offsetMinutes(iso: string): number | null {
  if (/[zZ]$/.test(iso)) return 0;
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(iso);
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/**
 * Why a time (already checked to be RFC 3339 with an offset) cannot be taken, or null:
 * an offset beyond ±14:00, or an instant outside [earliest, latest].
 */
export function badTime(iso: string, earliest: number, latest: number): string | null {
  const offset = offsetMinutes(iso);
  if (offset === null) return 'has no UTC offset';
  if (Math.abs(offset) > MAX_OFFSET_MINUTES) return 'has a UTC offset beyond ±14:00';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'is not a real instant';
  if (t < earliest) return `is before ${new Date(earliest).toISOString()}`;
  if (t > latest) return `is after ${new Date(latest).toISOString()}`;
  return null;
}
