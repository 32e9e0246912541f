import { createHash } from 'crypto';
import { gzipSync } from 'zlib';
import { XenNotesSchema } from '@fleetcompat/contract';
import { inspectKernelImage, KernelImageError, KernelInspection, XenNote } from '@fleetcompat/kernel-notes';
import { buildElf, freebsd, linux415, linux417, str, u16, u32, u64, u8, xen } from './test/synth';

function note(r: KernelInspection, name: string): XenNote {
  const n = r.notes.find((x) => x.name === name);
  if (!n) throw new Error(`no ${name} note`);
  return n;
}

function errorOf(f: () => unknown): KernelImageError {
  try {
    f();
  } catch (e) {
    if (e instanceof KernelImageError) return e;
    throw new Error(`expected a KernelImageError, got ${String(e)}`);
  }
  throw new Error('expected an error');
}

describe('inspectKernelImage on synthetic kernels', () => {
  it('a Linux 4.15-like kernel (bitmap 0x801) is PVH-capable and gets the RSDP low', () => {
    const r = inspectKernelImage(linux415());
    expect(r.format).toBe('elf');
    expect(r.elf).toMatchObject({ class: 64, machine: 'x86_64' });
    expect(r.notesSource).toBe('PT_NOTE');
    expect(r.xenNotes).toEqual({
      guestOs: 'linux',
      guestVersion: '2.6',
      xenVersion: 'xen-3.0',
      loader: 'generic',
      features: '!writable_page_tables|pae_pgdir_above_4gb',
      supportedFeatures: 0x801,
      phys32Entry: '0x1000850',
      pvh: true,
    });
    expect(XenNotesSchema.parse(r.xenNotes)).toEqual(r.xenNotes);
    expect(r.supportedFeatureNames).toEqual(['writable_page_tables', 'dom0']);
    expect(r.rsdpPlacement).toBe('low');
    expect(r.pvhCapable).toBe(true);
    expect(r.release).toBe('4.15.0-synthetic');
    expect(r.buildId).toBe('0123456789abcdef0123456789abcdef01234567');
  });

  it('a Linux 4.17-like kernel (bitmap 0x8801) gets the RSDP high', () => {
    const r = inspectKernelImage(linux417());
    expect(r.xenNotes?.supportedFeatures).toBe(0x8801);
    expect(r.supportedFeatureNames).toEqual(['writable_page_tables', 'dom0', 'linux_rsdp_unrestricted']);
    expect(r.rsdpPlacement).toBe('high');
    expect(r.release).toBe('4.17.0-synthetic');
  });

  it('a FreeBSD kernel gets the RSDP high whatever its features', () => {
    const r = inspectKernelImage(freebsd());
    expect(r.xenNotes).toMatchObject({ guestOs: 'FreeBSD', guestVersion: 'HEAD', pvh: true, phys32Entry: '0x2c5000' });
    expect(r.xenNotes?.supportedFeatures).toBeUndefined();
    expect(r.rsdpPlacement).toBe('high');
    expect(note(r, 'BSD_SYMTAB')).toMatchObject({ kind: 'string', value: 'yes' });
    expect(note(r, 'PHYS32_ENTRY')).toMatchObject({ kind: 'numeric', value: '0x2c5000', size: 4 });
  });

  it('an image without a GUEST_OS note (a pvh-grub-like bootloader) gets the RSDP high', () => {
    const r = inspectKernelImage(buildElf([xen(18, u32(0x100000))]));
    expect(r.xenNotes).toEqual({ pvh: true, phys32Entry: '0x100000' });
    expect(r.rsdpPlacement).toBe('high');
  });

  it('"Linux" (capitalised) is not "linux": high', () => {
    const r = inspectKernelImage(buildElf([xen(6, str('Linux')), xen(17, u32(0x801)), xen(18, u64(0x1000850n))]));
    expect(r.rsdpPlacement).toBe('high');
  });

  it('an ELF without Xen notes: xenNotes null, not PVH-capable, RSDP high', () => {
    const r = inspectKernelImage(buildElf([{ owner: 'GNU', type: 3, desc: u32(1, 2, 3, 4, 5) }]));
    expect(r.xenNotes).toBeNull();
    expect(r.notes).toEqual([]);
    expect(r.notesSource).toBeNull();
    expect(r.pvhCapable).toBe(false);
    expect(r.rsdpPlacement).toBe('high');
    expect(r.buildId).toBe('0100000002000000030000000400000005000000');
  });

  it('Xen notes without PHYS32_ENTRY: not PVH-capable', () => {
    const r = inspectKernelImage(buildElf([xen(6, str('linux')), xen(17, u32(0x801))]));
    expect(r.xenNotes).toEqual({ guestOs: 'linux', supportedFeatures: 0x801, pvh: false });
    expect(r.pvhCapable).toBe(false);
    expect(r.rsdpPlacement).toBe('low');
  });

  it('reads a 32-bit ELF', () => {
    const r = inspectKernelImage(linux415({ class: 32 }));
    expect(r.elf).toMatchObject({ class: 32, machine: 'i386' });
    expect(r.xenNotes?.guestOs).toBe('linux');
    expect(r.xenNotes?.supportedFeatures).toBe(0x801);
    expect(r.rsdpPlacement).toBe('low');
  });

  it('falls back to SHT_NOTE sections when there is no PT_NOTE segment', () => {
    for (const cls of [32, 64] as const) {
      const r = inspectKernelImage(linux417({ placement: 'section', class: cls }));
      expect(r.notesSource).toBe('SHT_NOTE');
      expect(r.xenNotes?.supportedFeatures).toBe(0x8801);
      expect(r.release).toBe('4.17.0-synthetic');
      expect(r.rsdpPlacement).toBe('high');
    }
  });

  it('prefers PT_NOTE segments when both are present', () => {
    expect(inspectKernelImage(linux417({ placement: 'both' })).notesSource).toBe('PT_NOTE');
    expect(inspectKernelImage(linux417({ placement: 'segment' })).notesSource).toBe('PT_NOTE');
  });

  it('reads a gzip-compressed ELF', () => {
    const r = inspectKernelImage(gzipSync(linux415()));
    expect(r.format).toBe('compressed-elf');
    expect(r.compression).toBe('gzip');
    expect(r.rsdpPlacement).toBe('low');
  });

  it('decodes every note type of the table by its payload kind, unknown types raw', () => {
    const r = inspectKernelImage(
      buildElf([
        xen(0, str('some info')),
        xen(1, u64(0xffffffff81000000n)),
        xen(2, u32(0x81001000)),
        xen(3, u64(0xffffffff80000000n)),
        xen(4, u8(0)),
        xen(5, str('xen-3.0')),
        xen(6, str('linux')),
        xen(7, str('2.6')),
        xen(8, str('generic')),
        xen(9, str('bimodal')),
        xen(10, str('writable_page_tables|!pae_pgdir_above_4gb')),
        xen(11, str('no')),
        xen(12, u16(0xf580)),
        xen(13, u32(0x1, 0x1)),
        xen(14, u8(1)),
        xen(15, u64(0x8000000000n)),
        xen(16, u32(1)),
        xen(17, u32(0x8801)),
        xen(18, u64(0x1000850n)),
        xen(19, u32(0x200000, 0x1000000, 0xffffffff)),
        xen(42, Uint8Array.of(0xde, 0xad, 0xbe, 0xef)),
        xen(2, Uint8Array.of(1, 2, 3)),
      ]),
    );
    const byType = (t: number) => r.notes.filter((n) => n.type === t);
    expect(byType(0)).toEqual([{ type: 0, name: 'INFO', kind: 'string', value: 'some info' }]);
    expect(byType(1)[0]).toEqual({ type: 1, name: 'ENTRY', kind: 'numeric', value: '0xffffffff81000000', size: 8 });
    expect(byType(2)[0]).toEqual({ type: 2, name: 'HYPERCALL_PAGE', kind: 'numeric', value: '0x81001000', size: 4 });
    expect(byType(4)[0]).toEqual({ type: 4, name: 'PADDR_OFFSET', kind: 'numeric', value: '0x0', size: 1 });
    expect(byType(9)[0]).toMatchObject({ name: 'PAE_MODE', value: 'bimodal' });
    expect(byType(11)[0]).toMatchObject({ name: 'BSD_SYMTAB', value: 'no' });
    expect(byType(12)[0]).toEqual({ type: 12, name: 'HV_START_LOW', kind: 'numeric', value: '0xf580', size: 2 });
    expect(byType(13)[0]).toEqual({
      type: 13,
      name: 'L1_MFN_VALID',
      kind: 'l1-mfn-valid',
      pairs: [{ mask: '0x1', value: '0x1' }],
      size: 8,
    });
    expect(byType(14)[0]).toMatchObject({ name: 'SUSPEND_CANCEL', value: '0x1', size: 1 });
    expect(byType(15)[0]).toMatchObject({ name: 'INIT_P2M', value: '0x8000000000' });
    expect(byType(16)[0]).toMatchObject({ name: 'MOD_START_PFN', value: '0x1', size: 4 });
    expect(byType(17)[0]).toEqual({
      type: 17,
      name: 'SUPPORTED_FEATURES',
      kind: 'bitmap',
      value: 0x8801,
      features: ['writable_page_tables', 'dom0', 'linux_rsdp_unrestricted'],
      size: 4,
    });
    expect(byType(19)[0]).toEqual({
      type: 19,
      name: 'PHYS32_RELOC',
      kind: 'phys32-reloc',
      align: 0x200000,
      min: 0x1000000,
      max: 0xffffffff,
      size: 12,
    });
    expect(byType(42)[0]).toEqual({ type: 42, name: 'UNKNOWN_42', kind: 'raw', raw: 'deadbeef', size: 4 });
    // a numeric note of a size libelf does not read: elf_note_numeric gives 0
    expect(byType(2)[1]).toEqual({
      type: 2,
      name: 'HYPERCALL_PAGE',
      kind: 'numeric',
      value: '0x0',
      size: 3,
      remark: expect.stringContaining('3-byte payload'),
    });
    expect(r.xenNotes).toMatchObject({
      guestOs: 'linux',
      features: 'writable_page_tables|!pae_pgdir_above_4gb',
      pvh: true,
    });
  });

  it('PHYS32_RELOC with only align and min, and L1_MFN_VALID as a list of 8-byte pairs', () => {
    const r = inspectKernelImage(buildElf([xen(19, u32(0x1000, 0x2000)), xen(13, u64(1n, 1n, 3n, 2n))]));
    expect(note(r, 'PHYS32_RELOC')).toEqual({
      type: 19,
      name: 'PHYS32_RELOC',
      kind: 'phys32-reloc',
      align: 0x1000,
      min: 0x2000,
      size: 8,
    });
    expect(note(r, 'L1_MFN_VALID')).toMatchObject({
      pairs: [
        { mask: '0x1', value: '0x1' },
        { mask: '0x3', value: '0x2' },
      ],
    });
  });

  it('decodes unnamed XENFEAT bits as bit_N', () => {
    const r = inspectKernelImage(buildElf([xen(17, u32((1 << 12) | (1 << 31) | 1))]));
    expect(r.supportedFeatureNames).toEqual(['writable_page_tables', 'bit_12', 'bit_31']);
  });

  it('the last note of a type wins, as in libxc', () => {
    const r = inspectKernelImage(buildElf([xen(6, str('FreeBSD')), xen(6, str('linux')), xen(17, u32(0x801))]));
    expect(r.xenNotes?.guestOs).toBe('linux');
    expect(r.rsdpPlacement).toBe('low');
  });

  it('hashes the file as given', () => {
    const img = linux417();
    const r = inspectKernelImage(img);
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.sha256).toBe(createHash('sha256').update(img).digest('hex'));
    expect(r.size).toBe(img.length);
  });
});

describe('inspectKernelImage on broken input', () => {
  it('an empty file', () => {
    expect(errorOf(() => inspectKernelImage(new Uint8Array(0)))).toMatchObject({ code: 'empty' });
  });

  it('random bytes', () => {
    const e = errorOf(() => inspectKernelImage(Buffer.from('this is not a kernel at all, just text\n'.repeat(40))));
    expect(e.code).toBe('unknown-format');
    expect(e.message).toMatch(/not a kernel image/);
  });

  it('a truncated ELF header', () => {
    expect(errorOf(() => inspectKernelImage(linux417().subarray(0, 40)))).toMatchObject({ code: 'truncated' });
  });

  it('program headers past the end of the file', () => {
    const img = linux417();
    img.writeBigUInt64LE(BigInt(img.length - 10), 32); // e_phoff
    expect(errorOf(() => inspectKernelImage(img)).message).toMatch(/program headers .* past the end/);
  });

  it('a PT_NOTE segment whose offset lies: libelf reads nothing there and falls back to the SHT_NOTE section', () => {
    const img = linux417();
    img.writeBigUInt64LE(0xffffffffffn, 64 + 56 + 8); // second phdr (PT_NOTE) p_offset
    const r = inspectKernelImage(img);
    expect(r.notesSource).toBe('SHT_NOTE');
    expect(r.xenNotes?.supportedFeatures).toBe(0x8801);
    expect(r.libelf.broken).toBe('out of range access');
  });

  it('a note whose payload size runs past the end of the file: read as far as the image goes, the walk ends', () => {
    const img = linux417();
    const notesOff = 64 + 2 * 56;
    img.writeUInt32LE(0x7fffffff, notesOff + 4); // first note's descsz (GUEST_OS)
    const r = inspectKernelImage(img);
    // the string is still read up to its NUL; the next note would start past the image
    expect(r.notes.map((n) => n.name)).toEqual(['GUEST_OS']);
    expect(note(r, 'GUEST_OS')).toMatchObject({ kind: 'string', value: 'linux' });
    // libelf then finds no PHYS32_ENTRY: not PVH, but GUEST_OS "linux" without bit 15: low
    expect(r.xenNotes).toEqual({ guestOs: 'linux', pvh: false });
    expect(r.rsdpPlacement).toBe('low');
  });

  it('a note whose name size is absurd: the name is still its NUL-terminated string, the payload is past the image', () => {
    const img = linux417();
    img.writeUInt32LE(0xfffffff0, 64 + 2 * 56); // first note's namesz
    const r = inspectKernelImage(img);
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatchObject({
      name: 'GUEST_OS',
      kind: 'raw',
      error: expect.stringContaining('libelf ignores the note'),
    });
    expect(r.xenNotes).toEqual({ pvh: false });
  });

  it('an unknown ELF class reads as 32-bit, as libelf does (only class 2 is 64-bit)', () => {
    const img = linux415({ class: 32 });
    img[4] = 7;
    const r = inspectKernelImage(img);
    expect(r.elf.class).toBe(32);
    expect(r.xenNotes?.supportedFeatures).toBe(0x801);
  });

  it('a gzip stream that is not an ELF inside', () => {
    const e = errorOf(() => inspectKernelImage(gzipSync(Buffer.alloc(1000, 0x41))));
    expect(e).toMatchObject({ code: 'bad-elf' });
    expect(e.message).toMatch(/gzip-decompressed data is not an ELF/);
  });

  it('a truncated gzip stream', () => {
    const gz = gzipSync(linux417({ filler: Buffer.alloc(50000, 7) }));
    expect(errorOf(() => inspectKernelImage(gz.subarray(0, gz.length - 30)))).toMatchObject({ code: 'truncated' });
  });

  it('a gzip bomb stops at the cap (configurable)', () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024));
    const e = errorOf(() => inspectKernelImage(bomb, { maxDecompressedBytes: 1024 * 1024 }));
    expect(e.code).toBe('too-large');
    expect(e.message).toMatch(/exceeds the limit of 1048576 bytes/);
  });
});
