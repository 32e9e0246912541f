export * from './errors';
export * from './elf';
export * from './notes';
export * from './bzimage';
export * from './inspect';
export * from './libelf';
export type { Compression } from './decompress';
export { COMPRESSIONS, decompress, detectCompression, DEFAULT_MAX_OUTPUT, crc32 } from './decompress';
