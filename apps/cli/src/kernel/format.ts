import { KernelInspection, XenNote } from '@fleetcompat/kernel-notes';

/** Control characters and non-ASCII from a hostile image are shown escaped, never sent to the terminal. */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

export function noteValue(n: XenNote): string {
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
      return [`align=${fmt(n.align)}`, n.min !== undefined ? `min=${fmt(n.min)}` : '', n.max !== undefined ? `max=${fmt(n.max)}` : ''].filter(Boolean).join(' ');
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
  if (!x) return 'the image has no Xen notes';
  if (x.guestOs === undefined) return 'no GUEST_OS note';
  if (x.guestOs !== 'linux') return `GUEST_OS is "${printable(x.guestOs)}", not "linux"`;
  if (r.rsdpPlacement === 'high') return 'SUPPORTED_FEATURES has bit 15 (linux_rsdp_unrestricted): the kernel reads rsdp_paddr';
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
    rows.push(['Supported', sf !== undefined ? `0x${sf.toString(16)} = ${r.supportedFeatureNames.join(', ') || '(none)'}` : '(no SUPPORTED_FEATURES note)']);
  }
  rows.push(['PVH-capable', r.pvhCapable ? `yes (PHYS32_ENTRY ${r.xenNotes?.phys32Entry ?? 'present'})` : 'no (no PHYS32_ENTRY note)']);
  rows.push(['RSDP (libxl)', `${r.rsdpPlacement}: ${rsdpReason(r)}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  let out = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
  if (r.notes.length) {
    const nameW = Math.max(4, ...r.notes.map((n) => n.name.length));
    out += `\n  ${'TYPE'.padEnd(4)}  ${'NAME'.padEnd(nameW)}  VALUE\n`;
    for (const n of r.notes) out += `  ${String(n.type).padEnd(4)}  ${n.name.padEnd(nameW)}  ${noteValue(n)}\n`;
  }
  return out;
}

/** The --json document: the inspection with the image path first. */
export function toJson(path: string, r: KernelInspection): string {
  return JSON.stringify({ image: path, ...r }, null, 2) + '\n';
}
