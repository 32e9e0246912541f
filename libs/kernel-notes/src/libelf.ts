import { EM_386, EM_ARM, EM_X86_64, ElfFile, sectionByName } from './elf';
import { cString, RawNote, XEN_NOTE, XenNote } from './notes';

/*
 * What Xen's toolstack makes of the notes (libelf-dominfo.c elf_xen_parse_features,
 * elf_xen_parse_guest_info, elf_xen_note_check; tools/libs/guest xg_dom_elfloader.c
 * xc_dom_parse_elf_kernel, xc_dom_guest_type): whether libxc loads the image as a PVH guest
 * and as a PV guest, and why not. Not emulated: elf_xen_addr_calc_check (entry and
 * address bounds of the loadable segments), which a well-linked image passes.
 */

/** libelf's elf_xen_feature_names: only these names mean anything in a FEATURES string. */
const LIBELF_FEATURES: Readonly<Record<string, number>> = {
  writable_page_tables: 0,
  writable_descriptor_tables: 1,
  auto_translated_physmap: 2,
  supervisor_mode_kernel: 3,
  pae_pgdir_above_4gb: 4,
  hvm_callback_vector: 8,
  dom0: 11,
};

export interface ParsedFeatures {
  readonly supported: number;
  readonly required: number;
  /** A "!name" libelf does not know: elf_xen_parse_features fails and the image is refused. */
  readonly unknownRequired: string | null;
}

/** elf_xen_parse_features, chunk by chunk as libelf splits it (at '|', or every 63 characters). */
export function parseFeatures(features: string): ParsedFeatures {
  let supported = 0;
  let required = 0;
  for (let pos = 0; pos < features.length;) {
    let feature = '';
    let len = 0;
    for (; ; len++) {
      if (len >= 63) break;
      if (pos + len >= features.length) break;
      const c = features[pos + len];
      if (c === '|') {
        len++;
        break;
      }
      feature += c;
    }
    pos += len;
    const isRequired = feature.startsWith('!');
    const bit = LIBELF_FEATURES[isRequired ? feature.slice(1) : feature];
    if (bit !== undefined) {
      supported |= 1 << bit;
      if (isRequired) required |= 1 << bit;
    } else if (isRequired) {
      return { supported: supported >>> 0, required: required >>> 0, unknownRequired: feature.slice(1) };
    }
  }
  return { supported: supported >>> 0, required: required >>> 0, unknownRequired: null };
}

/** The legacy `__xen_guest` section ("GUEST_OS=...,XEN_VER=...,..."), which libelf reads for PV guests without notes. */
export interface XenGuestSection {
  readonly raw: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** elf_xen_parse_guest_info's splitting: names up to 31 characters, values up to 127. */
export function parseXenGuest(raw: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let h = 0;
  while (h < raw.length) {
    let name = '';
    let value = '';
    for (let len = 0; ; len++, h++) {
      if (len >= 31) break;
      if (h >= raw.length) break;
      if (raw[h] === ',') {
        h++;
        break;
      }
      if (raw[h] === '=') {
        h++;
        for (let vlen = 0; ; vlen++, h++) {
          if (vlen >= 127) break;
          if (h >= raw.length) break;
          if (raw[h] === ',') {
            h++;
            break;
          }
          value += raw[h];
        }
        break;
      }
      name += raw[h];
    }
    fields[name] = value;
  }
  return fields;
}

/** readnotes and libelf: the string at the start of `__xen_guest`, or null without the section. */
export function readXenGuest(elf: ElfFile): XenGuestSection | null {
  return elf.image.quietly(() => {
    const sec = sectionByName(elf, '__xen_guest');
    if (!sec) return null;
    const s = elf.image.strval(sec.offset);
    const raw = s ? Buffer.from(s).toString('latin1') : '(invalid)';
    return { raw, fields: s ? parseXenGuest(raw) : {} };
  });
}

export interface LibelfVerdict {
  /** libxc would load the image in this container. */
  readonly accepted: boolean;
  /** Why (libelf's or libxc's own words where it has some). */
  readonly reason: string;
}

export interface LibelfView {
  /** The image loaded as a PVH guest (an HVM container): the case RSDP placement is about. */
  readonly pvh: LibelfVerdict;
  /** The image loaded as a PV guest. */
  readonly pv: LibelfVerdict;
  /** libelf's "broken ELF" message (readnotes prints it as a warning; the toolstack only logs it). */
  readonly broken: string | null;
  /** The FEATURES strings parsed as libelf does: bits it sets in f_supported and f_required. */
  readonly features: { readonly supported: number; readonly required: number };
}

export interface LibelfInput {
  readonly elf: ElfFile;
  /** The Xen notes libelf read, raw and decoded, in its order. */
  readonly raw: readonly RawNote[];
  readonly notes: readonly XenNote[];
  /** libelf walked at least one note table (parms->elf_note_start is set). */
  readonly walkedAnyTable: boolean;
  readonly xenGuest: XenGuestSection | null;
  /** The last PHYS32_ENTRY, truncated to 32 bits as parms->phys_entry is; null when unset. */
  readonly physEntry: number | null;
}

const UNSET_ADDR32 = 0xffffffff;

/** The low 32 bits of the last PHYS32_ENTRY note (parms->phys_entry), null when libelf sees it unset. */
export function physEntry(notes: readonly XenNote[]): number | null {
  let v: number | null = null;
  for (const n of notes) {
    if (n.type !== XEN_NOTE.PHYS32_ENTRY || n.kind !== 'numeric') continue;
    v = Number(BigInt(n.value) & 0xffffffffn);
  }
  return v === null || v === UNSET_ADDR32 ? null : v;
}

/** libxc's verdicts on the image, as PVH and as PV guest. */
export function libelfVerdicts(input: LibelfInput): LibelfView {
  const { elf, notes } = input;
  const str = (type: number): string => {
    let v = '';
    for (const n of notes) if (n.type === type && n.kind === 'string') v = n.value;
    return v;
  };
  // FEATURES notes are parsed in order; the first unknown required feature fails the parse
  let supported = 0;
  let required = 0;
  let failure: string | null = null;
  for (const n of notes) {
    if (n.type !== XEN_NOTE.FEATURES || n.kind !== 'string') continue;
    const f = parseFeatures(n.value);
    supported |= f.supported;
    required |= f.required;
    if (f.unknownRequired !== null) {
      failure = `FEATURES requires "${f.unknownRequired}", which libelf does not know: elf_xen_parse fails`;
      break;
    }
  }
  const x86 = elf.machine === EM_386 || elf.machine === EM_X86_64;
  const noXenNotes = input.raw.length === 0;
  const check = (hvm: boolean): LibelfVerdict => {
    if (failure) return { accepted: false, reason: failure };
    // without Xen notes, a PV guest's parameters come from __xen_guest
    const guest = !hvm && noXenNotes && input.xenGuest ? input.xenGuest.fields : null;
    const loader = guest ? (guest.LOADER ?? '') : str(XEN_NOTE.LOADER);
    const guestOs = guest ? (guest.GUEST_OS ?? '') : str(XEN_NOTE.GUEST_OS);
    const xenVer = guest ? (guest.XEN_VER ?? '') : str(XEN_NOTE.XEN_VERSION);
    let req = required;
    if (guest?.FEATURES !== undefined) req |= parseFeatures(guest.FEATURES).required;
    const noteStart = input.walkedAnyTable && !guest;
    if (!noteStart && !guest) {
      if (x86)
        return {
          accepted: false,
          reason: 'not a Xen-ELF image: no ELF notes' + (hvm ? '' : " or '__xen_guest' section"),
        };
    } else if (elf.machine !== EM_ARM && !(hvm && input.physEntry !== null)) {
      if ((loader === '' || !loader.startsWith('generic')) && (guestOs === '' || !guestOs.startsWith('linux'))) {
        return {
          accepted: false,
          reason: `libelf only loads images for the generic loader or Linux images (not "${loader}" and "${guestOs}") or with PHYS32_ENTRY`,
        };
      }
      if (xenVer === '' || !xenVer.startsWith('xen-3.0'))
        return { accepted: false, reason: `libelf only loads images built for Xen v3.0 (not "${xenVer}")` };
    }
    if (req & (1 << 11))
      return {
        accepted: false,
        reason: 'FEATURES requires dom0: the kernel does not support unprivileged (domU) operation',
      };
    if (hvm) {
      if (input.physEntry === null)
        return { accepted: false, reason: 'no PHYS32_ENTRY note: not capable of booting inside a HVM container (PVH)' };
      return { accepted: true, reason: `PHYS32_ENTRY ${'0x' + input.physEntry.toString(16)}` };
    }
    if (!x86) return { accepted: false, reason: `a PV guest must be i386 or x86_64 (e_machine ${elf.machine})` };
    return {
      accepted: true,
      reason: guest
        ? '__xen_guest section (no ELF notes)'
        : `LOADER "${loader}", GUEST_OS "${guestOs}", XEN_VERSION "${xenVer}"`,
    };
  };
  return {
    pvh: check(true),
    pv: check(false),
    broken: elf.image.broken,
    features: { supported: supported >>> 0, required: required >>> 0 },
  };
}

/** A bootloader built for Xen: the image the toolstack loads instead of the guest's kernel. */
export interface BootloaderInfo {
  readonly name: 'GRUB';
  /** PVH (pvh-grub, grub-i386-xen_pvh) or PV (pvgrub2, grub-{i386,x86_64}-xen). */
  readonly mode: 'pvh' | 'pv';
  /** What gave it away. */
  readonly evidence: string;
}

/** GRUB_MODULE_MAGIC ("mimg"), at the start of the module area grub-mkimage appends. */
const GRUB_MODULE_MAGIC = [0x6d, 0x69, 0x6d, 0x67];

/**
 * Recognises GRUB's Xen images (grub-mkimage -O {i386,x86_64}-xen or i386-xen_pvh): their
 * GUEST_OS is "GRUB" (the PV ones), or they carry GRUB's module area ("mods" section
 * starting with "mimg"; the PVH one has no GUEST_OS, only PHYS32_ENTRY).
 */
export function detectBootloader(elf: ElfFile, notes: readonly XenNote[], view: LibelfView): BootloaderInfo | null {
  let guestOs: string | undefined;
  for (const n of notes) if (n.type === XEN_NOTE.GUEST_OS && n.kind === 'string') guestOs = n.value;
  let evidence: string | null = guestOs === 'GRUB' ? 'GUEST_OS "GRUB"' : null;
  if (!evidence) {
    const mods = elf.image.quietly(() => sectionByName(elf, 'mods'));
    if (
      mods &&
      mods.offset + 4 <= elf.bytes.length &&
      GRUB_MODULE_MAGIC.every((m, i) => elf.bytes[mods.offset + i] === m)
    ) {
      evidence = 'GRUB\'s module area ("mods" section with the "mimg" magic)';
    }
  }
  if (!evidence) return null;
  const mode = view.pvh.accepted
    ? 'pvh'
    : view.pv.accepted
      ? 'pv'
      : notes.some((n) => n.type === XEN_NOTE.PHYS32_ENTRY)
        ? 'pvh'
        : 'pv';
  return { name: 'GRUB', mode, evidence };
}

export { cString };
