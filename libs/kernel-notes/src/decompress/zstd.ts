import { Decompress } from 'fzstd';
import { fail, KernelImageError } from '../errors';
import { BoundedOutput } from './output';

const MAGIC = 0xfd2fb528;

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function isZstd(b: Uint8Array): boolean {
  return b.length >= 4 && u32le(b, 0) === MAGIC;
}

/**
 * Checks a zstd frame header before fzstd sees it (fzstd allocates the window, or for a
 * single-segment frame the content size, up front: both must be within the cap) and walks
 * the frame's length-prefixed blocks to find where it ends. Returns the end offset.
 */
function frameEnd(b: Uint8Array, start: number, maxOutput: number): number {
  if (b.length - start < 6) fail('truncated', 'zstd: frame header is truncated');
  const fhd = b[start + 4];
  if (fhd & 0x08) fail('corrupt-data', 'zstd: reserved frame header bit set');
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const dictFlag = fhd & 3;
  const checksum = (fhd >> 2) & 1;
  let pos = start + 5;
  let window = 0;
  if (!singleSegment) {
    const wd = b[pos++];
    const base = 2 ** (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  pos += [0, 1, 2, 4][dictFlag];
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (pos + fcsBytes > b.length) fail('truncated', 'zstd: frame header is truncated');
  let fcs = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + b[pos + i];
  if (fcsBytes === 2) fcs += 256;
  pos += fcsBytes;
  if (dictFlag !== 0) fail('unsupported', 'zstd: frames that need a dictionary are not supported');
  if (singleSegment) window = fcs;
  if (fcsBytes > 0 && fcs > maxOutput)
    fail('too-large', `zstd: declared size ${fcs} exceeds the limit of ${maxOutput} bytes`);
  if (window > maxOutput) fail('too-large', `zstd: window of ${window} bytes exceeds the limit of ${maxOutput} bytes`);
  for (;;) {
    if (pos + 3 > b.length) fail('truncated', 'zstd: block header is truncated');
    const h = b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16);
    pos += 3;
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) fail('corrupt-data', 'zstd: reserved block type');
    if (size > 128 * 1024) fail('corrupt-data', `zstd: block size ${size} is too large`);
    pos += type === 1 ? 1 : size;
    if (pos > b.length) fail('truncated', 'zstd: block is truncated');
    if (last) break;
  }
  pos += checksum * 4;
  if (pos > b.length) fail('truncated', 'zstd: frame checksum is truncated');
  return pos;
}

/** zstd through fzstd (pure JS): frame by frame, each checked first, output capped. */
export function decompressZstd(input: Uint8Array, maxOutput: number): Uint8Array {
  if (!isZstd(input)) fail('corrupt-data', 'zstd: bad magic');
  const out = new BoundedOutput(maxOutput, 'zstd', 1 << 20);
  let pos = 0;
  while (pos < input.length) {
    if (input.length - pos < 8) fail('corrupt-data', `zstd: ${input.length - pos} stray bytes after the last frame`);
    const magic = u32le(input, pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // skippable frame
      const size = u32le(input, pos + 4);
      if (pos + 8 + size > input.length) fail('truncated', 'zstd: skippable frame is truncated');
      pos += 8 + size;
      continue;
    }
    if (magic !== MAGIC) fail('corrupt-data', 'zstd: data after the last frame is not a frame');
    const end = frameEnd(input, pos, maxOutput);
    const d = new Decompress((chunk) => out.push(chunk));
    try {
      d.push(input.subarray(pos, end), true);
    } catch (e) {
      if (e instanceof KernelImageError) throw e;
      fail('corrupt-data', `zstd: ${(e as Error)?.message ?? String(e)}`);
    }
    pos = end;
  }
  return out.result();
}
