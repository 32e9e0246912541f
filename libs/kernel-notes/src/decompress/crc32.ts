import * as zlib from 'zlib';

/** CRC-32 (IEEE 802.3), as used by gzip and lzop: node's zlib.crc32. */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  return zlib.crc32(start === 0 && end === data.length ? data : data.subarray(start, end)) >>> 0;
}
