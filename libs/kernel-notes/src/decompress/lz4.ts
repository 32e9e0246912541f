import { uncompressSync } from 'lz4-napi';
import { fail } from '../errors';
import { BoundedOutput } from './output';

/*
 * LZ4 legacy frame (`lz4 -l`, what Linux's lz4 kernel compression writes): the magic
 * 0x184C2102, then blocks of [u32 LE compressed size][LZ4 block], each decompressing to at
 * most 8 MiB; another magic may start a concatenated stream. The input must end exactly
 * after a block (the caller strips Linux's 4-byte size trailer). The framing is these few
 * lines; each block is decoded by lz4-napi (lz4_flex, bounds-checked): it is given the
 * block behind a 4-byte output capacity of 8 MiB, so a block that would decode to more fails.
 */

export const LZ4_LEGACY_MAGIC = 0x184c2102;
const BLOCK_MAX = 8 * 1024 * 1024;
const COMPRESS_BOUND = BLOCK_MAX + ((BLOCK_MAX / 255) | 0) + 16;

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function isLz4Legacy(b: Uint8Array): boolean {
  return b.length >= 4 && u32le(b, 0) === LZ4_LEGACY_MAGIC;
}

export function decompressLz4Legacy(input: Uint8Array, maxOutput: number, sizeHint?: number): Uint8Array {
  if (!isLz4Legacy(input)) fail('corrupt-data', 'lz4: bad magic (not a legacy frame)');
  const out = new BoundedOutput(maxOutput, 'lz4', sizeHint && sizeHint > 0 ? sizeHint : 1 << 20);
  let pos = 4;
  let blocks = 0;
  let scratch = Buffer.alloc(0);
  while (pos < input.length) {
    if (input.length - pos < 4) fail('corrupt-data', `lz4: ${input.length - pos} stray bytes after the last block`);
    const size = u32le(input, pos);
    pos += 4;
    if (size === LZ4_LEGACY_MAGIC) continue;
    if (size === 0 || size > COMPRESS_BOUND) fail('corrupt-data', `lz4: bad block size ${size}`);
    if (pos + size > input.length) fail('truncated', `lz4: block of ${size} bytes runs past the end of the data`);
    if (out.pos >= maxOutput) out.tooLarge();
    if (scratch.length < size + 4)
      scratch = Buffer.allocUnsafe(Math.max(size + 4, Math.min(COMPRESS_BOUND + 4, scratch.length * 2)));
    // lz4_flex's size-prepended block: the prefix is the output capacity
    scratch.writeUInt32LE(Math.min(BLOCK_MAX, maxOutput - out.pos + 1), 0);
    scratch.set(input.subarray(pos, pos + size), 4);
    let block: Buffer;
    try {
      block = uncompressSync(scratch.subarray(0, size + 4));
    } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      if (/output is too small/.test(msg) && out.pos + BLOCK_MAX > maxOutput) out.tooLarge();
      fail('corrupt-data', `lz4: ${/output is too small/.test(msg) ? 'block decompresses past 8 MiB' : msg}`);
    }
    out.push(block);
    pos += size;
    blocks++;
  }
  if (blocks === 0) fail('truncated', 'lz4: no data blocks');
  return out.result();
}
