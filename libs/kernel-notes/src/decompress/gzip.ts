import * as zlib from 'zlib';
import { fail } from '../errors';
import { crc32 } from './crc32';

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x1f && (b[1] === 0x8b || b[1] === 0x9e) && b[2] === 8;
}

/**
 * One gzip member (node's zlib for the deflate data, output capped with maxOutputLength).
 * The header is parsed here so that bytes after the member (Linux's size trailer) are
 * ignored; the CRC32 and size in the member's trailer are checked when they can be found.
 */
export function decompressGzip(input: Uint8Array, maxOutput: number): Uint8Array {
  if (input.length < 18) fail('truncated', 'gzip: data is truncated');
  if (!isGzip(input)) fail('corrupt-data', 'gzip: bad magic');
  const flags = input[3];
  if (flags & 0xe0) fail('corrupt-data', 'gzip: reserved flag bits set');
  let pos = 10;
  const need = (n: number) => {
    if (pos + n > input.length) fail('truncated', 'gzip: header is truncated');
  };
  if (flags & 4) {
    need(2);
    const xlen = input[pos] | (input[pos + 1] << 8);
    pos += 2;
    need(xlen);
    pos += xlen;
  }
  for (const bit of [8, 16]) {
    if (flags & bit) {
      while (true) {
        need(1);
        if (input[pos++] === 0) break;
      }
    }
  }
  if (flags & 2) {
    need(2);
    pos += 2;
  }
  const deflated = input.subarray(pos);
  let out: Buffer;
  let used: number;
  try {
    const r = zlib.inflateRawSync(deflated, { maxOutputLength: maxOutput, info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    out = r.buffer;
    used = r.engine.bytesWritten;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      fail('too-large', `gzip: decompressed data exceeds the limit of ${maxOutput} bytes`);
    }
    if (err?.code === 'Z_BUF_ERROR') fail('truncated', 'gzip: compressed data is truncated');
    fail('corrupt-data', `gzip: ${err?.message ?? String(e)}`);
  }
  // The member trailer (CRC32, ISIZE) follows the deflate data.
  if (typeof used !== 'number' || used + 8 > deflated.length) fail('truncated', 'gzip: member trailer is truncated');
  const crc =
    (deflated[used] | (deflated[used + 1] << 8) | (deflated[used + 2] << 16) | (deflated[used + 3] << 24)) >>> 0;
  const isize =
    (deflated[used + 4] | (deflated[used + 5] << 8) | (deflated[used + 6] << 16) | (deflated[used + 7] << 24)) >>> 0;
  if (isize !== out.length >>> 0)
    fail('corrupt-data', `gzip: size mismatch (trailer says ${isize}, got ${out.length})`);
  if (crc32(out) !== crc) fail('corrupt-data', 'gzip: CRC32 mismatch');
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
