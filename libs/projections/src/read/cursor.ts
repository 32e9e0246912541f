/**
 * A keyset cursor, opaque to clients: the key of the last row of a page (its parts, in the
 * page's order), base64url of their JSON. The guest list, the dashboard's host list and its
 * attention list all page with it.
 */
export function encodeKey(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/** The `n` parts of a cursor of ours; null when `cursor` is not one (or has another number of parts). */
export function decodeKey(cursor: string, n: number): string[] | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* not ours */
  }
  return null;
}
