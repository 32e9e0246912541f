import { fail } from '../errors';
import { liblzmaDecode } from './liblzma';

/**
 * The legacy .lzma format (props byte, u32 dictionary size, u64 uncompressed size or all
 * ones, then the range-coded data), by liblzma's "alone" decoder. A declared size past the
 * cap is refused before decoding.
 */
export function decompressLzma(input: Uint8Array, maxOutput: number, sizeHint?: number): Uint8Array {
  if (input.length < 13) fail('truncated', 'lzma: header is truncated');
  let unknown = true;
  let size = 0;
  for (let i = 7; i >= 0; i--) {
    if (input[5 + i] !== 0xff) unknown = false;
    size = size * 256 + input[5 + i];
  }
  if (!unknown && size > maxOutput)
    fail('too-large', `lzma: declared size ${size} exceeds the limit of ${maxOutput} bytes`);
  return liblzmaDecode('lzma', input, maxOutput, sizeHint ?? (unknown ? undefined : size));
}
