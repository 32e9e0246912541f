/// <reference path="./lzma-native.d.ts" />
import { Stream } from 'lzma-native';
import { fail, KernelImageError } from '../errors';
import { BoundedOutput } from './output';

/*
 * xz and legacy .lzma through liblzma (the lzma-native binding, whose prebuilt N-API binary
 * carries liblzma), run synchronously. The decompression cap is kept by feeding the input in
 * small slices and checking the output after each: liblzma cannot expand a slice by more
 * than about 7,000 times (measured on zeros, the best case), so the output passes the cap by
 * at most ~30 MB before it is refused. The decoder's own memory (its dictionary) is limited
 * by MEMLIMIT: Linux uses a 32 MiB dictionary at most.
 */

/** Input slice: 4 KiB, so that one call can never produce more than ~30 MB. */
const SLICE = 4096;
/** liblzma's memory limit for the decoder (dictionary and state). */
export const MEMLIMIT = 256 * 1024 * 1024;

const CODES: Record<string, [KernelImageError['code'], string]> = {
  LZMA_DATA_ERROR: ['corrupt-data', 'compressed data is corrupt'],
  LZMA_FORMAT_ERROR: ['corrupt-data', 'not in this format'],
  LZMA_OPTIONS_ERROR: ['unsupported', 'unsupported options (filter, check or header flags)'],
  LZMA_BUF_ERROR: ['truncated', 'compressed data is truncated'],
  LZMA_MEMLIMIT_ERROR: ['too-large', `the decoder needs more than ${MEMLIMIT} bytes of memory (dictionary too large)`],
  LZMA_MEM_ERROR: ['too-large', 'the decoder cannot allocate memory'],
  LZMA_UNSUPPORTED_CHECK: ['unsupported', 'unsupported integrity check'],
};

export function liblzmaDecode(
  kind: 'xz' | 'lzma',
  input: Uint8Array,
  maxOutput: number,
  sizeHint?: number,
): Uint8Array {
  const out = new BoundedOutput(maxOutput, kind, sizeHint && sizeHint > 0 ? sizeHint : 1 << 20);
  const stream = new Stream();
  let ended = false;
  let error: { name?: string; message?: string; toString(): string } | null = null; // an Error, or liblzma's error object
  let overflow = false;
  stream.bufferHandler = (buf, _processed, err) => {
    if (err) error = err;
    else if (buf === null) ended = true;
    else if (buf && !overflow) {
      if (out.pos + buf.length > maxOutput) overflow = true;
      else out.push(buf);
    }
  };
  try {
    // flags 0: one stream, no LZMA_CONCATENATED (Linux's size trailer follows it)
    if (kind === 'xz') stream.streamDecoder({ memlimit: MEMLIMIT, flags: 0 });
    else stream.aloneDecoder({ memlimit: MEMLIMIT });
    for (let pos = 0; pos < input.length && !ended && !error && !overflow; pos += SLICE) {
      stream.code(input.subarray(pos, Math.min(input.length, pos + SLICE)), false);
    }
    if (!ended && !error && !overflow) stream.code(null, false);
  } catch (e) {
    if (e instanceof KernelImageError) throw e;
    error = e as Error;
  } finally {
    if (!ended) {
      try {
        stream.resetUnderlying();
      } catch {
        /* already released */
      }
    }
  }
  if (overflow) out.tooLarge();
  if (error) {
    const name = (error as { name?: string }).name ?? '';
    const [code, what] = CODES[name] ?? ['corrupt-data', error.message ?? String(error)];
    fail(code, `${kind}: ${what} (liblzma ${name || 'error'})`);
  }
  if (!ended) fail('truncated', `${kind}: compressed data is truncated`);
  return out.result();
}
