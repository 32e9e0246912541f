import { ByteReader, ElfFile, ElfRegion } from './elf';
import { fail, hex } from './errors';

/** One ELF note as found in the file. */
export interface RawNote {
  readonly owner: string;
  readonly type: number;
  readonly desc: Uint8Array;
  readonly source: string;
}

/** Splits a note region into notes; a note whose header, name or payload runs past the region fails. */
export function readNotes(elf: ElfFile, region: ElfRegion): RawNote[] {
  const r = new ByteReader(elf.bytes, elf.littleEndian, region.label);
  const end = region.offset + region.size;
  const align = region.align;
  const notes: RawNote[] = [];
  let pos = region.offset;
  const round = (n: number) => Math.ceil(n / align) * align;
  while (end - pos >= 12) {
    const namesz = r.u32(pos);
    const descsz = r.u32(pos + 4);
    const type = r.u32(pos + 8);
    const nameAt = pos + 12;
    const descAt = nameAt + round(namesz);
    if (descAt > end) fail('bad-notes', `${region.label}: note name (${namesz} bytes at ${hex(nameAt)}) runs past the end of the notes`);
    if (descAt + descsz > end) {
      fail('bad-notes', `${region.label}: note payload (${descsz} bytes at ${hex(descAt)}) runs past the end of the notes`);
    }
    let owner = '';
    for (let i = 0; i < namesz && i < 64; i++) {
      const c = elf.bytes[nameAt + i];
      if (c === 0) break;
      owner += String.fromCharCode(c);
    }
    notes.push({ owner, type, desc: elf.bytes.subarray(descAt, descAt + descsz), source: region.label });
    pos = descAt + round(descsz);
  }
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

/** One decoded Xen note. Numbers that may exceed 2^53 are hex strings. */
export type XenNote =
  | { type: number; name: string; kind: 'string'; value: string }
  | { type: number; name: string; kind: 'numeric'; value: string; size: number }
  | { type: number; name: string; kind: 'l1-mfn-valid'; pairs: { mask: string; value: string }[]; size: number }
  | { type: number; name: string; kind: 'bitmap'; value: number; features: string[]; extra?: number[] }
  | { type: number; name: string; kind: 'phys32-reloc'; align?: number; min?: number; max?: number }
  | { type: number; name: string; kind: 'raw'; raw: string; error?: string };

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

function cString(desc: Uint8Array): string {
  let end = desc.indexOf(0);
  if (end < 0) end = desc.length;
  return new TextDecoder('utf-8', { fatal: false }).decode(desc.subarray(0, end));
}

/** Decodes a note of owner "Xen" by its type's payload kind; unknown types and bad sizes are kept raw. */
export function decodeXenNote(note: RawNote, littleEndian: boolean): XenNote {
  const desc = note.desc;
  const info = XEN_NOTE_TYPES[note.type];
  const raw = (error?: string): XenNote => ({
    type: note.type,
    name: info?.name ?? `UNKNOWN_${note.type}`,
    kind: 'raw',
    raw: toHex(desc.subarray(0, 4096)),
    ...(error ? { error } : {}),
  });
  if (!info) return raw();
  const { name, kind } = info;
  const size = desc.length;
  switch (kind) {
    case 'string':
      return { type: note.type, name, kind, value: cString(desc) };
    case 'numeric':
      if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return raw(`numeric payload of ${size} bytes (expected 1, 2, 4 or 8)`);
      return { type: note.type, name, kind, value: hex(uint(desc, 0, size, littleEndian)), size };
    case 'l1-mfn-valid': {
      // (mask, value) pairs; a single pair of 4- or 8-byte numbers is what kernels write.
      const width = size === 8 || size === 16 ? size / 2 : size > 0 && size % 16 === 0 ? 8 : 0;
      if (width === 0) return raw(`L1_MFN_VALID payload of ${size} bytes is not (mask, value) pairs`);
      const pairs: { mask: string; value: string }[] = [];
      for (let o = 0; o + 2 * width <= size && pairs.length < 64; o += 2 * width) {
        pairs.push({ mask: hex(uint(desc, o, width, littleEndian)), value: hex(uint(desc, o + width, width, littleEndian)) });
      }
      return { type: note.type, name, kind, pairs, size };
    }
    case 'bitmap': {
      if (size === 0 || size % 4 !== 0) return raw(`SUPPORTED_FEATURES payload of ${size} bytes is not a u32 bitmap`);
      const value = Number(uint(desc, 0, 4, littleEndian));
      const extra: number[] = [];
      for (let o = 4; o + 4 <= size && extra.length < 64; o += 4) extra.push(Number(uint(desc, o, 4, littleEndian)));
      return { type: note.type, name, kind, value, features: decodeXenFeatures(value), ...(extra.length ? { extra } : {}) };
    }
    case 'phys32-reloc': {
      if (size === 0 || size > 12 || size % 4 !== 0) return raw(`PHYS32_RELOC payload of ${size} bytes (expected up to three u32)`);
      const n = (i: number) => (size >= 4 * (i + 1) ? Number(uint(desc, 4 * i, 4, littleEndian)) : undefined);
      const out: XenNote = { type: note.type, name, kind, align: n(0) };
      if (size >= 8) out.min = n(1);
      if (size >= 12) out.max = n(2);
      return out;
    }
  }
}

/* ---------------------------------------------------------------- Linux and GNU notes */

/** Linux's build-salt note (include/linux/build-salt.h): distributions set it to the release. */
export const LINUX_ELFNOTE_BUILD_SALT = 0x100;
export const NT_GNU_BUILD_ID = 3;

export { cString, toHex, uint };
