import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join, resolve } from 'path';
import { decompress, inspectKernelImage, KernelInspection, parseBzImage, XenNote } from '@fleetcompat/kernel-notes';

/*
 * Real kernels: Debian's linux-image-*-cloud-amd64 and linux-image-*-amd64 (the versions the
 * metapackages depend on today), fetched with apt-get download into .cache/debian-kernels by
 * scripts/fetch-debian-kernels.sh, which also provides Xen's own readnotes (xen-utils-4.17).
 * Every note readnotes decodes is compared field by field with ours.
 */

const ROOT = resolve(__dirname, '../../..');

interface Setup {
  kernels: string[];
  readnotes: string;
  ldPath: string;
}

function fetchKernels(): Setup {
  const out = execFileSync('bash', [join(ROOT, 'scripts/fetch-debian-kernels.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60 * 1000,
  });
  const lines = out.split('\n');
  const value = (k: string) => lines.filter((l) => l.startsWith(k + '=')).map((l) => l.slice(k.length + 1));
  return { kernels: value('KERNEL'), readnotes: value('READNOTES')[0], ldPath: value('READNOTES_LD_LIBRARY_PATH')[0] ?? '' };
}

/** readnotes' output lines ("GUEST_OS: linux", "VIRT_BASE: 0xffffffff80000000 (8 bytes)"), by note name. */
function readnotes(setup: Setup, vmlinux: string): Map<string, string[]> {
  const env = { ...process.env, LD_LIBRARY_PATH: [setup.ldPath, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  const out = execFileSync(setup.readnotes, [vmlinux], { encoding: 'utf8', env, timeout: 60000 });
  const notes = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^([A-Z0-9_]+): (.*)$/.exec(line);
    if (!m) continue;
    notes.set(m[1], [...(notes.get(m[1]) ?? []), m[2].trim()]);
  }
  return notes;
}

/** Our decoding of a note, written the way readnotes prints it. */
function asReadnotes(n: XenNote): string {
  switch (n.kind) {
    case 'string':
      return n.value;
    case 'numeric':
      return `${BigInt(n.value) === 0n ? '0' : n.value} (${n.size} bytes)`;
    case 'l1-mfn-valid':
      return `mask=${n.pairs[0].mask} value=${n.pairs[0].value}`;
    default:
      return JSON.stringify(n);
  }
}

describe('real Debian kernels against Xen readnotes', () => {
  let setup: Setup;
  let work: string;
  const results: { file: string; r: KernelInspection; theirs: Map<string, string[]> }[] = [];

  beforeAll(() => {
    setup = fetchKernels();
    work = mkdtempSync(join(tmpdir(), 'kernel-notes-int-'));
    for (const file of setup.kernels) {
      const image = readFileSync(file);
      const r = inspectKernelImage(image);
      // readnotes reads an ELF: give it the decompressed vmlinux
      const { payload } = parseBzImage(image);
      const vmlinux = join(work, basename(file).replace('vmlinuz', 'vmlinux'));
      writeFileSync(vmlinux, decompress(r.compression!, payload.subarray(0, payload.length - 4)));
      results.push({ file, r, theirs: readnotes(setup, vmlinux) });
    }
  }, 20 * 60 * 1000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('found both packages', () => {
    expect(setup.kernels).toHaveLength(2);
    expect(setup.kernels.some((k) => /cloud-amd64$/.test(k))).toBe(true);
    expect(setup.kernels.some((k) => /-amd64$/.test(k) && !/cloud/.test(k))).toBe(true);
  });

  it('every note readnotes decodes matches ours, field by field', () => {
    for (const { file, r, theirs } of results) {
      const compared: string[] = [];
      for (const n of r.notes) {
        const lines = theirs.get(n.name);
        if (!lines) continue; // readnotes does not decode it (SUPPORTED_FEATURES, INIT_P2M, ...)
        expect({ file, note: n.name, value: lines[0] }).toEqual({ file, note: n.name, value: asReadnotes(n) });
        compared.push(n.name);
      }
      // the notes readnotes knows must all have been found and compared
      const missing = [...theirs.keys()].filter((name) => !compared.includes(name));
      expect({ file, missing }).toEqual({ file, missing: [] });
      expect(compared).toEqual(expect.arrayContaining(['GUEST_OS', 'GUEST_VERSION', 'XEN_VERSION', 'FEATURES', 'LOADER', 'PHYS32_ENTRY', 'ENTRY', 'VIRT_BASE']));
    }
  });

  it('SUPPORTED_FEATURES decodes to writable_page_tables, dom0, linux_rsdp_unrestricted; the libxl rule says high', () => {
    for (const { r } of results) {
      expect(r.format).toBe('bzimage');
      expect(r.supportedFeatureNames).toEqual(['writable_page_tables', 'dom0', 'linux_rsdp_unrestricted']);
      expect(r.xenNotes).toMatchObject({ guestOs: 'linux', guestVersion: '2.6', xenVersion: 'xen-3.0', supportedFeatures: 0x8801, pvh: true });
      expect(r.rsdpPlacement).toBe('high');
      expect(r.pvhCapable).toBe(true);
    }
  });

  it('the release comes from the "Linux" note and matches the file name', () => {
    for (const { file, r } of results) {
      expect(r.release).toBe(basename(file).replace(/^vmlinuz-/, ''));
      expect(r.buildId).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('the cloud kernel is LZ4 (legacy frame) compressed', () => {
    const cloud = results.find((x) => /cloud-amd64$/.test(x.file));
    expect(cloud?.r.compression).toBe('lz4');
  });
});
