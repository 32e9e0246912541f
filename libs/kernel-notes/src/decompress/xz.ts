import { fail, hex } from '../errors';
import { crc32 } from './crc32';
import { LzmaDecoder, parsePropsByte } from './lzma';
import { BoundedOutput } from './output';

/*
 * The .xz container (as Linux's xz_wrap.sh writes it: CRC32 check, the x86 BCJ filter, then
 * LZMA2). Blocks are decoded in order; the index and stream footer are not needed.
 */

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FILTER_X86 = 0x04;
const FILTER_LZMA2 = 0x21;

function checkSize(type: number): number {
  if (type === 0) return 0;
  return 4 << Math.floor((type - 1) / 3);
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Reads an xz variable-length integer (at most 9 bytes) from `b` within [pos, end). */
function varint(b: Uint8Array, at: { pos: number }, end: number): number {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    if (at.pos >= end) fail('corrupt-data', 'xz: block header is truncated');
    const byte = b[at.pos++];
    v += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) fail('corrupt-data', 'xz: bad variable-length integer');
      return v;
    }
  }
  return fail('corrupt-data', 'xz: variable-length integer too long');
}

export function isXz(b: Uint8Array): boolean {
  return b.length >= 6 && MAGIC.every((m, i) => b[i] === m);
}

export function decompressXz(input: Uint8Array, maxOutput: number): Uint8Array {
  if (input.length < 12) fail('truncated', 'xz: stream header is truncated');
  if (!isXz(input)) fail('corrupt-data', 'xz: bad magic');
  if (input[6] !== 0 || (input[7] & 0xf0) !== 0) fail('unsupported', 'xz: unsupported stream flags');
  if (crc32(input, 6, 8) !== u32le(input, 8)) fail('corrupt-data', 'xz: stream header CRC mismatch');
  const checkType = input[7];
  const csize = checkSize(checkType);
  const out = new BoundedOutput(maxOutput, 'xz', 1 << 20);
  let pos = 12;
  const records: { uncompressed: number }[] = [];
  for (;;) {
    if (pos >= input.length) fail('truncated', 'xz: data ends before the index');
    const hsizeByte = input[pos];
    if (hsizeByte === 0) break; // index indicator: all blocks done
    const hsize = (hsizeByte + 1) * 4;
    const hend = pos + hsize;
    if (hend > input.length) fail('truncated', 'xz: block header is truncated');
    if (crc32(input, pos, hend - 4) !== u32le(input, hend - 4)) fail('corrupt-data', 'xz: block header CRC mismatch');
    const flags = input[pos + 1];
    if (flags & 0x3c) fail('unsupported', 'xz: unsupported block flags');
    const at = { pos: pos + 2 };
    const limit = hend - 4;
    let compressedSize = -1;
    let uncompressedSize = -1;
    if (flags & 0x40) compressedSize = varint(input, at, limit);
    if (flags & 0x80) uncompressedSize = varint(input, at, limit);
    const nfilters = (flags & 3) + 1;
    const filters: { id: number; props: Uint8Array }[] = [];
    for (let i = 0; i < nfilters; i++) {
      const id = varint(input, at, limit);
      const psize = varint(input, at, limit);
      if (at.pos + psize > limit) fail('corrupt-data', 'xz: filter properties are truncated');
      filters.push({ id, props: input.subarray(at.pos, at.pos + psize) });
      at.pos += psize;
    }
    const last = filters[filters.length - 1];
    if (last.id !== FILTER_LZMA2) fail('unsupported', `xz: last filter is ${hex(last.id)}, not LZMA2`);
    if (last.props.length !== 1 || last.props[0] > 40) fail('corrupt-data', 'xz: bad LZMA2 properties');
    let bcjStart = -1;
    for (const f of filters.slice(0, -1)) {
      if (f.id !== FILTER_X86) fail('unsupported', `xz: unsupported filter ${hex(f.id)} (only x86 BCJ and LZMA2)`);
      if (f.props.length === 0) bcjStart = 0;
      else if (f.props.length === 4) bcjStart = u32le(f.props, 0);
      else fail('corrupt-data', 'xz: bad x86 BCJ properties');
    }
    if (uncompressedSize > maxOutput) fail('too-large', `xz: block of ${uncompressedSize} bytes exceeds the limit of ${maxOutput}`);
    const blockOut = out.pos;
    const dataStart = hend;
    const dataEnd = compressedSize >= 0 ? dataStart + compressedSize : input.length;
    if (dataEnd > input.length) fail('truncated', 'xz: block data is truncated');
    pos = decodeLzma2(input, dataStart, dataEnd, out);
    if (compressedSize >= 0 && pos !== dataEnd) fail('corrupt-data', 'xz: block compressed size mismatch');
    if (uncompressedSize >= 0 && out.pos - blockOut !== uncompressedSize) fail('corrupt-data', 'xz: block uncompressed size mismatch');
    if (bcjStart >= 0) bcjX86(out.buf.subarray(blockOut, out.pos), bcjStart);
    while (pos & 3) {
      if (pos >= input.length) fail('truncated', 'xz: block padding is truncated');
      if (input[pos++] !== 0) fail('corrupt-data', 'xz: nonzero block padding');
    }
    if (pos + csize > input.length) fail('truncated', 'xz: block check is truncated');
    if (checkType === 1 && crc32(out.buf, blockOut, out.pos) !== u32le(input, pos)) fail('corrupt-data', 'xz: block CRC32 mismatch');
    records.push({ uncompressed: out.pos - blockOut });
    pos += csize;
  }
  checkIndexAndFooter(input, pos, records, input[7]);
  return out.result();
}

/** Checks the index (one record per decoded block, CRC32) and the stream footer. */
function checkIndexAndFooter(input: Uint8Array, start: number, records: { uncompressed: number }[], checkType: number): void {
  const at = { pos: start + 1 };
  const end = input.length;
  const count = varint(input, at, end);
  if (count !== records.length) fail('corrupt-data', `xz: index lists ${count} blocks, the stream has ${records.length}`);
  for (const r of records) {
    varint(input, at, end); // unpadded size
    if (varint(input, at, end) !== r.uncompressed) fail('corrupt-data', 'xz: index does not match the blocks');
  }
  while (at.pos & 3) {
    if (at.pos >= end) fail('truncated', 'xz: index is truncated');
    if (input[at.pos++] !== 0) fail('corrupt-data', 'xz: nonzero index padding');
  }
  if (at.pos + 4 > end) fail('truncated', 'xz: index is truncated');
  if (crc32(input, start, at.pos) !== u32le(input, at.pos)) fail('corrupt-data', 'xz: index CRC mismatch');
  const f = at.pos + 4;
  if (f + 12 > end) fail('truncated', 'xz: stream footer is truncated');
  if (input[f + 10] !== 0x59 || input[f + 11] !== 0x5a) fail('corrupt-data', 'xz: bad stream footer magic');
  if (input[f + 8] !== 0 || input[f + 9] !== checkType) fail('corrupt-data', 'xz: stream footer flags differ from the header');
}

/** Decodes one LZMA2 stream from input[start, end) into out; returns the position after it. */
function decodeLzma2(input: Uint8Array, start: number, end: number, out: BoundedOutput): number {
  const dec = new LzmaDecoder(input, out);
  let pos = start;
  let needDictReset = true;
  let needProps = true;
  for (;;) {
    if (pos >= end) fail('truncated', 'xz: LZMA2 data is truncated');
    const control = input[pos++];
    if (control === 0) return pos;
    if (control === 1 || control === 2) {
      if (control === 1) {
        dec.dictStart = out.pos;
        needDictReset = false;
      } else if (needDictReset) fail('corrupt-data', 'xz: LZMA2 data without a dictionary reset');
      if (pos + 2 > end) fail('truncated', 'xz: LZMA2 chunk header is truncated');
      const size = ((input[pos] << 8) | input[pos + 1]) + 1;
      pos += 2;
      if (pos + size > end) fail('truncated', 'xz: LZMA2 chunk is truncated');
      out.push(input.subarray(pos, pos + size));
      pos += size;
      continue;
    }
    if (control < 0x80) fail('corrupt-data', `xz: bad LZMA2 control byte ${hex(control)}`);
    if (pos + 4 > end) fail('truncated', 'xz: LZMA2 chunk header is truncated');
    const unpacked = (control & 0x1f) * 65536 + ((input[pos] << 8) | input[pos + 1]) + 1;
    const packed = ((input[pos + 2] << 8) | input[pos + 3]) + 1;
    pos += 4;
    const mode = (control >>> 5) & 3;
    if (mode === 3) {
      dec.dictStart = out.pos;
      needDictReset = false;
    } else if (needDictReset) fail('corrupt-data', 'xz: LZMA2 data without a dictionary reset');
    if (mode >= 2) {
      if (pos >= end) fail('truncated', 'xz: LZMA2 properties are truncated');
      const props = parsePropsByte(input[pos++]);
      if (props.lc + props.lp > 4) fail('corrupt-data', 'xz: bad LZMA2 properties');
      dec.setProps(props);
      needProps = false;
    } else if (needProps) fail('corrupt-data', 'xz: LZMA2 chunk without properties');
    if (mode >= 1) dec.resetState();
    const chunkEnd = pos + packed;
    if (chunkEnd > end) fail('truncated', 'xz: LZMA2 chunk is truncated');
    dec.rc.init(pos, chunkEnd);
    dec.decode(unpacked, false);
    if (dec.rc.pos !== chunkEnd || !dec.rc.finishedOk()) fail('corrupt-data', 'xz: LZMA2 chunk size mismatch');
    pos = chunkEnd;
  }
}

function testMsByte(b: number): boolean {
  return b === 0x00 || b === 0xff;
}

const MASK_ALLOWED = [true, true, true, false, true, false, false, false];
const MASK_BITNUM = [0, 1, 2, 2, 3, 3, 3, 3];

/** The x86 BCJ decoder (xz-embedded's bcj_x86) applied in place to a whole block. */
export function bcjX86(buf: Uint8Array, startPos: number): void {
  const size = buf.length;
  if (size <= 4) return;
  const limit = size - 4;
  let prevPos = -1;
  let prevMask = 0;
  for (let i = 0; i < limit; i++) {
    if ((buf[i] & 0xfe) !== 0xe8) continue;
    const d = i - prevPos;
    if (d > 3) {
      prevMask = 0;
    } else {
      prevMask = (prevMask << (d - 1)) & 7;
      if (prevMask !== 0) {
        const b = buf[i + 4 - MASK_BITNUM[prevMask]];
        if (!MASK_ALLOWED[prevMask] || testMsByte(b)) {
          prevPos = i;
          prevMask = (prevMask << 1) | 1;
          continue;
        }
      }
    }
    prevPos = i;
    if (testMsByte(buf[i + 4])) {
      let src = u32le(buf, i + 1);
      let dest: number;
      for (let guard = 0; ; guard++) {
        if (guard > 64) fail('corrupt-data', 'xz: x86 BCJ filter does not converge');
        dest = (src - (startPos + i + 5)) >>> 0;
        if (prevMask === 0) break;
        const j = MASK_BITNUM[prevMask] * 8;
        const b = (dest >>> (24 - j)) & 0xff;
        if (!testMsByte(b)) break;
        src = (dest ^ (2 ** (32 - j) - 1)) >>> 0;
      }
      dest &= 0x01ffffff;
      if (dest & 0x01000000) dest |= 0xfe000000;
      buf[i + 1] = dest & 0xff;
      buf[i + 2] = (dest >>> 8) & 0xff;
      buf[i + 3] = (dest >>> 16) & 0xff;
      buf[i + 4] = (dest >>> 24) & 0xff;
      i += 4;
    } else {
      prevMask = (prevMask << 1) | 1;
    }
  }
}
