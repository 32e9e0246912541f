import { createHash } from 'crypto';
import { gzipSync } from 'zlib';
import {
  COMPRESSIONS,
  decompress,
  detectCompression,
  inspectKernelImage,
  KernelImageError,
} from '@fleetcompat/kernel-notes';
import { buildBzImage, fixture, FIXTURE_EXT, linux415 } from './test/synth';

/*
 * The fixtures (test/fixtures, made by make-fixtures.sh) are one as/ld-built Linux
 * 4.17-like vmlinux compressed by each real tool the way kbuild does it (xz with the x86
 * BCJ filter and CRC32, lz4 legacy frame, lzop, zstd --ultra -22, ...).
 */
const expectedSha = fixture('vmlinux-4.17.sha256').toString().trim();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const reference = decompress('gzip', fixture('vmlinux-4.17.gz'));

function errorOf(f: () => unknown): KernelImageError {
  try {
    f();
  } catch (e) {
    if (e instanceof KernelImageError) return e;
    throw new Error(`expected a KernelImageError, got ${String(e)}`);
  }
  throw new Error('expected an error');
}

describe.each(COMPRESSIONS.map((c) => [c]))('%s', (compression) => {
  const data = fixture(`vmlinux-4.17.${FIXTURE_EXT[compression]}`);

  it('is recognised by its magic and decompresses to the exact vmlinux', () => {
    expect(detectCompression(data)).toBe(compression);
    const out = decompress(compression, data);
    expect(out.length).toBe(reference.length);
    expect(sha(out)).toBe(expectedSha);
  });

  it('as a compressed ELF file: the notes of the 4.17-like kernel', () => {
    const r = inspectKernelImage(data);
    expect(r.format).toBe('compressed-elf');
    expect(r.compression).toBe(compression);
    expect(r.xenNotes).toEqual({
      guestOs: 'linux',
      guestVersion: '2.6',
      xenVersion: 'xen-3.0',
      loader: 'generic',
      features: '!writable_page_tables|pae_pgdir_above_4gb',
      supportedFeatures: 0x8801,
      phys32Entry: '0x1000850',
      pvh: true,
    });
    expect(r.release).toBe('4.17.0-fixture-amd64');
    expect(r.buildId).toMatch(/^[0-9a-f]{40}$/);
    expect(r.rsdpPlacement).toBe('high');
  });

  it('as the payload of a bzImage (setup header, size trailer)', () => {
    const img = buildBzImage(data, reference.length, { setupSects: compression === 'gzip' ? 0 : 27 });
    const r = inspectKernelImage(img);
    expect(r.format).toBe('bzimage');
    expect(r.compression).toBe(compression);
    expect(r.bzImage).toMatchObject({
      protocol: '2.15',
      payloadLength: data.length + 4,
      decompressedSize: reference.length,
    });
    expect(r.elf.size).toBe(reference.length);
    expect(r.xenNotes?.supportedFeatures).toBe(0x8801);
    expect(r.supportedFeatureNames).toEqual(['writable_page_tables', 'dom0', 'linux_rsdp_unrestricted']);
    expect(r.rsdpPlacement).toBe('high');
    expect(r.pvhCapable).toBe(true);
  });

  it('stops at the output cap', () => {
    const e = errorOf(() => decompress(compression, data, 50_000));
    expect(e.code).toBe('too-large');
    expect(e.message).toContain('50000');
  });

  it('fails cleanly on truncation', () => {
    for (const cut of [1, 7, Math.floor(data.length / 2), data.length - 5]) {
      const e = errorOf(() => inspectKernelImage(buildBzImage(data.subarray(0, cut), reference.length)));
      expect(['truncated', 'corrupt-data', 'unsupported', 'bad-bzimage']).toContain(e.code);
    }
  });
});

describe('bzImage', () => {
  const elf = linux415();
  const gz = gzipSync(elf);

  it('a Linux 4.15-like bzImage: low, release from the kernel_version string when no build-salt note', () => {
    const r = inspectKernelImage(
      buildBzImage(gz, elf.length, { version: '4.15.0-20-generic (buildd@lcy01) #21-Ubuntu SMP' }),
    );
    expect(r.rsdpPlacement).toBe('low');
    expect(r.bzImage?.kernelVersion).toBe('4.15.0-20-generic (buildd@lcy01) #21-Ubuntu SMP');
    expect(r.release).toBe('4.15.0-synthetic'); // the note wins over the header string
  });

  it('a size trailer that lies is an error', () => {
    const e = errorOf(() => inspectKernelImage(buildBzImage(gz, elf.length + 1)));
    expect(e.code).toBe('corrupt-data');
    expect(e.message).toMatch(/decompressed to \d+ bytes, but the bzImage says \d+/);
  });

  it('a size trailer over the cap is refused before decompressing', () => {
    const e = errorOf(() => inspectKernelImage(buildBzImage(gz, 0xfffffff0)));
    expect(e.code).toBe('too-large');
  });

  it('a payload offset or length past the end of the file', () => {
    const img = buildBzImage(gz, elf.length);
    const lying = Buffer.from(img);
    lying.writeUInt32LE(0x7ffffff0, 0x248);
    expect(errorOf(() => inspectKernelImage(lying)).message).toMatch(/payload .* runs past the end of the file/);
    const long = Buffer.from(img);
    long.writeUInt32LE(img.length, 0x24c);
    expect(errorOf(() => inspectKernelImage(long))).toMatchObject({ code: 'truncated' });
  });

  it('an old boot protocol without payload fields', () => {
    const img = buildBzImage(gz, elf.length);
    img.writeUInt16LE(0x0206, 0x206);
    expect(errorOf(() => inspectKernelImage(img))).toMatchObject({
      code: 'unsupported',
      message: expect.stringContaining('2.06'),
    });
  });

  it('a payload in an unknown compression', () => {
    const e = errorOf(() => inspectKernelImage(buildBzImage(Buffer.alloc(100, 0x33), 100)));
    expect(e.code).toBe('unsupported');
    expect(e.message).toMatch(/unknown compression/);
  });

  it('a setup header alone', () => {
    const img = buildBzImage(gz, elf.length).subarray(0, 0x230);
    expect(errorOf(() => inspectKernelImage(img))).toMatchObject({ code: 'truncated' });
  });
});

describe('the default cap (256 MiB)', () => {
  it('stops a gzip stream of 300 MiB of zeros', () => {
    const bomb = gzipSync(Buffer.alloc(300 * 1024 * 1024), { level: 1 });
    const e = errorOf(() => inspectKernelImage(bomb));
    expect(e.code).toBe('too-large');
    expect(e.message).toContain(String(256 * 1024 * 1024));
  }, 30000);
});
