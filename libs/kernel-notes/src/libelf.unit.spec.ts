import { inspectKernelImage, KernelInspection, parseFeatures, parseXenGuest, XenNote } from '@fleetcompat/kernel-notes';
import { buildRawElf, encodeNotesAligned, str, u16, u32, u64, u8, xen } from './test/synth';

/*
 * Where Xen's libelf reads notes differently from the ELF spec (xen/common/libelf), each case
 * an image libelf accepts: the CLI must read it the same way and never refuse it.
 */

const PT_LOAD = 1;
const PT_NOTE = 4;
const SHT_NOTE = 7;
const SHT_PROGBITS = 1;

function names(r: KernelInspection): string[] {
  return r.notes.map((n) => n.name);
}
function note(r: KernelInspection, name: string): XenNote {
  const n = r.notes.find((x) => x.name === name);
  if (!n) throw new Error(`no ${name} note`);
  return n;
}
const text = () => Buffer.alloc(64, 0x90);

/** An ELF whose only note table is `notes` in a PT_NOTE segment. */
function withNotes(
  notes: Buffer,
  o: { class?: 32 | 64; align?: number; filesz?: number; truncate?: number; bigEndian?: boolean; data?: number } = {},
) {
  return buildRawElf({
    class: o.class,
    bigEndian: o.bigEndian,
    data: o.data,
    segments: [
      { type: PT_LOAD, blob: 0, align: 0x1000 },
      { type: PT_NOTE, blob: 1, align: o.align ?? 4, filesz: o.filesz },
    ],
    blobs: [text(), notes],
    truncate: o.truncate,
  });
}

describe('libelf: note layout', () => {
  it('names and payloads are 4-byte aligned whatever p_align says (GRUB x86_64-xen: p_align 8)', () => {
    const notes = encodeNotesAligned(
      [xen(6, str('GRUB')), xen(8, str('generic')), xen(5, str('xen-3.0')), xen(1, u64(0n)), xen(3, u64(0n))],
      4,
    );
    const r = inspectKernelImage(withNotes(notes, { align: 8 }));
    expect(names(r)).toEqual(['GUEST_OS', 'LOADER', 'XEN_VERSION', 'ENTRY', 'VIRT_BASE']);
    expect(r.xenNotes).toMatchObject({ guestOs: 'GRUB', loader: 'generic', xenVersion: 'xen-3.0', pvh: false });
  });

  it('the same in a 32-bit ELF: the note header is 12 bytes in both classes', () => {
    const notes = encodeNotesAligned([xen(6, str('GRUB')), xen(1, u32(0)), xen(9, str('yes'))], 4);
    const r = inspectKernelImage(withNotes(notes, { class: 32, align: 4 }));
    expect(names(r)).toEqual(['GUEST_OS', 'ENTRY', 'PAE_MODE']);
  });

  it('a last payload that runs past the end of its segment and of the file (GRUB i386-xen: a 12-byte "yes")', () => {
    const notes = encodeNotesAligned(
      [xen(6, str('GRUB')), xen(5, str('xen-3.0')), { ...xen(9, str('yes')), descsz: 12 }],
      4,
    );
    // the file (and the segment) end right after "yes\0"
    const img = withNotes(notes);
    const r = inspectKernelImage(img);
    expect(names(r)).toEqual(['GUEST_OS', 'XEN_VERSION', 'PAE_MODE']);
    expect(note(r, 'PAE_MODE')).toMatchObject({ kind: 'string', value: 'yes' });
    expect(r.libelf.broken).toBeNull();
  });

  it('a note whose header starts inside the table but whose fields run past the image reads them as 0', () => {
    const notes = Buffer.concat([encodeNotesAligned([xen(6, str('linux'))]), Buffer.from([0x04, 0x00])]);
    const r = inspectKernelImage(withNotes(notes));
    expect(names(r)).toEqual(['GUEST_OS']);
    expect(r.libelf.broken).toBe('out of range access');
  });

  it('notes after the end of the table are not read; a payload may reach into them', () => {
    const inside = encodeNotesAligned([xen(6, str('linux')), xen(17, u32(0x8801))]);
    const after = encodeNotesAligned([xen(18, u64(0x1000000n))]);
    const r = inspectKernelImage(withNotes(Buffer.concat([inside, after]), { filesz: inside.length }));
    expect(names(r)).toEqual(['GUEST_OS', 'SUPPORTED_FEATURES']);
    expect(r.pvhCapable).toBe(false);
  });

  it('a PT_NOTE with p_offset 0 is skipped ("some versions of binutils")', () => {
    const notes = encodeNotesAligned([xen(6, str('linux')), xen(18, u32(0x1000000))]);
    const img = buildRawElf({
      segments: [
        { type: PT_NOTE, offset: 0, filesz: 64 },
        { type: PT_NOTE, blob: 0 },
      ],
      blobs: [notes],
    });
    const r = inspectKernelImage(img);
    expect(names(r)).toEqual(['GUEST_OS', 'PHYS32_ENTRY']);
  });
});

describe('libelf: owners and names', () => {
  it('the owner must be exactly "Xen"; other owners are ignored', () => {
    const notes = encodeNotesAligned([
      { owner: 'xen', type: 6, desc: str('wrong') },
      { owner: 'XEN', type: 6, desc: str('wrong') },
      { owner: 'Xen ', type: 6, desc: str('wrong') },
      { owner: 'Xen2', type: 6, desc: str('wrong') },
      xen(6, str('linux')),
    ]);
    const r = inspectKernelImage(withNotes(notes));
    expect(r.notes).toHaveLength(1);
    expect(r.xenNotes?.guestOs).toBe('linux');
  });

  it('the owner is the NUL-terminated string, whatever namesz says', () => {
    // namesz 3 ("Xen" without its NUL): the padding supplies the NUL
    const notes = encodeNotesAligned([{ ...xen(6, str('linux')), namesz: 3 }]);
    expect(inspectKernelImage(withNotes(notes)).xenNotes?.guestOs).toBe('linux');
  });

  it('a string payload without a NUL is read on to the next NUL, past descsz', () => {
    const notes = encodeNotesAligned([xen(6, Buffer.from('linux', 'latin1')), xen(18, u32(0x1000000))]);
    // "linux" (5 bytes) is padded with 3 NULs: the string ends there
    const r = inspectKernelImage(withNotes(notes));
    expect(note(r, 'GUEST_OS')).toMatchObject({
      value: 'linux',
      remark: expect.stringContaining('no NUL inside the 5-byte payload'),
    });
    // descsz 2 over "linux\0": libelf still reads "linux"
    const short = encodeNotesAligned([{ ...xen(6, str('linux')), descsz: 2 }]);
    expect(inspectKernelImage(withNotes(short)).xenNotes?.guestOs).toBe('linux');
  });

  it('a string with no NUL before the end of the image is ignored (a later note of the type wins, an earlier one stays)', () => {
    const notes = Buffer.concat([
      encodeNotesAligned([xen(6, str('FreeBSD'))]),
      encodeNotesAligned([xen(6, Buffer.from('linu', 'latin1'))], 1),
    ]);
    const r = inspectKernelImage(withNotes(notes.subarray(0, notes.length)));
    expect(r.notes[1]).toMatchObject({ kind: 'raw', error: expect.stringContaining('ignores') });
    expect(r.xenNotes?.guestOs).toBe('FreeBSD');
  });
});

describe('libelf: numeric notes', () => {
  it('1, 2, 4 and 8-byte payloads are read; any other size reads as 0', () => {
    const notes = encodeNotesAligned([
      xen(2, u8(0x12)),
      xen(12, u16(0xf580)),
      xen(14, u32(1)),
      xen(3, u64(0xffffffff80000000n)),
      xen(1, Uint8Array.of(1, 2, 3)),
    ]);
    const r = inspectKernelImage(withNotes(notes));
    expect(r.notes.map((n) => (n.kind === 'numeric' ? [n.name, n.value, n.size] : n.kind))).toEqual([
      ['HYPERCALL_PAGE', '0x12', 1],
      ['HV_START_LOW', '0xf580', 2],
      ['SUSPEND_CANCEL', '0x1', 4],
      ['VIRT_BASE', '0xffffffff80000000', 8],
      ['ENTRY', '0x0', 3],
    ]);
  });

  it('PHYS32_ENTRY of an odd size reads as 0, which is set: PVH-capable', () => {
    const r = inspectKernelImage(withNotes(encodeNotesAligned([xen(18, Uint8Array.of(0x50, 0x08, 0))])));
    expect(r.xenNotes).toEqual({ phys32Entry: '0x0', pvh: true });
    expect(r.libelf.pvh.accepted).toBe(true);
  });

  it("PHYS32_ENTRY whose low 32 bits are 0xffffffff is libelf's UNSET_ADDR32: not PVH-capable", () => {
    for (const desc of [u32(0xffffffff), u64(0x1ffffffffn)]) {
      const r = inspectKernelImage(
        withNotes(encodeNotesAligned([xen(6, str('linux')), xen(5, str('xen-3.0')), xen(18, desc)])),
      );
      expect(r.pvhCapable).toBe(false);
      expect(r.libelf.pvh).toMatchObject({ accepted: false, reason: expect.stringContaining('no PHYS32_ENTRY') });
    }
  });

  it('SUPPORTED_FEATURES notes are ORed; a payload that is not a multiple of 4 gives no bits', () => {
    const notes = encodeNotesAligned([
      xen(6, str('linux')),
      xen(17, u32(0x801)),
      xen(17, u32(1 << 15)),
      xen(17, Uint8Array.of(0xff, 0xff, 0xff)),
    ]);
    const r = inspectKernelImage(withNotes(notes));
    expect(r.xenNotes?.supportedFeatures).toBe(0x8801);
    expect(r.rsdpPlacement).toBe('high');
    expect(r.notes[3]).toMatchObject({ kind: 'bitmap', value: 0, remark: expect.stringContaining('no feature bits') });
  });

  it('a big-endian ELF (EI_DATA 2), and one with EI_DATA 0, which libelf also byte-swaps', () => {
    for (const data of [2, 0]) {
      const notes = encodeNotesAligned(
        [xen(6, str('linux')), xen(17, u32be(0x8801)), xen(18, u32be(0x1000000))],
        4,
        true,
      );
      const r = inspectKernelImage(withNotes(notes, { bigEndian: true, data }));
      expect(r.elf.endian).toBe('big');
      expect(r.xenNotes).toMatchObject({ supportedFeatures: 0x8801, phys32Entry: '0x1000000', pvh: true });
    }
  });
});

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe('libelf: PT_NOTE and SHT_NOTE', () => {
  const segNotes = encodeNotesAligned([xen(6, str('FreeBSD')), xen(18, u32(0x200000))]);
  const secNotes = encodeNotesAligned([xen(6, str('linux')), xen(17, u32(0x801)), xen(18, u32(0x1000000))]);

  it('PT_NOTE segments win when they hold a Xen note; the sections are then not read', () => {
    const img = buildRawElf({
      segments: [{ type: PT_NOTE, blob: 0 }],
      sections: [{ name: '.note.xen', type: SHT_NOTE, blob: 1 }],
      blobs: [segNotes, secNotes],
    });
    const r = inspectKernelImage(img);
    expect(r.notesSource).toBe('PT_NOTE');
    expect(r.xenNotes?.guestOs).toBe('FreeBSD');
  });

  it('segments with notes of other owners only: the SHT_NOTE sections are read', () => {
    const gnu = encodeNotesAligned([{ owner: 'GNU', type: 3, desc: u32(1, 2, 3, 4, 5) }]);
    const img = buildRawElf({
      segments: [{ type: PT_NOTE, blob: 0 }],
      sections: [
        { name: '.note.gnu', type: SHT_NOTE, blob: 0 },
        { name: '.note.xen', type: SHT_NOTE, blob: 1 },
      ],
      blobs: [gnu, secNotes],
    });
    const r = inspectKernelImage(img);
    expect(r.notesSource).toBe('SHT_NOTE');
    expect(r.xenNotes).toMatchObject({ guestOs: 'linux', supportedFeatures: 0x801, pvh: true });
    expect(r.rsdpPlacement).toBe('low');
  });

  it('every SHT_NOTE section is read, from index 1; their notes add up', () => {
    const a = encodeNotesAligned([xen(6, str('linux'))]);
    const b = encodeNotesAligned([xen(18, u32(0x1000000))]);
    const img = buildRawElf({
      segments: [],
      sections: [
        { name: 'a', type: SHT_NOTE, blob: 0 },
        { name: 'b', type: SHT_NOTE, blob: 1 },
      ],
      blobs: [a, b],
    });
    const r = inspectKernelImage(img);
    expect(names(r)).toEqual(['GUEST_OS', 'PHYS32_ENTRY']);
    expect(r.notes.map((n) => n.name)).toHaveLength(2);
  });

  it('after 65536 notes in all libelf stops (ELF_MAX_TOTAL_NOTE_COUNT)', () => {
    const empty = Buffer.alloc(12 * 70000); // notes with namesz 0, descsz 0, an empty name
    const tail = encodeNotesAligned([xen(6, str('linux'))]);
    const r = inspectKernelImage(withNotes(Buffer.concat([empty, tail])));
    expect(r.notes).toHaveLength(0);
    expect(r.libelf.broken).toBe('too many ELF notes');
  });
});

describe('libelf: what the toolstack does with the notes', () => {
  it('a FEATURES string requiring a feature libelf does not know: refused as PVH and PV', () => {
    const notes = encodeNotesAligned([
      xen(6, str('linux')),
      xen(5, str('xen-3.0')),
      xen(10, str('writable_page_tables|!no_such_feature')),
      xen(18, u32(0x1000000)),
    ]);
    const r = inspectKernelImage(withNotes(notes));
    expect(r.libelf.pvh).toMatchObject({ accepted: false, reason: expect.stringContaining('"no_such_feature"') });
    expect(r.libelf.pv.accepted).toBe(false);
  });

  it('libelf knows seven FEATURES names; "!dom0" is refused for a domU', () => {
    expect(parseFeatures('!writable_page_tables|pae_pgdir_above_4gb')).toEqual({
      supported: 0x11,
      required: 0x1,
      unknownRequired: null,
    });
    expect(parseFeatures('linux_rsdp_unrestricted|dom0')).toEqual({
      supported: 0x800,
      required: 0,
      unknownRequired: null,
    });
    const r = inspectKernelImage(
      withNotes(
        encodeNotesAligned([xen(6, str('linux')), xen(5, str('xen-3.0')), xen(10, str('!dom0')), xen(18, u32(1))]),
      ),
    );
    expect(r.libelf.pvh).toMatchObject({ accepted: false, reason: expect.stringContaining('dom0') });
  });

  it('a Linux PV+PVH kernel is accepted both ways; without PHYS32_ENTRY only as PV', () => {
    const base = [xen(6, str('linux')), xen(5, str('xen-3.0')), xen(8, str('generic'))];
    const both = inspectKernelImage(withNotes(encodeNotesAligned([...base, xen(18, u32(0x1000000))])));
    expect([both.libelf.pvh.accepted, both.libelf.pv.accepted]).toEqual([true, true]);
    const pv = inspectKernelImage(withNotes(encodeNotesAligned(base)));
    expect([pv.libelf.pvh.accepted, pv.libelf.pv.accepted]).toEqual([false, true]);
  });

  it('an ELF without notes is "not a Xen-ELF image"', () => {
    const r = inspectKernelImage(buildRawElf({ segments: [{ type: PT_LOAD, blob: 0 }], blobs: [text()] }));
    expect(r.libelf.pvh).toMatchObject({ accepted: false, reason: expect.stringContaining('not a Xen-ELF image') });
  });

  it('the legacy __xen_guest section (GNU Mach): read for PV guests only', () => {
    const guest = Buffer.from(
      'GUEST_OS=GNU Mach,GUEST_VERSION=1.3,XEN_VER=xen-3.0,VIRT_BASE=0x40000000,LOADER=generic\0',
      'latin1',
    );
    const img = buildRawElf({
      class: 32,
      segments: [{ type: PT_LOAD, blob: 0 }],
      sections: [{ name: '__xen_guest', type: SHT_PROGBITS, blob: 1 }],
      blobs: [text(), guest],
    });
    const r = inspectKernelImage(img);
    expect(r.xenNotes).toBeNull();
    expect(r.xenGuest?.fields).toMatchObject({ GUEST_OS: 'GNU Mach', XEN_VER: 'xen-3.0', LOADER: 'generic' });
    expect(r.libelf.pv).toMatchObject({ accepted: true, reason: expect.stringContaining('__xen_guest') });
    expect(r.libelf.pvh.accepted).toBe(false);
    expect(parseXenGuest('A=1,B,C=x=y')).toEqual({ A: '1', B: '', C: 'x=y' });
  });
});

describe('bootloaders', () => {
  const mods = Buffer.concat([Buffer.from('mimg', 'latin1'), u32(12, 0)]);

  it('GRUB for PV guests (GUEST_OS "GRUB"): a PV bootloader', () => {
    const notes = encodeNotesAligned([
      xen(6, str('GRUB')),
      xen(8, str('generic')),
      xen(5, str('xen-3.0')),
      xen(1, u64(0n)),
      xen(3, u64(0n)),
    ]);
    const r = inspectKernelImage(withNotes(notes, { align: 8 }));
    expect(r.bootloader).toEqual({ name: 'GRUB', mode: 'pv', evidence: 'GUEST_OS "GRUB"' });
    expect(r.libelf.pv.accepted).toBe(true);
    expect(r.libelf.pvh.accepted).toBe(false);
    expect(r.rsdpPlacement).toBe('high');
  });

  it("GRUB for PVH guests (only PHYS32_ENTRY; GRUB's module area): a PVH bootloader", () => {
    const img = buildRawElf({
      class: 32,
      segments: [
        { type: PT_LOAD, blob: 0 },
        { type: PT_NOTE, blob: 2 },
      ],
      sections: [
        { name: '.text', type: SHT_PROGBITS, blob: 0 },
        { name: 'mods', type: SHT_PROGBITS, blob: 1 },
        { name: '.xen', type: SHT_PROGBITS, blob: 2 },
      ],
      blobs: [text(), mods, encodeNotesAligned([xen(18, u32(0x100000))])],
    });
    const r = inspectKernelImage(img);
    expect(r.bootloader).toEqual({ name: 'GRUB', mode: 'pvh', evidence: expect.stringContaining('mimg') });
    expect(r.xenNotes).toEqual({ phys32Entry: '0x100000', pvh: true });
    expect(r.rsdpPlacement).toBe('high');
  });

  it('a kernel is not a bootloader', () => {
    expect(
      inspectKernelImage(withNotes(encodeNotesAligned([xen(6, str('linux')), xen(18, u32(1))]))).bootloader,
    ).toBeNull();
  });
});
