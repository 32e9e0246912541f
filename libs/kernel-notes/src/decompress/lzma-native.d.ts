/*
 * The part of lzma-native (liblzma binding) that kernel-notes uses: its native stream class,
 * driven synchronously. `code(chunk, false)` runs lzma_code() on the chunk in the calling
 * thread and then calls `bufferHandler` with each output buffer, then once with
 * (null, undefined, error-or-null) when the stream ended or failed; `code(null, false)`
 * finishes the input (LZMA_FINISH). This is the class lzma-native's own stream wrapper drives.
 */
declare module 'lzma-native' {
  interface LzmaError extends Error {
    /** e.g. "LZMA_DATA_ERROR" */
    readonly name: string;
    readonly code: number;
    readonly desc?: string;
  }
  class Stream {
    constructor();
    streamDecoder(options: { memlimit?: number | null; flags?: number }): void;
    aloneDecoder(options: { memlimit?: number | null }): void;
    code(chunk: Uint8Array | null, async: boolean): void;
    setBufsize(n: number): number;
    resetUnderlying(): void;
    bufferHandler: (
      buf: Buffer | null | undefined,
      processedChunks: number | undefined,
      err: LzmaError | null | undefined,
    ) => void;
  }
  function versionString(): string;
}
