import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
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

/**
 * The level answers are compressed with, once per answer read from Postgres. On a placements
 * body of 50 guests (52 KB) level 1 takes about 0.12 ms for 4.8 KB, the default 6 about
 * 0.35 ms for 4.0 KB (docs/benchmarks.md, "Session 9").
 */
export const ANSWER_GZIP_LEVEL = 1;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Compresses off the event loop (zlib's thread pool). */
export function gzipBody(body: Buffer | string): Promise<Buffer> {
  return gzipAsync(body, { level: ANSWER_GZIP_LEVEL });
}

export function gunzipBody(gz: Buffer): Promise<Buffer> {
  return gunzipAsync(gz);
}
