import { readFileSync, statSync } from 'fs';
import { DEFAULT_MAX_OUTPUT, inspectKernelImage, KernelImageError, KernelInspection } from '@fleetcompat/kernel-notes';
import { CliError, ExitCode } from '../io';

/** Largest image file read (a bzImage is 5-20 MiB, a vmlinux up to ~100 MiB). */
export const MAX_IMAGE_BYTES = 512 * 1024 * 1024;

/** Parses --max-decompressed-mib: a positive number of MiB, default 256. */
export function maxDecompressed(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_OUTPUT;
  const mib = Number(value);
  if (!Number.isFinite(mib) || mib <= 0 || mib > 4096)
    throw new CliError(
      ExitCode.usage,
      `--max-decompressed-mib must be a number of MiB between 1 and 4096, got "${value}"`,
    );
  return Math.floor(mib * 1024 * 1024);
}

/** Reads and inspects the image at `path`; every failure is a CliError with a one-line message. */
export function readAndInspect(path: string, maxDecompressedBytes: number): KernelInspection {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new CliError(ExitCode.badInput, `${path}: is a directory, not a kernel image`);
    if (st.size > MAX_IMAGE_BYTES)
      throw new CliError(
        ExitCode.badInput,
        `${path}: ${st.size} bytes is larger than any kernel image (limit ${MAX_IMAGE_BYTES})`,
      );
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new CliError(ExitCode.badInput, `${path}: cannot read: ${why}`);
  }
  try {
    return inspectKernelImage(bytes, { maxDecompressedBytes });
  } catch (e) {
    if (e instanceof KernelImageError) throw new CliError(ExitCode.badInput, `${path}: ${e.message} [${e.code}]`);
    throw new CliError(ExitCode.badInput, `${path}: ${(e as Error)?.message ?? String(e)}`);
  }
}
