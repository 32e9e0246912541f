import { fail } from '../errors';
import { decompressBzip2 } from './bzip2';
import { decompressGzip, isGzip } from './gzip';
import { decompressLz4Legacy, isLz4Legacy } from './lz4';
import { decompressLzma } from './lzma';
import { decompressLzop, isLzop } from './lzo';
import { DEFAULT_MAX_OUTPUT } from './output';
import { decompressXz, isXz } from './xz';
import { decompressZstd, isZstd } from './zstd';

export { DEFAULT_MAX_OUTPUT } from './output';
export { crc32 } from './crc32';

export type Compression = 'gzip' | 'xz' | 'lzma' | 'bzip2' | 'lz4' | 'lzo' | 'zstd';
export const COMPRESSIONS: readonly Compression[] = ['gzip', 'xz', 'lzma', 'bzip2', 'lz4', 'lzo', 'zstd'];

function isBzip2(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[3] >= 0x31 && b[3] <= 0x39;
}

/** The legacy .lzma header as Linux writes it: props 0x5d (lc3 lp0 pb2), a sane dictionary. */
function isLzma(b: Uint8Array): boolean {
  if (b.length < 13 || b[0] >= 225) return false;
  const dict = (b[1] | (b[2] << 8) | (b[3] << 16) | (b[4] << 24)) >>> 0;
  return b[0] === 0x5d && dict >= 4096 && (dict & (dict - 1)) === 0;
}

/** Which compression `b` starts with, by its magic bytes; null when none is recognised. */
export function detectCompression(b: Uint8Array): Compression | null {
  if (isGzip(b)) return 'gzip';
  if (isXz(b)) return 'xz';
  if (isBzip2(b)) return 'bzip2';
  if (isLz4Legacy(b)) return 'lz4';
  if (isLzop(b)) return 'lzo';
  if (isZstd(b)) return 'zstd';
  if (isLzma(b)) return 'lzma';
  return null;
}

/**
 * Decompresses `input` as `kind`, failing with 'too-large' past `maxOutput` bytes. `sizeHint`
 * (a bzImage's size trailer) only sizes the first output buffer, never past the cap.
 */
export function decompress(
  kind: Compression,
  input: Uint8Array,
  maxOutput = DEFAULT_MAX_OUTPUT,
  sizeHint?: number,
): Uint8Array {
  switch (kind) {
    case 'gzip':
      return decompressGzip(input, maxOutput);
    case 'xz':
      return decompressXz(input, maxOutput, sizeHint);
    case 'lzma':
      return decompressLzma(input, maxOutput, sizeHint);
    case 'bzip2':
      return decompressBzip2(input, maxOutput);
    case 'lz4':
      return decompressLz4Legacy(input, maxOutput, sizeHint);
    case 'lzo':
      return decompressLzop(input, maxOutput);
    case 'zstd':
      return decompressZstd(input, maxOutput);
    default:
      return fail('unsupported', `unsupported compression ${String(kind)}`);
  }
}
