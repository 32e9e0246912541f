import { liblzmaDecode } from './liblzma';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

export function isXz(b: Uint8Array): boolean {
  return b.length >= 6 && MAGIC.every((m, i) => b[i] === m);
}

/** One .xz stream (Linux's xz_wrap.sh: CRC32 check, x86 BCJ filter, LZMA2), by liblzma. */
export function decompressXz(input: Uint8Array, maxOutput: number, sizeHint?: number): Uint8Array {
  return liblzmaDecode('xz', input, maxOutput, sizeHint);
}
