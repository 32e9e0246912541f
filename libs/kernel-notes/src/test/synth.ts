/*
 * Builds synthetic kernel images byte by byte for the tests: an ELF (32- or 64-bit) with
 * notes laid out as Linux's ELFNOTE macro does (4-byte aligned name and payload), in a
 * PT_NOTE segment and/or an SHT_NOTE section, and a bzImage around a compressed payload.
 */
import { readFileSync } from 'fs';
import { join } from 'path';

export interface SynthNote {
  owner: string;
  type: number;
  desc: Uint8Array;
}

export const str = (s: string): Uint8Array => Buffer.from(s + '\0', 'latin1');
export const u8 = (n: number): Uint8Array => Uint8Array.of(n);
export const u16 = (n: number): Uint8Array => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
export const u32 = (...ns: number[]): Uint8Array => {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32LE(n >>> 0, 4 * i));
  return b;
};
export const u64 = (...ns: bigint[]): Uint8Array => {
  const b = Buffer.alloc(8 * ns.length);
  ns.forEach((n, i) => b.writeBigUInt64LE(n, 8 * i));
  return b;
};

export const xen = (type: number, desc: Uint8Array): SynthNote => ({ owner: 'Xen', type, desc });

/** Encodes notes as Linux's ELFNOTE macro does. */
export function encodeNotes(notes: readonly SynthNote[], bigEndian = false): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => (4 - (n % 4)) % 4;
  for (const n of notes) {
    const name = Buffer.from(n.owner + '\0', 'latin1');
    const h = Buffer.alloc(12);
    const w = (v: number, o: number) => (bigEndian ? h.writeUInt32BE(v, o) : h.writeUInt32LE(v, o));
    w(name.length, 0);
    w(n.desc.length, 4);
    w(n.type, 8);
    parts.push(h, name, Buffer.alloc(pad(name.length)), Buffer.from(n.desc), Buffer.alloc(pad(n.desc.length)));
  }
  return Buffer.concat(parts);
}

export interface ElfOptions {
  class?: 32 | 64;
  /** Where the notes go: a PT_NOTE segment, an SHT_NOTE section, or both (the usual). */
  placement?: 'segment' | 'section' | 'both';
  /** Extra bytes after the notes (stands for the kernel's text and data). */
  filler?: Uint8Array;
  machine?: number;
}

/** An ELF executable: header, PT_LOAD + PT_NOTE program headers, notes, filler, sections. */
export function buildElf(notes: readonly SynthNote[], opts: ElfOptions = {}): Buffer {
  const is64 = (opts.class ?? 64) === 64;
  const placement = opts.placement ?? 'both';
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const withSeg = placement !== 'section';
  const withSec = placement !== 'segment';
  const phnum = withSeg ? 2 : 1;
  const noteData = encodeNotes(notes);
  const filler = Buffer.from(opts.filler ?? new Uint8Array(0));
  const notesOff = ehsize + phnum * phentsize;
  const fillerOff = notesOff + noteData.length;
  const shstrtab = Buffer.from('\0.text\0.notes\0.shstrtab\0', 'latin1');
  const shstrOff = fillerOff + filler.length;
  let shoff = shstrOff + shstrtab.length;
  shoff += (8 - (shoff % 8)) % 8;
  // sections: null, .text, [.notes], .shstrtab
  const sections: { name: number; type: number; offset: number; size: number; align: number }[] = [
    { name: 0, type: 0, offset: 0, size: 0, align: 0 },
    { name: 1, type: 1, offset: fillerOff, size: filler.length, align: 1 },
  ];
  if (withSec) sections.push({ name: 7, type: 7, offset: notesOff, size: noteData.length, align: 4 });
  sections.push({ name: 14, type: 3, offset: shstrOff, size: shstrtab.length, align: 1 });
  const total = shoff + sections.length * shentsize;
  const b = Buffer.alloc(total);
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1, 0]);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(opts.machine ?? (is64 ? 62 : 3), 18);
  b.writeUInt32LE(1, 20);
  if (is64) {
    b.writeBigUInt64LE(0x1000000n, 24);
    b.writeBigUInt64LE(BigInt(ehsize), 32);
    b.writeBigUInt64LE(BigInt(shoff), 40);
    b.writeUInt16LE(ehsize, 52);
    b.writeUInt16LE(phentsize, 54);
    b.writeUInt16LE(phnum, 56);
    b.writeUInt16LE(shentsize, 58);
    b.writeUInt16LE(sections.length, 60);
    b.writeUInt16LE(sections.length - 1, 62);
  } else {
    b.writeUInt32LE(0x1000000, 24);
    b.writeUInt32LE(ehsize, 28);
    b.writeUInt32LE(shoff, 32);
    b.writeUInt16LE(ehsize, 40);
    b.writeUInt16LE(phentsize, 42);
    b.writeUInt16LE(phnum, 44);
    b.writeUInt16LE(shentsize, 46);
    b.writeUInt16LE(sections.length, 48);
    b.writeUInt16LE(sections.length - 1, 50);
  }
  const phdr = (i: number, type: number, offset: number, size: number, align: number) => {
    const o = ehsize + i * phentsize;
    b.writeUInt32LE(type, o);
    if (is64) {
      b.writeUInt32LE(4, o + 4);
      b.writeBigUInt64LE(BigInt(offset), o + 8);
      b.writeBigUInt64LE(BigInt(0x1000000 + offset), o + 16);
      b.writeBigUInt64LE(BigInt(0x1000000 + offset), o + 24);
      b.writeBigUInt64LE(BigInt(size), o + 32);
      b.writeBigUInt64LE(BigInt(size), o + 40);
      b.writeBigUInt64LE(BigInt(align), o + 48);
    } else {
      b.writeUInt32LE(offset, o + 4);
      b.writeUInt32LE(0x1000000 + offset, o + 8);
      b.writeUInt32LE(0x1000000 + offset, o + 12);
      b.writeUInt32LE(size, o + 16);
      b.writeUInt32LE(size, o + 20);
      b.writeUInt32LE(4, o + 24);
      b.writeUInt32LE(align, o + 28);
    }
  };
  phdr(0, 1, 0, total, 0x1000); // PT_LOAD
  if (withSeg) phdr(1, 4, notesOff, noteData.length, 4); // PT_NOTE
  noteData.copy(b, notesOff);
  filler.copy(b, fillerOff);
  shstrtab.copy(b, shstrOff);
  sections.forEach((s, i) => {
    const o = shoff + i * shentsize;
    b.writeUInt32LE(s.name, o);
    b.writeUInt32LE(s.type, o + 4);
    if (is64) {
      b.writeBigUInt64LE(BigInt(s.offset), o + 24);
      b.writeBigUInt64LE(BigInt(s.size), o + 32);
      b.writeBigUInt64LE(BigInt(s.align), o + 48);
    } else {
      b.writeUInt32LE(s.offset, o + 16);
      b.writeUInt32LE(s.size, o + 20);
      b.writeUInt32LE(s.align, o + 32);
    }
  });
  return b;
}

/** The notes of a Linux kernel's arch/x86/xen/xen-head.S (64-bit), with its SUPPORTED_FEATURES bitmap. */
export function linuxNotes(supportedFeatures: number, release: string): SynthNote[] {
  return [
    xen(6, str('linux')),
    xen(7, str('2.6')),
    xen(5, str('xen-3.0')),
    xen(3, u64(0xffffffff80000000n)),
    xen(1, u64(0xffffffff82a5e180n)),
    xen(2, u64(0xffffffff81001000n)),
    xen(10, Buffer.from('!writable_page_tables|pae_pgdir_above_4gb', 'latin1')),
    xen(17, u32(supportedFeatures)),
    xen(9, str('yes')),
    xen(8, str('generic')),
    xen(13, u64(1n, 1n)),
    xen(14, u32(1)),
    xen(12, u64(0xffff800000000000n)),
    xen(4, u64(0n)),
    xen(18, u64(0x1000850n)),
    { owner: 'GNU', type: 3, desc: Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex') },
    { owner: 'Linux', type: 0x100, desc: str(release) },
  ];
}

/** A Linux 4.15-like kernel: PVH-capable, no XENFEAT_linux_rsdp_unrestricted (bitmap 0x801). */
export const linux415 = (opts: ElfOptions = {}) => buildElf(linuxNotes(0x801, '4.15.0-synthetic'), opts);
/** A Linux 4.17-like kernel: bitmap 0x8801 (bit 15 set). */
export const linux417 = (opts: ElfOptions = {}) => buildElf(linuxNotes(0x8801, '4.17.0-synthetic'), opts);

/** A FreeBSD kernel's notes (sys/amd64/amd64/xen-locore.S), PVH entry 4 bytes. */
export const freebsd = (opts: ElfOptions = {}) =>
  buildElf(
    [
      xen(6, str('FreeBSD')),
      xen(7, str('HEAD')),
      xen(5, str('xen-3.0')),
      xen(3, u64(0xffffffff80000000n)),
      xen(4, u64(0xffffffff80000000n)),
      xen(10, str('writable_descriptor_tables|auto_translated_physmap|supervisor_mode_kernel|hvm_callback_vector')),
      xen(9, str('yes')),
      xen(13, u64(0x1n, 0x1n)),
      xen(8, str('generic')),
      xen(14, u64(0n)),
      xen(11, str('yes')),
      xen(18, u32(0x2c5000)),
    ],
    opts,
  );

/** Wraps a compressed payload in a bzImage (boot protocol 2.15) with Linux's size trailer. */
export function buildBzImage(
  compressed: Uint8Array,
  decompressedSize: number,
  opts: { setupSects?: number; version?: string } = {},
): Buffer {
  const setupSects = opts.setupSects ?? 4;
  const realSects = setupSects === 0 ? 4 : setupSects;
  const setup = Buffer.alloc((realSects + 1) * 512);
  setup[0x1f1] = setupSects;
  setup.writeUInt16LE(0xaa55, 0x1fe);
  setup.write('HdrS', 0x202, 'latin1');
  setup.writeUInt16LE(0x020f, 0x206);
  const version = (opts.version ?? '4.17.0-synthetic (builder@example) #1 SMP') + '\0';
  setup.write(version, 0x400, 'latin1');
  setup.writeUInt16LE(0x400 - 0x200, 0x20e);
  const head = Buffer.alloc(0x3a0); // stands for the decompressor stub
  head.write('stub', 0, 'latin1');
  const payload = Buffer.concat([Buffer.from(compressed), u32(decompressedSize)]);
  setup.writeUInt32LE(head.length, 0x248);
  setup.writeUInt32LE(payload.length, 0x24c);
  return Buffer.concat([setup, head, payload, Buffer.alloc(64)]);
}

export const FIXTURES = join(__dirname, 'fixtures');
export const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
export const FIXTURE_EXT = {
  gzip: 'gz',
  xz: 'xz',
  lzma: 'lzma',
  bzip2: 'bz2',
  lz4: 'lz4',
  lzo: 'lzo',
  zstd: 'zst',
} as const;

/** Notes laid out by hand: name and payload each padded to `align` bytes (4 is what libelf reads). */
export function encodeNotesAligned(
  notes: readonly (SynthNote & { namesz?: number; descsz?: number })[],
  align = 4,
  bigEndian = false,
): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => (align - (n % align)) % align;
  for (const n of notes) {
    const name = Buffer.from(n.owner + '\0', 'latin1');
    const h = Buffer.alloc(12);
    const w = (v: number, o: number) => (bigEndian ? h.writeUInt32BE(v >>> 0, o) : h.writeUInt32LE(v >>> 0, o));
    w(n.namesz ?? name.length, 0);
    w(n.descsz ?? n.desc.length, 4);
    w(n.type, 8);
    parts.push(h, name, Buffer.alloc(pad(name.length)), Buffer.from(n.desc), Buffer.alloc(pad(n.desc.length)));
  }
  return Buffer.concat(parts);
}

export interface RawElfSegment {
  type: number;
  /** Index into `blobs`: the segment's file offset is where that blob lands (or `offset`). */
  blob?: number;
  offset?: number;
  filesz?: number;
  align?: number;
  paddr?: number;
}

export interface RawElfSection {
  name: string;
  type: number;
  blob?: number;
  offset?: number;
  size?: number;
  align?: number;
}

/**
 * An ELF with exactly the program headers, sections and data given, in either class and byte
 * order: header, program headers, the blobs one after another, then (with sections) .shstrtab
 * and the section headers (index 0 is the null section).
 */
export function buildRawElf(opts: {
  class?: 32 | 64;
  bigEndian?: boolean;
  data?: number;
  machine?: number;
  entry?: number;
  segments: RawElfSegment[];
  sections?: RawElfSection[];
  blobs: Uint8Array[];
  /** Bytes to cut from the end (a file that ends inside the last blob). */
  truncate?: number;
}): Buffer {
  const is64 = (opts.class ?? 64) === 64;
  const be = opts.bigEndian ?? false;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  let pos = ehsize + opts.segments.length * phentsize;
  const blobOff: number[] = [];
  for (const b of opts.blobs) {
    blobOff.push(pos);
    pos += b.length;
  }
  const sections = opts.sections ?? [];
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const nameOff: number[] = [];
  let strtab = '';
  for (const n of names) {
    nameOff.push(Buffer.byteLength(strtab, 'latin1'));
    strtab += n + '\0';
  }
  const shstrOff = pos;
  const shstr = sections.length ? Buffer.from(strtab, 'latin1') : Buffer.alloc(0);
  pos += shstr.length;
  if (sections.length) pos += (8 - (pos % 8)) % 8;
  const shoff = sections.length ? pos : 0;
  const shnum = sections.length ? sections.length + 2 : 0;
  const total = pos + shnum * shentsize;
  const b = Buffer.alloc(total);
  const w16 = (v: number, o: number) => (be ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const w32 = (v: number, o: number) => (be ? b.writeUInt32BE(v >>> 0, o) : b.writeUInt32LE(v >>> 0, o));
  const w64 = (v: number | bigint, o: number) =>
    be ? b.writeBigUInt64BE(BigInt(v), o) : b.writeBigUInt64LE(BigInt(v), o);
  const wW = (v: number | bigint, o32: number, o64: number, base: number) =>
    is64 ? w64(v, base + o64) : w32(Number(v), base + o32);
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, opts.data ?? (be ? 2 : 1), 1, 0]);
  w16(2, 16);
  w16(opts.machine ?? (is64 ? 62 : 3), 18);
  w32(1, 20);
  wW(opts.entry ?? 0x100000, 24, 24, 0);
  wW(ehsize, 28, 32, 0);
  wW(shoff, 32, 40, 0);
  w16(ehsize, is64 ? 52 : 40);
  w16(phentsize, is64 ? 54 : 42);
  w16(opts.segments.length, is64 ? 56 : 44);
  w16(shentsize, is64 ? 58 : 46);
  w16(shnum, is64 ? 60 : 48);
  w16(shnum ? shnum - 1 : 0, is64 ? 62 : 50);
  opts.segments.forEach((s, i) => {
    const o = ehsize + i * phentsize;
    const off = s.offset ?? (s.blob !== undefined ? blobOff[s.blob] : 0);
    const size = s.filesz ?? (s.blob !== undefined ? opts.blobs[s.blob].length : 0);
    w32(s.type, o);
    if (is64) w32(7, o + 4);
    wW(off, 4, 8, o);
    wW(s.paddr ?? 0x100000, 8, 16, o);
    wW(s.paddr ?? 0x100000, 12, 24, o);
    wW(size, 16, 32, o);
    wW(size, 20, 40, o);
    if (!is64) w32(7, o + 24);
    wW(s.align ?? 4, 28, 48, o);
  });
  opts.blobs.forEach((blob, i) => b.set(blob, blobOff[i]));
  shstr.copy(b, shstrOff);
  const shdr = (i: number, name: number, type: number, off: number, size: number, align: number) => {
    const o = shoff + i * shentsize;
    w32(name, o);
    w32(type, o + 4);
    wW(off, 16, 24, o);
    wW(size, 20, 32, o);
    wW(align, 32, 48, o);
  };
  sections.forEach((s, i) => {
    const off = s.offset ?? (s.blob !== undefined ? blobOff[s.blob] : 0);
    const size = s.size ?? (s.blob !== undefined ? opts.blobs[s.blob].length : 0);
    shdr(i + 1, nameOff[i + 1], s.type, off, size, s.align ?? 4);
  });
  if (shnum) shdr(shnum - 1, nameOff[names.length - 1], 3, shstrOff, shstr.length, 1);
  return opts.truncate ? b.subarray(0, b.length - opts.truncate) : b;
}
