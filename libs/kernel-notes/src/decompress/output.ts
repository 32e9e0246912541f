import { fail } from '../errors';

/** Default cap on decompressed output: 256 MiB (a vmlinux is 20-100 MiB). */
export const DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024;

/**
 * A growable output buffer that never grows past `limit`: every decoder writes through one,
 * so a decompression bomb stops at the cap with a clear error instead of exhausting memory.
 */
export class BoundedOutput {
  buf: Uint8Array;
  pos = 0;

  constructor(
    readonly limit: number,
    readonly what: string,
    initial = 64 * 1024,
  ) {
    this.buf = new Uint8Array(Math.max(16, Math.min(initial, limit)));
  }

  /** Makes room for `n` more bytes, or fails when that would pass the cap. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (need > this.limit) this.tooLarge();
    let size = this.buf.length;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.limit));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  tooLarge(): never {
    return fail('too-large', `${this.what}: decompressed data exceeds the limit of ${this.limit} bytes`);
  }

  push(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
