import { ElfFile, ElfImage, NoteRegion, toPos } from './elf';
import { hex } from './errors';

/*
 * Notes as Xen's libelf walks them (libelf-tools.c elf_note_next, elf_note_name,
 * elf_note_desc; libelf-dominfo.c elf_xen_parse_notes), which is not quite the ELF spec:
 *
 *  - the note header is 12 bytes in 32- and 64-bit ELF alike, and the name and the payload
 *    are each padded to 4 bytes, whatever p_align or sh_addralign says (GRUB's x86_64-xen
 *    image has p_align 8; an 8-byte reading of it goes wrong from the first note on);
 *  - a note is read while its start is before the end of the table (p_offset + p_filesz):
 *    its header, name and payload may run past that end, and are read from whatever follows
 *    in the image (GRUB's i386-xen image declares a 12-byte "yes" as its last payload, 8
 *    bytes past the end of its segment and of the file);
 *  - every read is checked against the whole image only: outside it a number reads as 0 and
 *    a string as missing;
 *  - the owner name is the NUL-terminated string after the header, whatever namesz says, and
 *    must be exactly "Xen" (strcmp): "xen", "Xen " or "XEN" are other owners, ignored;
 *  - string payloads are read up to their NUL, even past descsz, at most 4096 characters;
 *  - after 65536 notes in all (ELF_MAX_TOTAL_NOTE_COUNT) the walk stops.
 */

/** One ELF note as libelf finds it. */
export interface RawNote {
  readonly owner: string;
  readonly type: number;
  readonly namesz: number;
  readonly descsz: number;
  /** File offset of the note header and of its payload (offset + 12 + namesz rounded up to 4). */
  readonly offset: number;
  readonly descOffset: number;
  /** The payload bytes that are inside the image (fewer than descsz when it runs past the end). */
  readonly desc: Uint8Array;
  readonly source: string;
}

/**
 * Where the image is taken to be mapped, for libelf's pointer comparisons (note < end). Only
 * tables whose offset or end is within 2^47 of 2^64 are concerned: their end pointer wraps
 * around and libelf reads nothing there. Linux maps a toolstack's image (readnotes' mmap,
 * libxc's decompressed kernel) near 0x7f0000000000.
 */
export const IMAGE_BASE = 0x7f0000000000n;
const MASK64 = (1n << 64n) - 1n;

/** ELF_MAX_TOTAL_NOTE_COUNT: libelf stops after this many notes over all tables. */
export const MAX_TOTAL_NOTES = 65536;

/** (n + 3) & ~3 in 32-bit unsigned arithmetic, as libelf rounds namesz and descsz. */
function round4(n: number): number {
  return (((n + 3) >>> 0) & ~3) >>> 0;
}

/**
 * Walks one note table as elf_xen_parse_notes() does, calling `visit` for each note whose
 * name can be read; `visit` returns false to stop (libelf stops at a note it cannot parse).
 * `counter.total` counts notes over all tables, as libelf's total_note_count does.
 */
export function walkNotes(
  elf: ElfFile,
  region: NoteRegion,
  counter: { total: number },
  visit: (note: RawNote) => boolean | void,
): void {
  const img = elf.image;
  // positions as numbers while they are safe integers (always, inside an image), else bigint
  if (region.start < BigInt(Number.MAX_SAFE_INTEGER) && region.end < BigInt(Number.MAX_SAFE_INTEGER)) {
    walkFrom(Number(region.start), Number(region.end));
    return;
  }
  // libelf compares pointers: with offsets this large, where the image is mapped matters
  let p = (IMAGE_BASE + region.start) & MASK64;
  const end = (IMAGE_BASE + region.end) & MASK64;
  while (p < end) {
    if (counter.total >= MAX_TOTAL_NOTES) {
      img.markBroken('too many ELF notes');
      return;
    }
    counter.total++;
    const pos = toPos(p - IMAGE_BASE);
    if (!step(pos)) return;
    const namesz = img.u32(pos);
    const descsz = img.u32(pos + 4);
    // elf_note_next: a pointer that wraps (or does not move) ends the walk
    const next = p + 12n + BigInt(round4(namesz)) + BigInt(round4(descsz));
    if (next > MASK64 || next <= p || !img.accessOk(pos, 1)) return;
    p = next;
  }

  function walkFrom(start: number, end: number): void {
    for (let pos = start; pos < end;) {
      if (counter.total >= MAX_TOTAL_NOTES) {
        img.markBroken('too many ELF notes');
        return;
      }
      counter.total++;
      if (!step(pos)) return;
      const namesz = img.u32(pos);
      const descsz = img.u32(pos + 4);
      const next = pos + 12 + round4(namesz) + round4(descsz);
      if (!img.accessOk(pos, 1)) return;
      pos = next;
    }
  }

  /** One note at pos: visit it when its name reads; false to stop. */
  function step(pos: number): boolean {
    const name = img.strval(pos + 12);
    if (name === null) return true;
    const namesz = img.u32(pos);
    const descsz = img.u32(pos + 4);
    const descOffset = pos + 12 + round4(namesz);
    const inImage = Math.max(0, Math.min(descsz, img.size - descOffset));
    const isXen = name.length === 3 && name[0] === 0x58 && name[1] === 0x65 && name[2] === 0x6e;
    const note: RawNote = {
      owner: isXen ? 'Xen' : Buffer.from(name).toString('latin1'),
      // libelf reads the type of "Xen" notes only (a failed read marks the ELF broken)
      type: isXen ? img.u32(pos + 8) : img.quietly(() => img.u32(pos + 8)),
      namesz,
      descsz,
      offset: pos,
      descOffset,
      desc: descOffset < img.size ? img.bytes.subarray(descOffset, descOffset + inImage) : new Uint8Array(0),
      source: region.label,
    };
    return visit(note) !== false;
  }
}

/** Every note of a table (libelf's walk, without its side effects on the image's broken flag). */
export function readNotes(elf: ElfFile, region: NoteRegion): RawNote[] {
  const notes: RawNote[] = [];
  elf.image.quietly(() => walkNotes(elf, region, { total: 0 }, (n) => void notes.push(n)));
  return notes;
}

/* ---------------------------------------------------------------- Xen notes */

export type XenNoteKind = 'string' | 'numeric' | 'l1-mfn-valid' | 'bitmap' | 'phys32-reloc';

/** The Xen note types of xen/include/public/elfnote.h, with how each payload is read. */
export const XEN_NOTE_TYPES: Readonly<Record<number, { name: string; kind: XenNoteKind }>> = {
  0: { name: 'INFO', kind: 'string' },
  1: { name: 'ENTRY', kind: 'numeric' },
  2: { name: 'HYPERCALL_PAGE', kind: 'numeric' },
  3: { name: 'VIRT_BASE', kind: 'numeric' },
  4: { name: 'PADDR_OFFSET', kind: 'numeric' },
  5: { name: 'XEN_VERSION', kind: 'string' },
  6: { name: 'GUEST_OS', kind: 'string' },
  7: { name: 'GUEST_VERSION', kind: 'string' },
  8: { name: 'LOADER', kind: 'string' },
  9: { name: 'PAE_MODE', kind: 'string' },
  10: { name: 'FEATURES', kind: 'string' },
  11: { name: 'BSD_SYMTAB', kind: 'string' },
  12: { name: 'HV_START_LOW', kind: 'numeric' },
  13: { name: 'L1_MFN_VALID', kind: 'l1-mfn-valid' },
  14: { name: 'SUSPEND_CANCEL', kind: 'numeric' },
  15: { name: 'INIT_P2M', kind: 'numeric' },
  16: { name: 'MOD_START_PFN', kind: 'numeric' },
  17: { name: 'SUPPORTED_FEATURES', kind: 'bitmap' },
  18: { name: 'PHYS32_ENTRY', kind: 'numeric' },
  19: { name: 'PHYS32_RELOC', kind: 'phys32-reloc' },
};

export const XEN_NOTE = {
  INFO: 0,
  ENTRY: 1,
  HYPERCALL_PAGE: 2,
  VIRT_BASE: 3,
  PADDR_OFFSET: 4,
  XEN_VERSION: 5,
  GUEST_OS: 6,
  GUEST_VERSION: 7,
  LOADER: 8,
  PAE_MODE: 9,
  FEATURES: 10,
  BSD_SYMTAB: 11,
  HV_START_LOW: 12,
  L1_MFN_VALID: 13,
  SUSPEND_CANCEL: 14,
  INIT_P2M: 15,
  MOD_START_PFN: 16,
  SUPPORTED_FEATURES: 17,
  PHYS32_ENTRY: 18,
  PHYS32_RELOC: 19,
} as const;

/** XENFEAT bit names (xen/include/public/features.h); bit 12 is deprecated and unnamed. */
export const XENFEAT_NAMES: Readonly<Record<number, string>> = {
  0: 'writable_page_tables',
  1: 'writable_descriptor_tables',
  2: 'auto_translated_physmap',
  3: 'supervisor_mode_kernel',
  4: 'pae_pgdir_above_4gb',
  5: 'mmu_pt_update_preserve_ad',
  6: 'highmem_assist',
  7: 'gnttab_map_avail_bits',
  8: 'hvm_callback_vector',
  9: 'hvm_safe_pvclock',
  10: 'hvm_pirqs',
  11: 'dom0',
  13: 'memory_op_vnode_supported',
  14: 'ARM_SMCCC_supported',
  15: 'linux_rsdp_unrestricted',
  16: 'not_direct_mapped',
  17: 'direct_mapped',
  18: 'runstate_phys_area',
  19: 'vcpu_time_phys_area',
  20: 'dm_msix_all_writes',
};

/** The names of the bits set in a SUPPORTED_FEATURES bitmap; unnamed bits as "bit_N". */
export function decodeXenFeatures(bitmap: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if ((bitmap >>> bit) & 1) names.push(XENFEAT_NAMES[bit] ?? `bit_${bit}`);
  }
  return names;
}

/**
 * One decoded Xen note: the value libelf (or, for the notes libelf does not read, Xen's
 * readnotes) takes from it. Numbers that may exceed 2^53 are hex strings. `remark` says where
 * libelf's reading is not the obvious one (a payload size it reads as 0, a string that runs
 * past its payload).
 */
export type XenNote =
  | { type: number; name: string; kind: 'string'; value: string; remark?: string }
  | { type: number; name: string; kind: 'numeric'; value: string; size: number; remark?: string }
  | { type: number; name: string; kind: 'l1-mfn-valid'; pairs: { mask: string; value: string }[]; size: number }
  | {
      type: number;
      name: string;
      kind: 'bitmap';
      value: number;
      features: string[];
      size: number;
      extra?: number[];
      remark?: string;
    }
  | {
      type: number;
      name: string;
      kind: 'phys32-reloc';
      align?: number;
      min?: number;
      max?: number;
      size: number;
      remark?: string;
    }
  | { type: number; name: string; kind: 'raw'; raw: string; size: number; error?: string };

function toHex(desc: Uint8Array): string {
  return Buffer.from(desc.buffer, desc.byteOffset, desc.byteLength).toString('hex');
}

function uint(desc: Uint8Array, off: number, size: number, le: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const b = BigInt(desc[off + (le ? size - 1 - i : i)]);
    v = (v << 8n) | b;
  }
  return v;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function cString(desc: Uint8Array): string {
  let end = desc.indexOf(0);
  if (end < 0) end = desc.length;
  return utf8.decode(desc.subarray(0, end));
}

const NUMERIC_SIZES = [1, 2, 4, 8];

/**
 * Decodes a note of owner "Xen" as libelf reads it (elf_xen_parse_note, elf_note_numeric,
 * elf_note_numeric_array, elf_strval), reading from the image, not only from the payload.
 */
export function decodeXenNote(img: ElfImage, note: RawNote): XenNote {
  const info = XEN_NOTE_TYPES[note.type];
  const size = note.descsz;
  const at = note.descOffset;
  const name = info?.name ?? `UNKNOWN_${note.type}`;
  const raw = (error?: string): XenNote => ({
    type: note.type,
    name,
    kind: 'raw',
    raw: toHex(note.desc.subarray(0, 4096)),
    size,
    ...(error ? { error } : {}),
  });
  if (!info) return raw();
  const inImage = (off: number, n: number) => img.quietly(() => img.accessOk(off, n));
  /** elf_note_numeric_array(note, unit, idx) */
  const arr = (unit: number, idx: number): number =>
    size % unit !== 0 || idx >= size / unit ? 0 : Number(img.uint(at + idx * unit, unit));
  switch (info.kind) {
    case 'string': {
      const s = img.strval(at);
      if (s === null)
        return raw('the string has no NUL inside the image within 4096 characters: libelf ignores the note');
      const remark =
        s.length >= size
          ? `no NUL inside the ${size}-byte payload: libelf reads the string on to the NUL at ${hex(at + s.length)}`
          : undefined;
      return { type: note.type, name, kind: 'string', value: utf8.decode(s), ...(remark ? { remark } : {}) };
    }
    case 'numeric': {
      if (!NUMERIC_SIZES.includes(size)) {
        return {
          type: note.type,
          name,
          kind: 'numeric',
          value: '0x0',
          size,
          remark: `a ${size}-byte payload (not 1, 2, 4 or 8): libelf reads 0`,
        };
      }
      const ok = inImage(at, size);
      const value = img.uint(at, size);
      return {
        type: note.type,
        name,
        kind: 'numeric',
        value: hex(value),
        size,
        ...(ok ? {} : { remark: 'the payload is outside the image: libelf reads 0' }),
      };
    }
    case 'l1-mfn-valid': {
      // libelf does not read it; readnotes prints one (mask, value) pair of descsz/2 bytes each
      const half = Math.floor(size / 2);
      const width = half === 8 || half === 4 ? half : size > 0 && size % 16 === 0 ? 8 : 0;
      if (width === 0) return raw(`L1_MFN_VALID payload of ${size} bytes is not (mask, value) pairs`);
      const pairs: { mask: string; value: string }[] = [];
      const count = half === width ? 1 : Math.min(64, size / 16);
      for (let i = 0; i < count; i++) {
        const o = at + 2 * width * i;
        pairs.push({ mask: hex(img.uint(o, width)), value: hex(img.uint(o + width, width)) });
      }
      return { type: note.type, name, kind: 'l1-mfn-valid', pairs, size };
    }
    case 'bitmap': {
      // XENFEAT_NR_SUBMAPS is 1: libelf ORs the first u32 into f_supported, 0 when descsz % 4
      const value = arr(4, 0) >>> 0;
      const extra: number[] = [];
      for (let i = 1; i < size / 4 && size % 4 === 0 && extra.length < 64; i++) extra.push(arr(4, i) >>> 0);
      const remark =
        size % 4 !== 0 || size === 0
          ? `a ${size}-byte payload (not a multiple of 4): libelf reads no feature bits`
          : extra.length
            ? `libelf reads the first 32 bits only (XENFEAT_NR_SUBMAPS is 1)`
            : undefined;
      return {
        type: note.type,
        name,
        kind: 'bitmap',
        value,
        features: decodeXenFeatures(value),
        size,
        ...(extra.length ? { extra } : {}),
        ...(remark ? { remark } : {}),
      };
    }
    case 'phys32-reloc': {
      const out: XenNote = { type: note.type, name, kind: 'phys32-reloc', size };
      if (size >= 4) out.align = arr(4, 0);
      if (size >= 8) out.min = arr(4, 1);
      if (size >= 12) out.max = arr(4, 2);
      if (size % 4 !== 0) out.remark = `a ${size}-byte payload (not a multiple of 4): libelf reads 0 for each value`;
      else if (size > 12) out.remark = 'libelf reads the first three u32 only';
      else if (size < 4) out.remark = 'no values: libelf keeps its defaults (align 0x200000, min 0, max 0xffffffff)';
      return out;
    }
  }
}

/* ---------------------------------------------------------------- Linux and GNU notes */

/** Linux's build-salt note (include/linux/build-salt.h): distributions set it to the release. */
export const LINUX_ELFNOTE_BUILD_SALT = 0x100;
export const NT_GNU_BUILD_ID = 3;

export { cString, toHex, uint };
