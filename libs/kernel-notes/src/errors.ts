/**
 * Every failure to read a kernel image is a KernelImageError with a stable code. Hostile or
 * broken input never escapes as another kind of exception: `inspectKernelImage` converts
 * anything else it meets (a RangeError from a decoder, say) into `internal`.
 */
export type KernelImageErrorCode =
  | 'empty'
  | 'unknown-format'
  | 'truncated'
  | 'bad-elf'
  | 'bad-bzimage'
  | 'bad-notes'
  | 'corrupt-data'
  | 'unsupported'
  | 'too-large'
  | 'internal';

export class KernelImageError extends Error {
  constructor(
    readonly code: KernelImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KernelImageError';
  }
}

export function fail(code: KernelImageErrorCode, message: string): never {
  throw new KernelImageError(code, message);
}

export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}
