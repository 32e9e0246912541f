import { KernelInspection, XenNote } from '@fleetcompat/kernel-notes';

/** Control characters and non-ASCII from a hostile image are shown escaped, never sent to the terminal. */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

export function noteValue(n: XenNote): string {
  const v = rawValue(n);
  return 'remark' in n && n.remark ? `${v}  [${n.remark}]` : v;
}

function rawValue(n: XenNote): string {
  switch (n.kind) {
    case 'string':
      return `"${printable(n.value)}"`;
    case 'numeric':
      return `${n.value} (${n.size} bytes)`;
    case 'l1-mfn-valid':
      return n.pairs.map((p) => `mask=${p.mask} value=${p.value}`).join(', ');
    case 'bitmap':
      return `0x${n.value.toString(16)} = ${n.features.join(', ') || '(none)'}`;
    case 'phys32-reloc':
      return [
        `align=${fmt(n.align)}`,
        n.min !== undefined ? `min=${fmt(n.min)}` : '',
        n.max !== undefined ? `max=${fmt(n.max)}` : '',
      ]
        .filter(Boolean)
        .join(' ');
    case 'raw':
      return `raw ${n.raw.length > 64 ? n.raw.slice(0, 64) + '...' : n.raw || '(empty)'}${n.error ? ` (${n.error})` : ''}`;
  }
}

function fmt(n: number | undefined): string {
  return n === undefined ? '?' : '0x' + n.toString(16);
}

/** Why the libxl rule gave this placement (the placement itself comes from @fleetcompat/policy). */
export function rsdpReason(r: KernelInspection): string {
  const x = r.xenNotes;
  if (!x)
    return r.xenGuest
      ? 'the image has no Xen notes (only __xen_guest, which PVH ignores)'
      : 'the image has no Xen notes';
  if (x.guestOs === undefined) return 'no GUEST_OS note';
  if (x.guestOs !== 'linux') return `GUEST_OS is "${printable(x.guestOs)}", not "linux"`;
  if (r.rsdpPlacement === 'high')
    return 'SUPPORTED_FEATURES has bit 15 (linux_rsdp_unrestricted): the kernel reads rsdp_paddr';
  return 'GUEST_OS "linux" without bit 15 (linux_rsdp_unrestricted): the kernel looks for the RSDP below 1 MiB';
}

/** The readable table of `fleetcompat kernel inspect`. */
export function formatTable(path: string, r: KernelInspection): string {
  const rows: [string, string][] = [];
  rows.push(['Image', printable(path)]);
  rows.push(['sha256', r.sha256]);
  let format: string;
  if (r.format === 'bzimage' && r.bzImage) {
    format = `bzImage (boot protocol ${r.bzImage.protocol}), ${r.compression} payload of ${r.bzImage.payloadLength} bytes -> ${r.elf.size} bytes`;
  } else if (r.format === 'compressed-elf') {
    format = `${r.compression}-compressed ELF, ${r.size} -> ${r.elf.size} bytes`;
  } else {
    format = `ELF, ${r.size} bytes`;
  }
  rows.push(['Format', format]);
  rows.push(['ELF', `${r.elf.class}-bit ${r.elf.endian}-endian ${r.elf.machine}`]);
  rows.push(['Release', r.release ? printable(r.release) : '(unknown)']);
  if (r.buildId) rows.push(['Build id', r.buildId]);
  rows.push(['Xen notes', r.xenNotes ? `${r.notes.length} (from ${r.notesSource})` : 'none']);
  if (r.xenNotes) {
    rows.push(['Guest OS', r.xenNotes.guestOs !== undefined ? printable(r.xenNotes.guestOs) : '(no GUEST_OS note)']);
    const sf = r.xenNotes.supportedFeatures;
    rows.push([
      'Supported',
      sf !== undefined
        ? `0x${sf.toString(16)} = ${r.supportedFeatureNames.join(', ') || '(none)'}`
        : '(no SUPPORTED_FEATURES note)',
    ]);
  }
  if (r.xenGuest)
    rows.push([
      '__xen_guest',
      `"${printable(r.xenGuest.raw)}" (legacy; libelf reads it for PV guests without notes, never for PVH)`,
    ]);
  rows.push([
    'PVH-capable',
    r.pvhCapable ? `yes (PHYS32_ENTRY ${r.xenNotes?.phys32Entry ?? 'present'})` : 'no (no PHYS32_ENTRY note)',
  ]);
  rows.push(['libxc as PVH', verdict(r.libelf.pvh)]);
  rows.push(['libxc as PV', verdict(r.libelf.pv)]);
  if (r.libelf.broken)
    rows.push(['libelf', `marks the ELF broken: ${r.libelf.broken} (readnotes warns, the toolstack only logs it)`]);
  rows.push(['RSDP (libxl)', `${r.rsdpPlacement}: ${rsdpReason(r)}`]);
  if (r.bootloader)
    rows.push([
      'Bootloader',
      `${r.bootloader.name}, a ${r.bootloader.mode.toUpperCase()} bootloader (${r.bootloader.evidence})`,
    ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  let out = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
  if (r.notes.length) {
    const nameW = Math.max(4, ...r.notes.map((n) => n.name.length));
    out += `\n  ${'TYPE'.padEnd(4)}  ${'NAME'.padEnd(nameW)}  VALUE\n`;
    for (const n of r.notes)
      out += `  ${String(n.type).padEnd(4)}  ${n.name.padEnd(nameW)}  ${printable(noteValue(n))}\n`;
  }
  if (r.bootloader) out += '\n' + bootloaderAdvice(path, r);
  return out;
}

function verdict(v: { accepted: boolean; reason: string }): string {
  return `${v.accepted ? 'loads it' : 'refuses it'}: ${printable(v.reason)}`;
}

/** What a bootloader image means for the toolstack and how to announce it. */
export function bootloaderAdvice(path: string, r: KernelInspection): string {
  const b = r.bootloader;
  if (!b) return '';
  const lines: string[] = [];
  if (b.mode === 'pvh') {
    lines.push(
      `This is ${b.name} built as a PVH bootloader (pvh-grub), not a kernel. For a PVH guest that boots`,
      `through it (boot.method "pvh-grub"), the toolstack loads this image and applies libxl's RSDP rule`,
      `to its notes: RSDP ${r.rsdpPlacement} (${rsdpReason(r)}). The kernel ${b.name} loads later decides`,
      `nothing for the toolstack: whether that kernel copes with a ${r.rsdpPlacement} RSDP is what the service checks.`,
    );
  } else {
    lines.push(
      `This is ${b.name} built as a PV bootloader (pvgrub2), not a kernel: it boots PV guests, which get`,
      `no ACPI tables, so there is no RSDP to place (the service decides "not-applicable" for PV guests).`,
      `The kernel ${b.name} loads later decides nothing for the toolstack, which only sees this image.`,
    );
  }
  lines.push(
    `Publish it as a bootloader build (a KernelBuildCompleted for imageSha256 ${r.sha256}):`,
    `  fleetcompat kernel publish ${printable(path)} --release <${b.name} version, e.g. grub-2.06-13> (--brokers <list> | --url <url> | --dry-run)`,
    `Guests that boot through it name it in GuestObserved's boot.bootloaderSha256 (${r.sha256}).`,
  );
  return lines.join('\n') + '\n';
}

/** The --json document: the inspection with the image path first. */
export function toJson(path: string, r: KernelInspection): string {
  return JSON.stringify({ image: path, ...r }, null, 2) + '\n';
}
