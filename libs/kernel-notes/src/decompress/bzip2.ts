/// <reference path="./seek-bzip.d.ts" />
import Bunzip = require('seek-bzip');
import { fail, KernelImageError } from '../errors';
import { BoundedOutput } from './output';

/** bzip2 through seek-bzip (pure JS), with input reads bounds-checked and output capped. */
export function decompressBzip2(input: Uint8Array, maxOutput: number): Uint8Array {
  if (input.length < 4 || input[0] !== 0x42 || input[1] !== 0x5a || input[2] !== 0x68)
    fail('corrupt-data', 'bzip2: bad magic');
  const out = new BoundedOutput(maxOutput, 'bzip2', 1 << 20);
  let pos = 0;
  const inStream = {
    readByte(): number {
      if (pos >= input.length) fail('truncated', 'bzip2: compressed data is truncated');
      return input[pos++];
    },
    read(buffer: Uint8Array, off: number, len: number): number {
      if (pos >= input.length) return -1;
      const n = Math.min(len, input.length - pos);
      buffer.set(input.subarray(pos, pos + n), off);
      pos += n;
      return n;
    },
    seek(p: number): void {
      pos = p;
    },
    eof(): boolean {
      return pos >= input.length;
    },
  };
  const outStream = {
    writeByte(b: number): void {
      if (out.pos >= out.buf.length) out.ensure(1);
      out.buf[out.pos++] = b;
    },
  };
  try {
    // Not multistream: Linux appends a 4-byte size after the stream, which must be ignored.
    Bunzip.decode(inStream, outStream, false);
  } catch (e) {
    if (e instanceof KernelImageError) throw e;
    fail('corrupt-data', `bzip2: ${(e as Error)?.message ?? String(e)}`);
  }
  return out.result();
}
