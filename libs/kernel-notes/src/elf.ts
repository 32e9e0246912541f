import { fail, hex } from './errors';

/*
 * A minimal, defensive ELF reader: the header, program headers and section headers, enough
 * to find note data. Every offset and size read from the file is checked against the file
 * before use; counts are bounded by what the file can hold.
 */

export const PT_NOTE = 4;
export const SHT_NOTE = 7;

export interface ElfRegion {
  /** File offset and size of the note data. */
  readonly offset: number;
  readonly size: number;
  /** Note alignment: 4 (the usual, and what Linux uses) or 8. */
  readonly align: 4 | 8;
  /** Where it came from, for messages: "PT_NOTE #2" or "SHT_NOTE .notes". */
  readonly label: string;
}

export interface ElfFile {
  readonly bytes: Uint8Array;
  readonly class: 32 | 64;
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly noteSegments: readonly ElfRegion[];
  /** SHT_NOTE sections, read only when asked (the fallback when segments have no Xen notes). */
  noteSections(): readonly ElfRegion[];
}

const MACHINES: Record<number, string> = {
  3: 'i386',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  40: 'arm',
  62: 'x86_64',
  183: 'aarch64',
  243: 'riscv',
};

export function machineName(machine: number): string {
  return MACHINES[machine] ?? `machine-${machine}`;
}

export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

/** Reads fixed-size integers in the file's byte order, failing (not throwing RangeError) past the end. */
export class ByteReader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private check(off: number, n: number): void {
    if (!(off >= 0 && off + n <= this.bytes.length)) fail('truncated', `${this.what}: read of ${n} bytes at ${hex(off)} is past the end (${this.bytes.length} bytes)`);
  }
  u8(off: number): number {
    this.check(off, 1);
    return this.bytes[off];
  }
  u16(off: number): number {
    this.check(off, 2);
    return this.view.getUint16(off, this.littleEndian);
  }
  u32(off: number): number {
    this.check(off, 4);
    return this.view.getUint32(off, this.littleEndian);
  }
  u64(off: number): bigint {
    this.check(off, 8);
    return this.view.getBigUint64(off, this.littleEndian);
  }
  /** A 64-bit file offset or size as a number; values past 2^53 are reported as Infinity. */
  u64n(off: number): number {
    const v = this.u64(off);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }
}

export function parseElf(bytes: Uint8Array): ElfFile {
  if (!isElf(bytes)) fail('bad-elf', 'not an ELF file (bad magic)');
  if (bytes.length < 16) fail('truncated', 'ELF identification is truncated');
  const cls = bytes[4];
  const data = bytes[5];
  if (cls !== 1 && cls !== 2) fail('bad-elf', `bad ELF class ${cls}`);
  if (data !== 1 && data !== 2) fail('bad-elf', `bad ELF data encoding ${data}`);
  if (bytes[6] !== 1) fail('bad-elf', `bad ELF version ${bytes[6]}`);
  const is64 = cls === 2;
  const r = new ByteReader(bytes, data === 1, 'ELF header');
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) fail('truncated', `ELF header is truncated (${bytes.length} of ${ehsize} bytes)`);
  const machine = r.u16(18);
  const phoff = is64 ? r.u64n(32) : r.u32(28);
  const shoff = is64 ? r.u64n(40) : r.u32(32);
  const phentsize = r.u16(is64 ? 54 : 42);
  const phnum = r.u16(is64 ? 56 : 44);
  const shentsize = r.u16(is64 ? 58 : 46);
  const shnum = r.u16(is64 ? 60 : 48);
  const shstrndx = r.u16(is64 ? 62 : 50);

  const noteSegments: ElfRegion[] = [];
  if (phnum > 0) {
    const minEnt = is64 ? 56 : 32;
    if (phentsize < minEnt) fail('bad-elf', `program header entry size ${phentsize} is smaller than ${minEnt}`);
    if (phoff + phnum * phentsize > bytes.length) {
      fail('truncated', `program headers (${phnum} at ${hex(phoff)}) run past the end of the file (${bytes.length} bytes)`);
    }
    const pr = new ByteReader(bytes, data === 1, 'program header');
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      if (pr.u32(o) !== PT_NOTE) continue;
      const offset = is64 ? pr.u64n(o + 8) : pr.u32(o + 4);
      const size = is64 ? pr.u64n(o + 32) : pr.u32(o + 16);
      const align = is64 ? pr.u64n(o + 48) : pr.u32(o + 28);
      const label = `PT_NOTE segment #${i}`;
      checkRegion(bytes, offset, size, label);
      noteSegments.push({ offset, size, align: align === 8 ? 8 : 4, label });
    }
  }

  const noteSections = (): ElfRegion[] => {
  const noteSections: ElfRegion[] = [];
  if (shnum > 0 && shoff > 0) {
    const minEnt = is64 ? 64 : 40;
    if (shentsize < minEnt) fail('bad-elf', `section header entry size ${shentsize} is smaller than ${minEnt}`);
    if (shoff + shnum * shentsize > bytes.length) {
      fail('truncated', `section headers (${shnum} at ${hex(shoff)}) run past the end of the file (${bytes.length} bytes)`);
    }
    const sr = new ByteReader(bytes, data === 1, 'section header');
    const shdr = (i: number) => {
      const o = shoff + i * shentsize;
      return {
        name: sr.u32(o),
        type: sr.u32(o + 4),
        offset: is64 ? sr.u64n(o + 24) : sr.u32(o + 16),
        size: is64 ? sr.u64n(o + 32) : sr.u32(o + 20),
        align: is64 ? sr.u64n(o + 48) : sr.u32(o + 32),
      };
    };
    let strtab: { offset: number; size: number } | null = null;
    if (shstrndx < shnum) {
      const s = shdr(shstrndx);
      if (s.offset + s.size <= bytes.length) strtab = s;
    }
    for (let i = 0; i < shnum; i++) {
      const s = shdr(i);
      if (s.type !== SHT_NOTE) continue;
      const name = strtab ? sectionName(bytes, strtab, s.name) : '';
      const label = `SHT_NOTE section ${name || '#' + i}`;
      checkRegion(bytes, s.offset, s.size, label);
      noteSections.push({ offset: s.offset, size: s.size, align: s.align === 8 ? 8 : 4, label });
    }
  }
  return noteSections;
  };
  return { bytes, class: is64 ? 64 : 32, littleEndian: data === 1, machine, noteSegments, noteSections };
}

function checkRegion(bytes: Uint8Array, offset: number, size: number, label: string): void {
  if (!(offset + size <= bytes.length)) {
    fail('truncated', `${label} (offset ${hex(offset)}, ${size} bytes) runs past the end of the file (${bytes.length} bytes)`);
  }
}

function sectionName(bytes: Uint8Array, strtab: { offset: number; size: number }, nameOff: number): string {
  if (nameOff >= strtab.size) return '';
  const start = strtab.offset + nameOff;
  const end = Math.min(strtab.offset + strtab.size, start + 64);
  let s = '';
  for (let i = start; i < end && bytes[i] !== 0; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
