import { fail, hex } from './errors';

/*
 * The ELF image as Xen's libelf sees it (xen/common/libelf/libelf-loader.c elf_init,
 * libelf-tools.c). libelf is not an ELF validator: it accepts any file of at least an
 * Elf32_Ehdr (52 bytes) with the magic whose program and section header tables end inside
 * the file, and reads every field through elf_access_unsigned(): a read outside the image
 * gives 0 and marks the ELF "broken" (a message the toolstack only logs). This module does
 * the same, so that whatever libelf reads, this reads the same way:
 *
 *  - class: 64-bit only when e_ident[EI_CLASS] is 2, anything else reads as 32-bit;
 *  - byte order: little-endian only when e_ident[EI_DATA] is 1 (libelf swaps whenever the
 *    data encoding is not the host's, and Xen's hosts are little-endian);
 *  - e_ident[EI_VERSION], e_type and e_version are not looked at;
 *  - e_phentsize and e_shentsize are only strides (no minimum);
 *  - refused: fewer than 52 bytes, e_phoff + e_phentsize * e_phnum past the end, or
 *    e_shoff + e_shentsize * min(e_shnum, size / 40) past the end (64-bit arithmetic,
 *    wrapping as in C).
 *
 * Positions are offsets from the start of the image. libelf works on pointers; an offset
 * computed modulo 2^64 and compared with the image size is the same test as libelf's
 * pointer range check (elf_ptrval_in_range), because the image itself never wraps.
 */

export const PT_NOTE = 4;
export const PT_LOAD = 1;
export const SHT_NOTE = 7;
export const EM_386 = 3;
export const EM_X86_64 = 62;
export const EM_ARM = 40;

/** sizeof(Elf32_Ehdr): libelf's elf_is_elfbinary() wants at least this many bytes. */
export const ELF32_EHDR_SIZE = 52;
/** sizeof(Elf32_Shdr): elf_shdr_count() caps e_shnum at size / 40. */
const ELF32_SHDR_SIZE = 40;
const U64 = 1n << 64n;
const MASK64 = U64 - 1n;

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

/** A 64-bit position or size as a JS number; past 2^53 (never inside an image) as Infinity. */
export function toPos(v: bigint): number {
  const w = v & MASK64;
  return w > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(w);
}

/** A note table: a PT_NOTE segment or an SHT_NOTE section, as [start, end) offsets mod 2^64. */
export interface NoteRegion {
  readonly kind: 'PT_NOTE' | 'SHT_NOTE';
  /** Program header or section header index. */
  readonly index: number;
  readonly start: bigint;
  readonly end: bigint;
  /** For messages: "PT_NOTE segment #3", "SHT_NOTE section .notes". */
  readonly label: string;
}

/**
 * The image with libelf's accessors. Every read is range-checked against the whole image
 * (not against the note table or section it belongs to), 0 outside it, as libelf does.
 */
export class ElfImage {
  readonly size: number;
  readonly is64: boolean;
  readonly littleEndian: boolean;
  readonly identClass: number;
  readonly identData: number;
  /** libelf's elf->broken: the first elf_mark_broken() message, or null. */
  broken: string | null = null;
  private readonly view: DataView;
  /** When false, failed reads do not mark the image broken (reads libelf itself does not do). */
  private marking = true;

  constructor(readonly bytes: Uint8Array) {
    this.size = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.identClass = bytes[4];
    this.identData = bytes[5];
    this.is64 = this.identClass === 2;
    this.littleEndian = this.identData === 1;
  }

  markBroken(msg: string): void {
    if (this.marking && this.broken === null) this.broken = msg;
  }

  /** Runs `f` without marking the image broken: for reads the CLI makes and libelf does not. */
  quietly<T>(f: () => T): T {
    const was = this.marking;
    this.marking = false;
    try {
      return f();
    } finally {
      this.marking = was;
    }
  }

  /** elf_access_ok: [pos, pos + n) inside the image. */
  accessOk(pos: number, n: number): boolean {
    if (Number.isFinite(pos) && pos >= 0 && pos <= this.size && n <= this.size - pos) return true;
    this.markBroken('out of range access');
    return false;
  }

  /** elf_access_unsigned: an n-byte unsigned (1, 2, 4, 8) at pos, 0 when outside the image. */
  uint(pos: number, n: number): bigint {
    if (!this.accessOk(pos, n)) return 0n;
    switch (n) {
      case 1:
        return BigInt(this.bytes[pos]);
      case 2:
        return BigInt(this.view.getUint16(pos, this.littleEndian));
      case 4:
        return BigInt(this.view.getUint32(pos, this.littleEndian));
      case 8:
        return this.view.getBigUint64(pos, this.littleEndian);
      default:
        return 0n;
    }
  }

  u32(pos: number): number {
    if (!this.accessOk(pos, 4)) return 0;
    return this.view.getUint32(pos, this.littleEndian);
  }

  /** A field of the class's width: 4 bytes in a 32-bit ELF, 8 in a 64-bit one. */
  word(pos: number, off32: number, off64: number): bigint {
    return this.is64 ? this.uint(pos + off64, 8) : this.uint(pos + off32, 4);
  }

  /**
   * elf_strval: the NUL-terminated string at pos, however long its note says it is; null
   * when it runs out of the image or past ELF_MAX_STRING_LENGTH (4096) characters.
   */
  strval(pos: number): Uint8Array | null {
    for (let len = 0; ; len++) {
      if (!this.accessOk(pos + len, 1)) return null;
      if (this.bytes[pos + len] === 0) return this.bytes.subarray(pos, pos + len);
      if (len >= 4096) {
        this.markBroken('excessively long string');
        return null;
      }
    }
  }
}

export interface ElfHeader {
  readonly machine: number;
  readonly entry: bigint;
  readonly phoff: bigint;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shoff: bigint;
  readonly shentsize: number;
  /** min(e_shnum, size / 40), as elf_shdr_count() gives it. */
  readonly shnum: number;
  readonly shstrndx: number;
}

export interface ElfFile {
  readonly image: ElfImage;
  readonly bytes: Uint8Array;
  readonly class: 32 | 64;
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly header: ElfHeader;
  /** File offset of the section name string table (libelf's sec_strtab), or null. */
  readonly secStrtab: number | null;
}

/** elf_init(): refuses only what libelf refuses. */
export function parseElf(bytes: Uint8Array): ElfFile {
  if (!isElf(bytes)) fail('bad-elf', 'not an ELF file (bad magic)');
  if (bytes.length < ELF32_EHDR_SIZE)
    fail('truncated', `ELF header is truncated (${bytes.length} of ${ELF32_EHDR_SIZE} bytes)`);
  const img = new ElfImage(bytes);
  const is64 = img.is64;
  const u16 = (o32: number, o64: number) => Number(img.uint(is64 ? o64 : o32, 2));
  const machine = u16(18, 18);
  const entry = img.word(0, 24, 24);
  const phoff = img.word(0, 28, 32);
  const shoff = img.word(0, 32, 40);
  const phentsize = u16(42, 54);
  const phnum = u16(44, 56);
  const shentsize = u16(46, 58);
  let shnum = u16(48, 60);
  const shstrndx = u16(50, 62);
  const maxSh = Math.floor(bytes.length / ELF32_SHDR_SIZE);
  if (shnum > maxSh) {
    img.markBroken('far too many section headers');
    shnum = maxSh;
  }
  const size = BigInt(bytes.length);
  const phEnd = (phoff + BigInt(phentsize) * BigInt(phnum)) & MASK64;
  if (phEnd > size)
    fail(
      'truncated',
      `program headers (${phnum} of ${phentsize} bytes at ${hex(phoff)}) run past the end of the file (${bytes.length} bytes)`,
    );
  const shEnd = (shoff + BigInt(shentsize) * BigInt(shnum)) & MASK64;
  if (shEnd > size)
    fail(
      'truncated',
      `section headers (${shnum} of ${shentsize} bytes at ${hex(shoff)}) run past the end of the file (${bytes.length} bytes)`,
    );
  const header: ElfHeader = { machine, entry, phoff, phentsize, phnum, shoff, shentsize, shnum, shstrndx };
  let elf: ElfFile = {
    image: img,
    bytes,
    class: is64 ? 64 : 32,
    littleEndian: img.littleEndian,
    machine,
    header,
    secStrtab: null,
  };
  // elf_init: the section name table, when e_shstrndx names a section header
  if (shstrndx < shnum) elf = { ...elf, secStrtab: toPos(img.word(shdrPos(elf, shstrndx), 16, 24)) };
  // elf_init: the symbol table search (it only matters here for the reads it makes)
  for (let i = 1; i < shnum; i++) {
    const sh = shdrPos(elf, i);
    if (!img.accessOk(sh, 1)) break;
    if (img.u32(sh + 4) !== 2 /* SHT_SYMTAB */) continue;
    const link = img.u32(sh + (is64 ? 40 : 24));
    if (link === 0 || link >= shnum) break;
    img.word(shdrPos(elf, link), 16, 24);
    break;
  }
  return elf;
}

/** Offset of program header i (elf_phdr_by_index). */
export function phdrPos(elf: ElfFile, i: number): number {
  return toPos(elf.header.phoff + BigInt(elf.header.phentsize) * BigInt(i));
}

/** Offset of section header i (elf_shdr_by_index). */
export function shdrPos(elf: ElfFile, i: number): number {
  return toPos(elf.header.shoff + BigInt(elf.header.shentsize) * BigInt(i));
}

/**
 * The PT_NOTE segments in the order elf_xen_parse() walks them: every program header up to
 * e_phnum, stopping at the first one that starts outside the image; p_offset 0 is skipped
 * ("some versions of binutils do not correctly set p_offset for note segments"). The end is
 * p_offset + p_filesz: p_align plays no part.
 */
export function noteSegments(elf: ElfFile): NoteRegion[] {
  const img = elf.image;
  const out: NoteRegion[] = [];
  for (let i = 0; i < elf.header.phnum; i++) {
    const ph = phdrPos(elf, i);
    if (!img.accessOk(ph, 1)) break;
    if (img.u32(ph) !== PT_NOTE) continue;
    const offset = img.word(ph, 4, 8);
    if (offset === 0n) continue;
    const filesz = img.word(ph, 16, 32);
    out.push({
      kind: 'PT_NOTE',
      index: i,
      start: offset,
      end: (offset + filesz) & MASK64,
      label: `PT_NOTE segment #${i}`,
    });
  }
  return out;
}

/** The SHT_NOTE sections as elf_xen_parse() walks them: from index 1, stopping outside the image. */
export function noteSections(elf: ElfFile): NoteRegion[] {
  const img = elf.image;
  const out: NoteRegion[] = [];
  for (let i = 1; i < elf.header.shnum; i++) {
    const sh = shdrPos(elf, i);
    if (!img.accessOk(sh, 1)) break;
    if (img.u32(sh + 4) !== SHT_NOTE) continue;
    const offset = img.word(sh, 16, 24);
    const size = img.word(sh, 20, 32);
    const name = img.quietly(() => sectionName(elf, sh));
    out.push({
      kind: 'SHT_NOTE',
      index: i,
      start: offset,
      end: (offset + size) & MASK64,
      label: `SHT_NOTE section ${name || '#' + i}`,
    });
  }
  return out;
}

/** elf_section_name: the name of the section whose header is at `sh`, or null. */
export function sectionName(elf: ElfFile, sh: number): string | null {
  if (elf.secStrtab === null) return 'unknown';
  const s = elf.image.strval(elf.secStrtab + elf.image.u32(sh));
  return s ? Buffer.from(s).toString('latin1') : null;
}

/** elf_shdr_by_name: the first section from index 1 with this name, as its file offset and size. */
export function sectionByName(elf: ElfFile, name: string): { offset: number; size: number; index: number } | null {
  const img = elf.image;
  for (let i = 1; i < elf.header.shnum; i++) {
    const sh = shdrPos(elf, i);
    if (!img.accessOk(sh, 1)) break;
    if (sectionName(elf, sh) === name)
      return { offset: toPos(img.word(sh, 16, 24)), size: toPos(img.word(sh, 20, 32)), index: i };
  }
  return null;
}
