import { createHash } from 'crypto';
import type { XenNotes } from '@fleetcompat/contract';
import { libxlRsdpPlacement } from '@fleetcompat/policy';
import { isBzImage, parseBzImage, BzImageInfo } from './bzimage';
import { Compression, decompress, detectCompression, DEFAULT_MAX_OUTPUT } from './decompress';
import { ELF32_EHDR_SIZE, isElf, machineName, noteSections, noteSegments, parseElf } from './elf';
import { fail, KernelImageError } from './errors';
import {
  BootloaderInfo,
  detectBootloader,
  LibelfView,
  libelfVerdicts,
  physEntry,
  readXenGuest,
  XenGuestSection,
} from './libelf';
import {
  cString,
  decodeXenFeatures,
  decodeXenNote,
  LINUX_ELFNOTE_BUILD_SALT,
  NT_GNU_BUILD_ID,
  RawNote,
  readNotes,
  toHex,
  walkNotes,
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
  readonly elf: {
    readonly class: 32 | 64;
    readonly endian: 'little' | 'big';
    readonly machine: string;
    readonly size: number;
  };
  /** Where libelf found the Xen notes: PT_NOTE segments, else (none there) SHT_NOTE sections. */
  readonly notesSource: 'PT_NOTE' | 'SHT_NOTE' | null;
  /** The legacy `__xen_guest` section, when the image has one (libelf reads it for PV guests without notes). */
  readonly xenGuest: XenGuestSection | null;
  /** What Xen's toolstack makes of the image: loads it as PVH? as PV? */
  readonly libelf: LibelfView;
  /** The image is a bootloader built for Xen (GRUB), not a kernel. */
  readonly bootloader: BootloaderInfo | null;
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
  /** What the libxl rule (Xen 4.11+) does with this image (loaded directly, or as the bootloader). */
  readonly rsdpPlacement: 'low' | 'high';
  /** libelf sees a PHYS32_ENTRY (its low 32 bits not 0xffffffff): the image can boot as a PVH guest. */
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
    throw new KernelImageError(
      'internal',
      `internal error while reading the image: ${(e as Error)?.message ?? String(e)}`,
    );
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
    if (!compression)
      fail('unsupported', `bzImage payload has an unknown compression (starts with ${toHex(payload.subarray(0, 8))})`);
    if (info.decompressedSize > maxOut) {
      fail('too-large', `bzImage says its kernel is ${info.decompressedSize} bytes, over the limit of ${maxOut}`);
    }
    // Linux's size trailer is not part of the compressed stream.
    elfBytes = decompress(compression, payload.subarray(0, payload.length - 4), maxOut, info.decompressedSize);
    if (elfBytes.length !== info.decompressedSize) {
      fail(
        'corrupt-data',
        `${compression} payload decompressed to ${elfBytes.length} bytes, but the bzImage says ${info.decompressedSize}`,
      );
    }
    if (!isElf(elfBytes)) fail('bad-elf', 'the decompressed bzImage payload is not an ELF file');
  } else {
    compression = detectCompression(image);
    if (!compression) {
      fail(
        'unknown-format',
        'not a kernel image: neither ELF, bzImage, nor a known compression (gzip, xz, lzma, bzip2, lz4, lzo, zstd)',
      );
    }
    format = 'compressed-elf';
    elfBytes = decompress(compression, image, maxOut);
    if (!isElf(elfBytes)) fail('bad-elf', `the ${compression}-decompressed data is not an ELF file`);
  }

  if (elfBytes.length < ELF32_EHDR_SIZE && format !== 'elf') {
    fail(
      'truncated',
      `the ${compression}-decompressed ELF header is truncated (${elfBytes.length} of ${ELF32_EHDR_SIZE} bytes)`,
    );
  }
  const elf = parseElf(elfBytes);
  const le = elf.littleEndian;

  // elf_xen_parse: every PT_NOTE segment; only when they hold no "Xen" note, the SHT_NOTE sections
  const counter = { total: 0 };
  const collect = (regions: ReturnType<typeof noteSegments>) => {
    const found: RawNote[] = [];
    for (const r of regions) walkNotes(elf, r, counter, (n) => void (n.owner === 'Xen' && found.push(n)));
    return found;
  };
  const segments = noteSegments(elf);
  let xenRaw = collect(segments);
  let notesSource: KernelInspection['notesSource'] = xenRaw.length ? 'PT_NOTE' : null;
  let walkedAnyTable = segments.length > 0;
  if (!xenRaw.length) {
    const sections = noteSections(elf);
    walkedAnyTable ||= sections.length > 0;
    xenRaw = collect(sections);
    if (xenRaw.length) notesSource = 'SHT_NOTE';
  }
  const notes = xenRaw.map((n) => decodeXenNote(elf.image, n));
  const xenNotes = summarize(notes);
  const xenGuest = readXenGuest(elf);
  const libelf = libelfVerdicts({ elf, raw: xenRaw, notes, walkedAnyTable, xenGuest, physEntry: physEntry(notes) });

  // the release and build id: "Linux" and "GNU" notes, from the segments, else the sections
  let otherNotes = segments.flatMap((r) => readNotes(elf, r)).filter((n) => n.owner === 'Linux' || n.owner === 'GNU');
  if (!otherNotes.length) otherNotes = noteSections(elf).flatMap((r) => readNotes(elf, r));
  const linux = otherNotes.filter((n) => n.owner === 'Linux');
  const salt = linux.find((n) => n.type === LINUX_ELFNOTE_BUILD_SALT);
  const saltRelease = salt ? cString(salt.desc).trim() : '';
  const gnu = otherNotes.find(
    (n) => n.owner === 'GNU' && n.type === NT_GNU_BUILD_ID && n.desc.length > 0 && n.desc.length <= 64,
  );
  const bzRelease = bz?.kernelVersion?.split(/\s+/)[0] ?? '';
  const release = saltRelease && /^[\x21-\x7e]{1,256}$/.test(saltRelease) ? saltRelease : bzRelease || null;

  return {
    sha256,
    size: image.length,
    format,
    compression,
    bzImage: bz,
    elf: { class: elf.class, endian: le ? 'little' : 'big', machine: machineName(elf.machine), size: elfBytes.length },
    notesSource,
    xenGuest,
    libelf,
    bootloader: detectBootloader(elf, notes, libelf),
    xenNotes,
    notes,
    supportedFeatureNames:
      xenNotes?.supportedFeatures !== undefined ? decodeXenFeatures(xenNotes.supportedFeatures) : [],
    release,
    buildId: gnu ? toHex(gnu.desc) : null,
    rsdpPlacement: libxlRsdpPlacement(xenNotes),
    pvhCapable: xenNotes?.pvh ?? false,
  };
}

/**
 * The contract's `xenNotes`, as libelf fills its parameters: each string note overwrites the
 * one before (one that cannot be read as a string changes nothing), SUPPORTED_FEATURES notes
 * are ORed together, and the image is PVH-capable when the last PHYS32_ENTRY's low 32 bits
 * (parms->phys_entry) are not 0xffffffff, libelf's "unset".
 */
function summarize(notes: readonly XenNote[]): XenNotes | null {
  if (!notes.length) return null;
  const str = (type: number) => {
    for (let i = notes.length - 1; i >= 0; i--) {
      const n = notes[i];
      if (n.type === type && n.kind === 'string') return n.value;
    }
    return undefined;
  };
  const out: XenNotes = { pvh: physEntry(notes) !== null };
  const set = <K extends keyof XenNotes>(k: K, v: XenNotes[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('guestOs', str(XEN_NOTE.GUEST_OS));
  set('guestVersion', str(XEN_NOTE.GUEST_VERSION));
  set('xenVersion', str(XEN_NOTE.XEN_VERSION));
  set('loader', str(XEN_NOTE.LOADER));
  set('features', str(XEN_NOTE.FEATURES));
  let sf: number | undefined;
  for (const n of notes)
    if (n.type === XEN_NOTE.SUPPORTED_FEATURES && n.kind === 'bitmap') sf = ((sf ?? 0) | n.value) >>> 0;
  set('supportedFeatures', sf);
  let entry: XenNote | undefined;
  for (const n of notes) if (n.type === XEN_NOTE.PHYS32_ENTRY) entry = n;
  if (entry && entry.kind === 'numeric') out.phys32Entry = entry.value;
  // key order as before: pvh last
  const { pvh, ...rest } = out;
  return { ...rest, pvh };
}
