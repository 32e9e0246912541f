import { createHash } from 'crypto';
import type { XenNotes } from '@fleetcompat/contract';
import { libxlRsdpPlacement } from '@fleetcompat/policy';
import { isBzImage, parseBzImage, BzImageInfo } from './bzimage';
import { Compression, decompress, detectCompression, DEFAULT_MAX_OUTPUT } from './decompress';
import { ElfFile, isElf, machineName, parseElf } from './elf';
import { fail, KernelImageError } from './errors';
import {
  cString,
  decodeXenNote,
  LINUX_ELFNOTE_BUILD_SALT,
  NT_GNU_BUILD_ID,
  RawNote,
  readNotes,
  toHex,
  XEN_NOTE,
  XenNote,
} from './notes';

export interface InspectOptions {
  /** Cap on decompressed size, in bytes (default 256 MiB). */
  readonly maxDecompressedBytes?: number;
}

export interface KernelInspection {
  /** sha256 of the image file as given (the kernel build's identity). */
  readonly sha256: string;
  readonly size: number;
  /** What the file is: a raw ELF, a compressed ELF, or a bzImage. */
  readonly format: 'elf' | 'compressed-elf' | 'bzimage';
  readonly compression: Compression | null;
  readonly bzImage: BzImageInfo | null;
  readonly elf: { readonly class: 32 | 64; readonly endian: 'little' | 'big'; readonly machine: string; readonly size: number };
  /** Where the Xen notes were found: PT_NOTE segments, else SHT_NOTE sections. */
  readonly notesSource: 'PT_NOTE' | 'SHT_NOTE' | null;
  /** The `xenNotes` field of KernelBuildCompleted: null when the image has no Xen notes. */
  readonly xenNotes: XenNotes | null;
  /** Every Xen note, decoded by type, in file order. */
  readonly notes: readonly XenNote[];
  /** SUPPORTED_FEATURES decoded into XENFEAT names (empty without the note). */
  readonly supportedFeatureNames: readonly string[];
  /** The kernel release (uname -r) from the "Linux" build-salt note, else from the bzImage header. */
  readonly release: string | null;
  /** The GNU build id, hex. */
  readonly buildId: string | null;
  /** What the libxl rule (Xen 4.11+) does with this image. */
  readonly rsdpPlacement: 'low' | 'high';
  /** PHYS32_ENTRY present: the image can boot as a PVH guest. */
  readonly pvhCapable: boolean;
}

/**
 * Reads a kernel image (vmlinux ELF, a compressed ELF, or a bzImage) and returns its Xen
 * notes. Never throws anything but KernelImageError.
 */
export function inspectKernelImage(image: Uint8Array, options: InspectOptions = {}): KernelInspection {
  try {
    return inspect(image, options);
  } catch (e) {
    if (e instanceof KernelImageError) throw e;
    if (e instanceof RangeError && /allocat|Array buffer|Invalid typed array length/i.test(e.message)) {
      throw new KernelImageError('too-large', `out of memory while reading the image: ${e.message}`);
    }
    throw new KernelImageError('internal', `internal error while reading the image: ${(e as Error)?.message ?? String(e)}`);
  }
}

function inspect(image: Uint8Array, options: InspectOptions): KernelInspection {
  const maxOut = options.maxDecompressedBytes ?? DEFAULT_MAX_OUTPUT;
  if (image.length === 0) fail('empty', 'the file is empty');
  const sha256 = createHash('sha256').update(image).digest('hex');
  let format: KernelInspection['format'];
  let compression: Compression | null = null;
  let bz: BzImageInfo | null = null;
  let elfBytes: Uint8Array;
  if (isElf(image)) {
    format = 'elf';
    elfBytes = image;
  } else if (isBzImage(image)) {
    format = 'bzimage';
    const { info, payload } = parseBzImage(image);
    bz = info;
    compression = detectCompression(payload);
    if (!compression) fail('unsupported', `bzImage payload has an unknown compression (starts with ${toHex(payload.subarray(0, 8))})`);
    if (info.decompressedSize > maxOut) {
      fail('too-large', `bzImage says its kernel is ${info.decompressedSize} bytes, over the limit of ${maxOut}`);
    }
    // Linux's size trailer is not part of the compressed stream.
    elfBytes = decompress(compression, payload.subarray(0, payload.length - 4), maxOut);
    if (elfBytes.length !== info.decompressedSize) {
      fail('corrupt-data', `${compression} payload decompressed to ${elfBytes.length} bytes, but the bzImage says ${info.decompressedSize}`);
    }
    if (!isElf(elfBytes)) fail('bad-elf', 'the decompressed bzImage payload is not an ELF file');
  } else {
    compression = detectCompression(image);
    if (!compression) {
      fail('unknown-format', 'not a kernel image: neither ELF, bzImage, nor a known compression (gzip, xz, lzma, bzip2, lz4, lzo, zstd)');
    }
    format = 'compressed-elf';
    elfBytes = decompress(compression, image, maxOut);
    if (!isElf(elfBytes)) fail('bad-elf', `the ${compression}-decompressed data is not an ELF file`);
  }

  const elf = parseElf(elfBytes);
  const le = elf.littleEndian;
  const segmentNotes = elf.noteSegments.flatMap((r) => readNotes(elf, r));
  let xenRaw = segmentNotes.filter((n) => n.owner === 'Xen');
  let notesSource: KernelInspection['notesSource'] = xenRaw.length ? 'PT_NOTE' : null;
  let otherNotes: RawNote[] = segmentNotes;
  if (!xenRaw.length) {
    const sectionNotes = sectionNotesOf(elf);
    xenRaw = sectionNotes.filter((n) => n.owner === 'Xen');
    if (xenRaw.length) notesSource = 'SHT_NOTE';
    if (!segmentNotes.length) otherNotes = sectionNotes;
  }
  const notes = xenRaw.map((n) => decodeXenNote(n, le));
  const xenNotes = summarize(notes);

  const linux = otherNotes.filter((n) => n.owner === 'Linux');
  const salt = linux.find((n) => n.type === LINUX_ELFNOTE_BUILD_SALT);
  const saltRelease = salt ? cString(salt.desc).trim() : '';
  const gnu = otherNotes.find((n) => n.owner === 'GNU' && n.type === NT_GNU_BUILD_ID && n.desc.length > 0 && n.desc.length <= 64);
  const bzRelease = bz?.kernelVersion?.split(/\s+/)[0] ?? '';
  const release = saltRelease && /^[\x21-\x7e]{1,256}$/.test(saltRelease) ? saltRelease : bzRelease || null;

  const features = notes.find((n) => n.type === XEN_NOTE.SUPPORTED_FEATURES && n.kind === 'bitmap');
  return {
    sha256,
    size: image.length,
    format,
    compression,
    bzImage: bz,
    elf: { class: elf.class, endian: le ? 'little' : 'big', machine: machineName(elf.machine), size: elfBytes.length },
    notesSource,
    xenNotes,
    notes,
    supportedFeatureNames: features && features.kind === 'bitmap' ? features.features : [],
    release,
    buildId: gnu ? toHex(gnu.desc) : null,
    rsdpPlacement: libxlRsdpPlacement(xenNotes),
    pvhCapable: xenNotes?.pvh ?? false,
  };
}

function sectionNotesOf(elf: ElfFile): RawNote[] {
  return elf.noteSections().flatMap((r) => readNotes(elf, r));
}

/** The contract's `xenNotes`: the last note of each type wins, as in libxc. */
function summarize(notes: readonly XenNote[]): XenNotes | null {
  if (!notes.length) return null;
  const last = (type: number) => {
    for (let i = notes.length - 1; i >= 0; i--) if (notes[i].type === type) return notes[i];
    return undefined;
  };
  const str = (type: number) => {
    const n = last(type);
    return n && n.kind === 'string' ? n.value : undefined;
  };
  const out: XenNotes = { pvh: false };
  const set = <K extends keyof XenNotes>(k: K, v: XenNotes[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('guestOs', str(XEN_NOTE.GUEST_OS));
  set('guestVersion', str(XEN_NOTE.GUEST_VERSION));
  set('xenVersion', str(XEN_NOTE.XEN_VERSION));
  set('loader', str(XEN_NOTE.LOADER));
  set('features', str(XEN_NOTE.FEATURES));
  const sf = last(XEN_NOTE.SUPPORTED_FEATURES);
  if (sf && sf.kind === 'bitmap') out.supportedFeatures = sf.value;
  const entry = last(XEN_NOTE.PHYS32_ENTRY);
  if (entry) {
    out.pvh = true;
    if (entry.kind === 'numeric') out.phys32Entry = entry.value;
  }
  return out;
}
