import { fail } from '../errors';
import { BoundedOutput } from './output';

/*
 * LZ4 legacy frame (`lz4 -l`, what Linux's lz4 kernel compression writes): the magic
 * 0x184C2102, then blocks of [u32 LE compressed size][LZ4 block], each decompressing to at
 * most 8 MiB. Another magic may start a concatenated stream. The input must end exactly
 * after a block (the caller strips Linux's 4-byte size trailer).
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

export function decompressLz4Legacy(input: Uint8Array, maxOutput: number): Uint8Array {
  if (!isLz4Legacy(input)) fail('corrupt-data', 'lz4: bad magic (not a legacy frame)');
  const out = new BoundedOutput(maxOutput, 'lz4', 1 << 20);
  let pos = 4;
  let blocks = 0;
  while (pos < input.length) {
    if (input.length - pos < 4) fail('corrupt-data', `lz4: ${input.length - pos} stray bytes after the last block`);
    const size = u32le(input, pos);
    pos += 4;
    if (size === LZ4_LEGACY_MAGIC) continue;
    if (size === 0 || size > COMPRESS_BOUND) fail('corrupt-data', `lz4: bad block size ${size}`);
    if (pos + size > input.length) fail('truncated', `lz4: block of ${size} bytes runs past the end of the data`);
    decodeBlock(input, pos, pos + size, out);
    pos += size;
    blocks++;
  }
  if (blocks === 0) fail('truncated', 'lz4: no data blocks');
  return out.result();
}

/** One LZ4 block, input[start, end), appended to out (matches may reach into earlier output). */
export function decodeBlock(input: Uint8Array, start: number, end: number, out: BoundedOutput): void {
  let ip = start;
  const blockStart = out.pos;
  for (;;) {
    if (ip >= end) fail('truncated', 'lz4: block ends inside a sequence');
    const token = input[ip++];
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) fail('truncated', 'lz4: literal length runs past the block');
        b = input[ip++];
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > end) fail('truncated', 'lz4: literals run past the block');
    if (out.pos - blockStart + lit > BLOCK_MAX) fail('corrupt-data', 'lz4: block decompresses past 8 MiB');
    out.ensure(lit);
    out.buf.set(input.subarray(ip, ip + lit), out.pos);
    out.pos += lit;
    ip += lit;
    if (ip === end) return; // the last sequence has literals only
    if (ip + 2 > end) fail('truncated', 'lz4: match offset runs past the block');
    const offset = input[ip] | (input[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > out.pos) fail('corrupt-data', `lz4: bad match offset ${offset}`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (ip >= end) fail('truncated', 'lz4: match length runs past the block');
        b = input[ip++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (out.pos - blockStart + len > BLOCK_MAX) fail('corrupt-data', 'lz4: block decompresses past 8 MiB');
    out.ensure(len);
    const buf = out.buf;
    let src = out.pos - offset;
    let dst = out.pos;
    const stop = dst + len;
    while (dst < stop) buf[dst++] = buf[src++];
    out.pos = stop;
  }
}
