import { fail, hex } from './errors';

/*
 * The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst). A bzImage is the
 * real-mode setup code followed by the protected-mode part, which holds the compressed
 * kernel ("payload", protocol 2.08+). Linux appends the decompressed size as a u32 (LE) to
 * the compressed data, so the payload's last four bytes are the vmlinux size.
 */

export interface BzImageInfo {
  /** Boot protocol version, e.g. "2.15". */
  readonly protocol: string;
  readonly setupSects: number;
  /** File offset of the compressed payload. */
  readonly payloadFileOffset: number;
  readonly payloadOffset: number;
  readonly payloadLength: number;
  /** The size the payload decompresses to, from its trailer. */
  readonly decompressedSize: number;
  /** The kernel_version string ("6.1.0-47-cloud-amd64 (debian-kernel@...) #1 SMP ..."). */
  readonly kernelVersion: string | null;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** True when `b` carries the setup header signature "HdrS" at 0x202. */
export function isBzImage(b: Uint8Array): boolean {
  return b.length >= 0x206 && b[0x202] === 0x48 && b[0x203] === 0x64 && b[0x204] === 0x72 && b[0x205] === 0x53;
}

export function parseBzImage(b: Uint8Array): { info: BzImageInfo; payload: Uint8Array } {
  if (!isBzImage(b)) fail('bad-bzimage', 'no setup header signature "HdrS" at 0x202');
  if (b.length < 0x250) fail('truncated', `bzImage setup header is truncated (${b.length} bytes)`);
  const version = u16(b, 0x206);
  const protocol = `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
  if (version < 0x208) fail('unsupported', `boot protocol ${protocol} has no payload fields (2.08+ needed)`);
  let setupSects = b[0x1f1];
  if (setupSects === 0) setupSects = 4;
  const pmStart = (setupSects + 1) * 512;
  if (pmStart > b.length)
    fail('truncated', `setup code (${setupSects} sectors) runs past the end of the file (${b.length} bytes)`);
  const payloadOffset = u32(b, 0x248);
  const payloadLength = u32(b, 0x24c);
  const start = pmStart + payloadOffset;
  if (start + payloadLength > b.length) {
    fail(
      'truncated',
      `payload (offset ${hex(payloadOffset)}, ${payloadLength} bytes) runs past the end of the file (${b.length} bytes)`,
    );
  }
  if (payloadLength < 8) fail('bad-bzimage', `payload length ${payloadLength} is too small`);
  const payload = b.subarray(start, start + payloadLength);
  const decompressedSize = u32(payload, payloadLength - 4);
  return {
    info: {
      protocol,
      setupSects,
      payloadFileOffset: start,
      payloadOffset,
      payloadLength,
      decompressedSize,
      kernelVersion: kernelVersion(b, pmStart),
    },
    payload,
  };
}

function kernelVersion(b: Uint8Array, pmStart: number): string | null {
  const ptr = u16(b, 0x20e);
  if (ptr === 0) return null;
  const at = ptr + 0x200;
  if (at >= pmStart || at >= b.length) return null;
  let s = '';
  for (let i = at; i < b.length && i < at + 256 && b[i] !== 0; i++) {
    const c = b[i];
    if (c < 0x20 || c > 0x7e) return null;
    s += String.fromCharCode(c);
  }
  return s || null;
}
