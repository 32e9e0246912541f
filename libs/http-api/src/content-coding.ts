import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Request } from 'express';

/**
 * Whether a response goes out gzip-compressed: the client's Accept-Encoding prefers gzip to
 * identity (RFC 9110 12.5.3, negotiated by express's `accepts`; no header means identity).
 * Host agents and gates (Node's fetch) and browsers ask for gzip; `curl` without
 * `--compressed` does not.
 */
export function wantsGzip(req: Pick<Request, 'acceptsEncodings'>): boolean {
  return req.acceptsEncodings('gzip', 'identity') === 'gzip';
}

const gunzipAsync = promisify(gunzip);

/** The bytes of a gzip-compressed answer (PlacementsReader keeps them so), off the event loop. */
export function gunzipBody(gz: Buffer): Promise<Buffer> {
  return gunzipAsync(gz);
}
