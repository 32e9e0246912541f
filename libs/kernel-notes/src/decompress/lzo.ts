import { fail } from '../errors';
import { BoundedOutput } from './output';

/*
 * The lzop container (what Linux's lzo kernel compression writes, `lzop -9`) with LZO1X
 * blocks. The block decoder follows Linux's lzo1x_decompress_safe.c: every input read and
 * output write is checked, and every block decodes into exactly its declared size.
 */

const MAGIC = [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D = 0x1;
const F_ADLER32_C = 0x2;
const F_H_EXTRA_FIELD = 0x40;
const F_CRC32_D = 0x100;
const F_CRC32_C = 0x200;
const F_H_FILTER = 0x800;
/** lzop writes 256 KiB blocks; accept up to 64 MiB. */
const MAX_BLOCK = 64 * 1024 * 1024;

export function isLzop(b: Uint8Array): boolean {
  return b.length >= 9 && MAGIC.every((m, i) => b[i] === m);
}

class Reader {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.b.length) fail('truncated', `lzo: ${what} is truncated`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++];
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.b[this.pos] << 8) | this.b[this.pos + 1];
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.b;
    const v = ((b[this.pos] << 24) | (b[this.pos + 1] << 16) | (b[this.pos + 2] << 8) | b[this.pos + 3]) >>> 0;
    this.pos += 4;
    return v;
  }
}

export function decompressLzop(input: Uint8Array, maxOutput: number): Uint8Array {
  if (!isLzop(input)) fail('corrupt-data', 'lzo: bad magic');
  const r = new Reader(input, 9);
  const version = r.u16('header');
  r.u16('header'); // library version
  if (version >= 0x0940) r.u16('header'); // version needed to extract
  const method = r.u8('header');
  if (method < 1 || method > 3) fail('unsupported', `lzo: unsupported method ${method}`);
  if (version >= 0x0940) r.u8('header'); // level
  const flags = r.u32('header');
  if (flags & F_H_FILTER) r.u32('header');
  r.u32('header'); // mode
  r.u32('header'); // mtime low
  if (version >= 0x0940) r.u32('header'); // mtime high
  const nameLen = r.u8('header');
  r.need(nameLen, 'header');
  r.pos += nameLen;
  r.u32('header'); // header checksum
  if (flags & F_H_EXTRA_FIELD) {
    const len = r.u32('header');
    r.need(len, 'header extra field');
    r.pos += len;
    r.u32('header');
  }
  const out = new BoundedOutput(maxOutput, 'lzo', 1 << 20);
  for (;;) {
    const dstLen = r.u32('block header');
    if (dstLen === 0) break;
    const srcLen = r.u32('block header');
    if (dstLen > MAX_BLOCK) fail('corrupt-data', `lzo: block size ${dstLen} is too large`);
    if (srcLen === 0 || srcLen > dstLen) fail('corrupt-data', `lzo: bad compressed block size ${srcLen}`);
    if (flags & F_ADLER32_D) r.u32('block header');
    if (flags & F_CRC32_D) r.u32('block header');
    if (srcLen < dstLen) {
      if (flags & F_ADLER32_C) r.u32('block header');
      if (flags & F_CRC32_C) r.u32('block header');
    }
    r.need(srcLen, 'block');
    if (out.pos + dstLen > maxOutput) out.tooLarge();
    if (srcLen === dstLen) {
      out.push(input.subarray(r.pos, r.pos + srcLen));
    } else {
      out.ensure(dstLen);
      const n = lzo1xDecompress(input, r.pos, r.pos + srcLen, out.buf, out.pos, out.pos + dstLen);
      if (n !== dstLen) fail('corrupt-data', `lzo: block decompressed to ${n} bytes, expected ${dstLen}`);
      out.pos += dstLen;
    }
    r.pos += srcLen;
  }
  return out.result();
}

/**
 * LZO1X decompression of input[ip0, ipEnd) into out[op0, opEnd). Returns the bytes written.
 * Matches may not reach before op0 (lzop blocks are independent).
 */
export function lzo1xDecompress(
  input: Uint8Array,
  ip0: number,
  ipEnd: number,
  out: Uint8Array,
  op0: number,
  opEnd: number,
): number {
  let ip = ip0;
  let op = op0;
  let t = 0;
  let next = 0;
  let state = 0;
  let mPos = 0;
  const needIp = (n: number) => {
    if (ip + n > ipEnd) fail('truncated', 'lzo: compressed block is truncated');
  };
  const needOp = (n: number) => {
    if (op + n > opEnd) fail('corrupt-data', 'lzo: block decompresses past its declared size');
  };
  const testLb = () => {
    if (mPos < op0) fail('corrupt-data', 'lzo: match distance past the start of the block');
  };
  /** Reads the zero-run extension of a length (each zero byte adds 255). */
  const extend = (): number => {
    const start = ip;
    for (;;) {
      needIp(1);
      if (input[ip] !== 0) break;
      ip++;
    }
    const zeros = ip - start;
    return zeros * 255 + input[ip++];
  };
  const copyLiterals = (n: number) => {
    needIp(n);
    needOp(n);
    out.set(input.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };

  needIp(3);
  let first = true;
  let skipTo: 'none' | 'literal' | 'matchNext' = 'none';
  if (input[ip] > 17) {
    t = input[ip++] - 17;
    if (t < 4) {
      next = t;
      skipTo = 'matchNext';
    } else {
      skipTo = 'literal';
    }
  }
  for (;;) {
    let doMatch = true;
    if (first && skipTo === 'literal') {
      copyLiterals(t);
      state = 4;
      first = false;
      continue;
    }
    if (first && skipTo === 'matchNext') {
      doMatch = false;
    } else {
      needIp(1);
      t = input[ip++];
      if (t < 16) {
        if (state === 0) {
          if (t === 0) t = 15 + extend();
          t += 3;
          copyLiterals(t);
          state = 4;
          first = false;
          continue;
        } else if (state !== 4) {
          next = t & 3;
          needIp(1);
          mPos = op - 1 - (t >>> 2) - (input[ip++] << 2);
          testLb();
          needOp(2);
          out[op] = out[mPos];
          out[op + 1] = out[mPos + 1];
          op += 2;
          doMatch = false;
        } else {
          next = t & 3;
          needIp(1);
          mPos = op - (1 + 0x0800) - (t >>> 2) - (input[ip++] << 2);
          t = 3;
        }
      } else if (t >= 64) {
        next = t & 3;
        needIp(1);
        mPos = op - 1 - ((t >>> 2) & 7) - (input[ip++] << 3);
        t = (t >>> 5) - 1 + 2;
      } else if (t >= 32) {
        t = (t & 31) + 2;
        if (t === 2) t += 31 + extend();
        needIp(2);
        next = input[ip] | (input[ip + 1] << 8);
        ip += 2;
        mPos = op - 1 - (next >>> 2);
        next &= 3;
      } else {
        mPos = op - ((t & 8) << 11);
        t = (t & 7) + 2;
        if (t === 2) t += 7 + extend();
        needIp(2);
        next = input[ip] | (input[ip + 1] << 8);
        ip += 2;
        mPos -= next >>> 2;
        next &= 3;
        if (mPos === op) {
          // end of stream marker
          if (t !== 3) fail('corrupt-data', 'lzo: bad end-of-stream marker');
          if (ip !== ipEnd) fail('corrupt-data', 'lzo: data after the end-of-stream marker');
          return op - op0;
        }
        mPos -= 0x4000;
      }
      if (doMatch) {
        testLb();
        needOp(t);
        for (let i = 0; i < t; i++) out[op + i] = out[mPos + i];
        op += t;
      }
    }
    first = false;
    // match_next: up to 3 literals follow a match
    state = next;
    t = next;
    if (t > 0) copyLiterals(t);
  }
}
