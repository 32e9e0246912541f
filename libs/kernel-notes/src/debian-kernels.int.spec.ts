import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import { basename, join, resolve } from 'path';
import { libxlRsdpPlacement } from '@fleetcompat/policy';
import {
  decodeXenNote,
  inspectKernelImage,
  isBzImage,
  KernelImageError,
  KernelInspection,
  noteSegments,
  parseBzImage,
  parseElf,
  phdrPos,
  RawNote,
  sectionByName,
  shdrPos,
  toPos,
  walkNotes,
} from '@fleetcompat/kernel-notes';
import { buildRawElf } from './test/synth';

/*
 * Every Xen-bootable ELF image of the Debian archive this machine's sources carry (and a few
 * ELF images without notes), fetched by scripts/fetch-debian-kernels.sh into .cache/, read
 * by inspectKernelImage and by Xen's own readnotes (xen-utils-4.17). readnotes prints what
 * libelf reads, note by note: every line of its output must be the line our reading gives.
 * SUPPORTED_FEATURES, which readnotes does not decode, is checked against binutils' readelf,
 * and the placement against libxl's rule (libxlRsdpPlacement) applied to what those two
 * tools read. readnotes is given the ELF the system's own decompressor (xz, lz4, gzip) makes
 * of a bzImage's payload, so our decompression is checked too; those runs and ours are timed
 * (written to .cache/kernel-inspect-timings.md; scripts/bench-kernel-inspect.sh prints them).
 *
 * The archive must be reachable: when the fetch fails, the test fails.
 */

const ROOT = resolve(__dirname, '../../..');
const TIMINGS = join(ROOT, '.cache/kernel-inspect-timings.md');
const REPEAT = Number(process.env.KERNEL_BENCH_REPEAT ?? 1);

type Role = 'linux-kernel' | 'pv-bootloader' | 'pvh-bootloader' | 'pv-kernel' | 'pvh-image' | 'not-xen';
interface Image {
  role: Role;
  pkg: string;
  version: string;
  path: string;
}
interface Setup {
  images: Image[];
  readnotes: string;
  ldPath: string;
}

function fetchImages(): Setup {
  const out = execFileSync('bash', [join(ROOT, 'scripts/fetch-debian-kernels.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 20 * 60 * 1000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const lines = out.split('\n');
  const value = (k: string) => lines.filter((l) => l.startsWith(k + '=')).map((l) => l.slice(k.length + 1));
  const images = value('IMAGE').map((l) => {
    const [role, pkg, version, path] = l.split('|');
    return { role: role as Role, pkg, version, path };
  });
  return { images, readnotes: value('READNOTES')[0], ldPath: value('READNOTES_LD_LIBRARY_PATH')[0] ?? '' };
}

const SYSTEM_DECOMPRESSOR: Record<string, string[]> = {
  xz: ['xz', '-dc'],
  lz4: ['lz4', '-dc'],
  gzip: ['gzip', '-dc'],
  zstd: ['zstd', '-dc'],
  bzip2: ['bzip2', '-dc'],
};

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** readnotes' output, lines with runs of spaces after the colon closed up ("ENTRY:    0 (4 bytes)"). */
function readnotes(setup: Setup, file: string): string[] {
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: [setup.ldPath, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
  const out = execFileSync(setup.readnotes, [file], {
    encoding: 'utf8',
    env,
    timeout: 60000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split('\n')
    .filter((l) => l.length)
    .map((l) => l.replace(/^([A-Za-z0-9_]+):\s+/, '$1: '));
}

/** %#x: "0" for zero, "0x..." otherwise. */
const cx = (v: string | bigint) => (BigInt(v) === 0n ? '0' : '0x' + BigInt(v).toString(16));

/** What tools/xcutils/readnotes.c prints for each note we read, in our order. */
function expectedReadnotes(r: KernelInspection): string[] {
  const out: string[] = [];
  const PRINTED: Record<number, 'string' | 'numeric' | 'l1'> = {
    0: 'string',
    1: 'numeric',
    2: 'numeric',
    3: 'numeric',
    4: 'numeric',
    5: 'string',
    6: 'string',
    7: 'string',
    8: 'string',
    9: 'string',
    10: 'string',
    12: 'numeric',
    14: 'numeric',
    13: 'l1',
    18: 'numeric',
  };
  const names: Record<number, string> = { 0: 'INFO' };
  for (const n of r.notes) {
    const how = PRINTED[n.type];
    const name = names[n.type] ?? n.name;
    if (!how) out.push(`unknown note type ${'0x' + n.type.toString(16)}`);
    else if (how === 'string') out.push(`${name}: ${n.kind === 'string' ? n.value : '(invalid)'}`);
    else if (how === 'numeric')
      out.push(n.kind === 'numeric' ? `${name}: ${cx(n.value)} (${n.size} bytes)` : `${name}: ?`);
    else if (n.kind === 'l1-mfn-valid' && (Math.floor(n.size / 2) === 8 || Math.floor(n.size / 2) === 4)) {
      out.push(`${name}: mask=${cx(n.pairs[0].mask)} value=${cx(n.pairs[0].value)}`);
    }
  }
  if (r.xenGuest) out.push(`__xen_guest: ${r.xenGuest.raw}`);
  if (r.libelf.broken) out.push(`warning: broken ELF: ${r.libelf.broken}`);
  return out;
}

/** binutils' readelf -n: the payload bytes of each Xen note of a type, independent of our reader. */
function readelfXenNote(file: string, type: number): Buffer[] {
  const out = execFileSync('readelf', ['-n', '-W', file], { encoding: 'utf8', timeout: 60000 });
  const found: Buffer[] = [];
  const re = new RegExp(
    `^\\s*Xen\\s+0x[0-9a-f]+\\s+.*\\(0x0*${type.toString(16)}\\)\\s+description data: ([0-9a-f ]+)$`,
    'gim',
  );
  for (const m of out.matchAll(re)) found.push(Buffer.from(m[1].replace(/\s+/g, ''), 'hex'));
  return found;
}

interface Result {
  image: Image;
  r: KernelInspection;
  ours: number;
  oursCpu: number;
  theirs: string[];
  expected: string[];
  elfFile: string;
  systemTool: string | null;
  systemMs: number | null;
  systemCpu: number | null;
}

describe('every Xen ELF image of the Debian archive, against Xen readnotes', () => {
  let setup: Setup;
  let work: string;
  const results: Result[] = [];

  beforeAll(
    () => {
      setup = fetchImages();
      work = mkdtempSync(join(tmpdir(), 'kernel-notes-int-'));
      for (const image of setup.images) {
        const bytes = readFileSync(image.path);
        let best = Infinity;
        let bestCpu = Infinity;
        let r!: KernelInspection;
        for (let i = 0; i < REPEAT; i++) {
          const t0 = process.hrtime.bigint();
          const c0 = process.cpuUsage();
          r = inspectKernelImage(bytes);
          const c = process.cpuUsage(c0);
          best = Math.min(best, ms(t0));
          bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
        }
        let elfFile = image.path;
        let systemTool: string | null = null;
        let systemMs: number | null = null;
        let systemCpu: number | null = null;
        if (isBzImage(bytes)) {
          // the payload without Linux's size trailer, decompressed by the system's own tool
          const { payload } = parseBzImage(bytes);
          const compressed = join(work, basename(image.path) + '.' + r.compression);
          writeFileSync(compressed, payload.subarray(0, payload.length - 4));
          const [cmd, ...args] = SYSTEM_DECOMPRESSOR[r.compression!];
          const out = execFileSync(cmd, [...args, compressed], { maxBuffer: 512 * 1024 * 1024, timeout: 120000 });
          systemMs = Infinity;
          systemCpu = Infinity;
          for (let i = 0; i < REPEAT; i++) {
            // bash's time: wall and CPU seconds of the tool writing to /dev/null
            const t = spawnSync(
              'bash',
              ['-c', 'TIMEFORMAT="%R %U %S"; time "$@" > /dev/null', '_', cmd, ...args, compressed],
              { encoding: 'utf8', timeout: 120000 },
            );
            const m = /([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(t.stderr ?? '');
            if (t.status !== 0 || !m) throw new Error(`${cmd} failed: ${t.stderr}`);
            systemMs = Math.min(systemMs, Number(m[1]) * 1000);
            systemCpu = Math.min(systemCpu, (Number(m[2]) + Number(m[3])) * 1000);
          }
          systemTool = `${cmd} ${args.join(' ')}`;
          elfFile = join(work, basename(image.path).replace('vmlinuz', 'vmlinux'));
          writeFileSync(elfFile, out);
          expect(out.length).toBe(r.elf.size);
        }
        // readnotes decompresses gzip itself (GNU Mach's .gz), and reads ELF files as they are
        results.push({
          image,
          r,
          ours: best,
          oursCpu: bestCpu,
          theirs: readnotes(setup, elfFile),
          expected: expectedReadnotes(r),
          elfFile,
          systemTool,
          systemMs,
          systemCpu,
        });
      }
      const load = loadavg()
        .map((l) => l.toFixed(2))
        .join(', ');
      const rows = results
        .filter((x) => x.systemTool)
        .map(
          (x) =>
            `| ${x.image.pkg} ${x.image.version} | ${x.r.compression}, ${x.r.bzImage?.payloadLength} -> ${x.r.elf.size} | ` +
            `${x.ours.toFixed(0)} / ${x.oursCpu.toFixed(0)} | \`${x.systemTool}\` | ${x.systemMs!.toFixed(0)} / ${x.systemCpu!.toFixed(0)} |`,
        );
      const table =
        `Measured ${new Date().toISOString()} on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${load} (1, 5, 15 min), best of ${REPEAT}\n\n` +
        '| image | payload (bytes) | `kernel inspect`, whole image: wall / CPU ms | system tool, payload only | wall / CPU ms |\n' +
        '|---|---|---|---|---|\n' +
        rows.join('\n') +
        '\n';
      writeFileSync(TIMINGS, table);
      process.stdout.write(table);
    },
    25 * 60 * 1000,
  );

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('found every image the archive should have (the fetch did not come back empty)', () => {
    const roles = setup.images.map((i) => i.role);
    expect(roles.filter((r) => r === 'linux-kernel').length).toBe(5);
    expect(roles.filter((r) => r === 'pv-bootloader').length).toBe(2);
    expect(roles.filter((r) => r === 'pvh-bootloader').length).toBe(1);
    expect(roles).toEqual(expect.arrayContaining(['pv-kernel', 'pvh-image', 'not-xen']));
    for (const flavour of ['-amd64', '-cloud-amd64', '-rt-amd64', '-686-pae:i386', '-rt-686-pae:i386']) {
      expect(setup.images.some((i) => i.role === 'linux-kernel' && i.pkg.endsWith(flavour))).toBe(true);
    }
  });

  it('readnotes prints exactly the lines our reading gives, for every image', () => {
    for (const x of results) {
      expect({ image: x.image.path, lines: x.theirs }).toEqual({ image: x.image.path, lines: x.expected });
    }
    // and it did print something for every Xen image
    for (const x of results.filter((x) => x.image.role !== 'not-xen'))
      expect({ image: x.image.path, n: x.theirs.length > 0 }).toEqual({ image: x.image.path, n: true });
  });

  it("SUPPORTED_FEATURES as binutils reads it, decoded; and the placement of libxl's rule on what readnotes and readelf read", () => {
    for (const x of results.filter((x) => x.image.role === 'linux-kernel')) {
      const raw = readelfXenNote(x.elfFile, 17);
      expect(raw.length).toBeGreaterThan(0);
      const bits = raw.reduce((acc, b) => (acc | b.readUInt32LE(0)) >>> 0, 0);
      expect({ image: x.image.pkg, supported: x.r.xenNotes?.supportedFeatures }).toEqual({
        image: x.image.pkg,
        supported: bits,
      });
      // Linux 6.1: writable_page_tables, dom0, linux_rsdp_unrestricted (bits 0, 11, 15)
      expect(bits).toBe(0x8801);
      expect(x.r.supportedFeatureNames).toEqual(['writable_page_tables', 'dom0', 'linux_rsdp_unrestricted']);
    }
    for (const x of results) {
      const guestOs = x.theirs.find((l) => l.startsWith('GUEST_OS: '))?.slice('GUEST_OS: '.length);
      const sf =
        x.image.role === 'linux-kernel'
          ? readelfXenNote(x.elfFile, 17).reduce((a, b) => (a | b.readUInt32LE(0)) >>> 0, 0)
          : undefined;
      const theirs = libxlRsdpPlacement(x.r.xenNotes ? { guestOs, supportedFeatures: sf } : null);
      expect({ image: x.image.path, rsdp: x.r.rsdpPlacement }).toEqual({ image: x.image.path, rsdp: theirs });
    }
  });

  it('Linux kernels: PVH-capable, GUEST_OS "linux", release from the "Linux" note, RSDP high', () => {
    for (const x of results.filter((x) => x.image.role === 'linux-kernel')) {
      expect(x.r.format).toBe('bzimage');
      expect(x.r.xenNotes).toMatchObject({
        guestOs: 'linux',
        guestVersion: '2.6',
        xenVersion: 'xen-3.0',
        loader: 'generic',
        supportedFeatures: 0x8801,
        pvh: true,
      });
      expect(x.r.libelf.pvh.accepted).toBe(true);
      expect(x.r.bootloader).toBeNull();
      expect(x.r.rsdpPlacement).toBe('high');
      expect(x.r.release).toBe(basename(x.image.path).replace(/^vmlinuz-/, ''));
      expect(x.r.buildId).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(results.find((x) => x.image.pkg.endsWith('-cloud-amd64'))?.r.compression).toBe('lz4');
    expect(results.find((x) => /-\d+-amd64$/.test(x.image.pkg))?.r.compression).toBe('xz');
  });

  it('GRUB: the PV images are PV bootloaders, the PVH one a PVH bootloader; all RSDP high', () => {
    const grub = results.filter((x) => x.image.role.endsWith('bootloader'));
    for (const x of grub) {
      expect(x.r.bootloader).toMatchObject({ name: 'GRUB', mode: x.image.role === 'pvh-bootloader' ? 'pvh' : 'pv' });
      expect(x.r.rsdpPlacement).toBe('high');
    }
    const pvh = grub.find((x) => x.image.role === 'pvh-bootloader')!;
    expect(pvh.r.xenNotes).toEqual({ phys32Entry: expect.stringMatching(/^0x/), pvh: true });
    expect(pvh.r.libelf.pvh.accepted).toBe(true);
    for (const x of grub.filter((x) => x.image.role === 'pv-bootloader')) {
      expect(x.r.xenNotes).toMatchObject({ guestOs: 'GRUB', loader: 'generic', xenVersion: 'xen-3.0', pvh: false });
      expect(x.r.libelf.pv.accepted).toBe(true);
    }
  });

  it('GNU Mach (PV, __xen_guest only), the PV shim (PVH), and the images without notes', () => {
    const mach = results.find((x) => x.image.role === 'pv-kernel')!;
    expect(mach.r.xenNotes).toBeNull();
    expect(mach.r.xenGuest?.fields.GUEST_OS).toBe('GNU Mach');
    expect(mach.r.libelf.pv.accepted).toBe(true);
    expect(mach.r.libelf.pvh.accepted).toBe(false);
    const shim = results.find((x) => x.image.role === 'pvh-image')!;
    expect(shim.r.libelf.pvh.accepted).toBe(true);
    expect(shim.r.bootloader).toBeNull();
    for (const x of results.filter((x) => x.image.role === 'not-xen')) {
      expect({ image: x.image.path, notes: x.r.notes.length, pvh: x.r.libelf.pvh.accepted }).toEqual({
        image: x.image.path,
        notes: 0,
        pvh: false,
      });
    }
  });

  /*
   * Differential fuzz against the real readnotes: small ELF images carrying the note tables of
   * the real images above, mutated (note sizes and types, segment offsets and sizes, header
   * counts, truncation). For each, readnotes' output must be what our reader gives when driven
   * the way tools/xcutils/readnotes.c drives libelf, and an image readnotes reads (libelf's
   * elf_init accepts it) must never be refused by inspectKernelImage.
   */
  it(
    'mutated images: readnotes and our reader agree line by line, and nothing libelf accepts is refused',
    () => {
      const seeds = fuzzSeeds(results);
      expect(seeds.length).toBeGreaterThanOrEqual(4);
      const cases = Number(process.env.READNOTES_FUZZ_CASES ?? 300);
      let seed = Number(process.env.FUZZ_SEED ?? 0x1ead);
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return Math.floor((seed / 2 ** 32) * n);
      };
      const file = join(work, 'mutant.elf');
      const outcomes: Record<string, number> = {};
      for (let i = 0; i < cases; i++) {
        const base = seeds[i % seeds.length];
        const b = Buffer.from(base.bytes);
        let m = b;
        for (let k = 1 + rnd(3); k > 0; k--) {
          const at = base.hot[rnd(base.hot.length)] + rnd(3) * 4 - 4;
          switch (rnd(5)) {
            case 0:
              if (at >= 0 && at + 4 <= m.length)
                m.writeUInt32LE(
                  [0, 1, 2, 3, 4, 5, 7, 8, 0x10, 0xff, 0x1000, 0x7fffffff, 0xfffffffc, 0xffffffff][rnd(14)] >>> 0,
                  at,
                );
              break;
            case 1:
              if (at >= 0 && at < m.length) m[at] ^= 1 << rnd(8);
              break;
            case 2:
              m = m.subarray(0, Math.max(52, m.length - rnd(64)));
              break;
            case 3:
              if (at >= 0 && at + 4 <= m.length)
                m.writeUInt32LE((m.readUInt32LE(at) + [1, 2, 3, 4, 8, -1, -4][rnd(7)]) >>> 0, at);
              break;
            default:
              m[rnd(m.length)] = rnd(256);
          }
        }
        writeFileSync(file, m);
        const env = {
          ...process.env,
          LD_LIBRARY_PATH: [setup.ldPath, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
        };
        const rn = spawnSync(setup.readnotes, [file], {
          encoding: 'utf8',
          env,
          timeout: 30000,
          maxBuffer: 64 * 1024 * 1024,
        });
        if (rn.error || rn.signal) {
          // printf("%#*x", 2 + 2 * descsz, ...) with a mutated descsz can ask for gigabytes of padding
          const why = rn.signal ? `readnotes-${rn.signal}` : 'readnotes-output-too-large';
          outcomes[why] = (outcomes[why] ?? 0) + 1;
          continue;
        }
        // runs of spaces closed up: readnotes pads numbers to 2 + 2 * descsz characters
        const norm = (t: string) => t.replace(/ {2,}/g, ' ');
        const theirs = norm(rn.stdout);
        const emulated = emulateReadnotes(m);
        const ours = emulated === 'refused' ? emulated : norm(emulated.map((l) => l + '\n').join(''));
        const label = `case ${i} (${base.name}, FUZZ_SEED ${process.env.FUZZ_SEED ?? 0x1ead})`;
        if (rn.status !== 0) {
          // readnotes refuses only what elf_init refuses; so do we
          expect({
            label,
            ours: ours === 'refused' ? 'refused' : ours,
            err: /not an ELF image/.test(rn.stderr),
          }).toEqual({ label, ours: 'refused', err: true });
          outcomes.refused = (outcomes.refused ?? 0) + 1;
          continue;
        }
        if (ours !== theirs) writeFileSync(join(ROOT, '.cache/readnotes-mismatch.elf'), m); // to look at
        expect({ label, lines: ours }).toEqual({ label, lines: theirs });
        let refused: string | null = null;
        try {
          inspectKernelImage(m);
        } catch (e) {
          refused = e instanceof KernelImageError ? `${e.code}: ${e.message}` : String(e);
        }
        expect({ label, refused }).toEqual({ label, refused: null });
        const kind = theirs.includes('warning: broken ELF') ? 'read-broken' : theirs.length ? 'read' : 'no-notes';
        outcomes[kind] = (outcomes[kind] ?? 0) + 1;
      }
      process.stdout.write(`readnotes differential fuzz: ${cases} cases: ${JSON.stringify(outcomes)}\n`);
      expect((outcomes.read ?? 0) + (outcomes['read-broken'] ?? 0)).toBeGreaterThan(cases / 4);
      expect(outcomes.refused ?? 0).toBeGreaterThan(0);
    },
    10 * 60 * 1000,
  );
});

/** Small ELF images with the note tables of the real ones, and the offsets worth mutating. */
function fuzzSeeds(results: Result[]): { name: string; bytes: Buffer; hot: number[] }[] {
  const seeds: { name: string; bytes: Buffer; hot: number[] }[] = [];
  const table = (file: string) => {
    const bytes = readFileSync(file);
    const elf = parseElf(bytes);
    const seg = noteSegments(elf).find((r) =>
      readFileSync(file).subarray(toPos(r.start), toPos(r.end)).includes(Buffer.from('Xen\0', 'latin1')),
    );
    if (!seg) return null;
    const start = toPos(seg.start);
    const end = toPos(seg.end);
    return {
      blob: bytes.subarray(start, Math.min(bytes.length, end)),
      is64: elf.class === 64,
      align: Number(elf.image.word(phdrPos(elf, seg.index), 28, 48)),
      atEnd: end >= bytes.length,
    };
  };
  const hotOf = (b: Buffer, blobAt: number, blob: Buffer, is64: boolean) => {
    const hot = is64
      ? [32, 40, 56, 60, 62, 64 + 56 + 8, 64 + 56 + 32, 64 + 56 + 48]
      : [28, 32, 44, 48, 50, 52 + 32 + 4, 52 + 32 + 16, 52 + 32 + 28];
    // every note header field of the table
    for (let p = 0; p + 12 <= blob.length;) {
      hot.push(blobAt + p, blobAt + p + 4, blobAt + p + 8);
      const n = (blob.readUInt32LE(p) + 3) & ~3;
      const d = (blob.readUInt32LE(p + 4) + 3) & ~3;
      if (n > 64 || d > 4096) break;
      p += 12 + n + d;
    }
    return hot.filter((h) => h >= 0 && h < b.length);
  };
  const pick = (pred: (x: Result) => boolean) => results.find(pred);
  for (const [name, x] of [
    ['linux-amd64', pick((x) => /-\d+-amd64$/.test(x.image.pkg))],
    ['linux-686-pae', pick((x) => x.image.pkg.endsWith('-686-pae:i386'))],
    ['grub-i386-xen', pick((x) => x.image.path.endsWith('grub-i386-xen.bin'))],
    ['grub-x86_64-xen', pick((x) => x.image.path.endsWith('grub-x86_64-xen.bin'))],
    ['grub-i386-xen_pvh', pick((x) => x.image.path.endsWith('grub-i386-xen_pvh.bin'))],
  ] as const) {
    if (!x) continue;
    const t = table(x.elfFile);
    if (!t) continue;
    const text = Buffer.alloc(256, 0x90);
    const cls = t.is64 ? 64 : 32;
    // the table last in the file when it is so in the real image (GRUB), else with a section after it
    const bytes = buildRawElf({
      class: cls,
      segments: [
        { type: 1, blob: 0, align: 0x1000 },
        { type: 4, blob: 1, align: t.align },
      ],
      sections: t.atEnd ? undefined : [{ name: '.notes', type: 7, blob: 1 }],
      blobs: [text, t.blob],
    });
    const ehsize = t.is64 ? 64 : 52;
    const blobAt = ehsize + 2 * (t.is64 ? 56 : 32) + text.length;
    seeds.push({ name, bytes, hot: hotOf(bytes, blobAt, t.blob, t.is64) });
  }
  return seeds;
}

/**
 * What tools/xcutils/readnotes.c prints for an ELF image, driving our libelf-equivalent
 * reader the way readnotes drives libelf: every PT_NOTE segment (no stop at a header outside
 * the image, p_offset 0 skipped), keeping the Xen-note count of the last one; when that is 0,
 * every SHT_NOTE section from index 0; then `__xen_guest` and the broken-ELF warning. Only
 * the reads readnotes makes are made, so the broken flag comes out the same. 'refused' when
 * elf_init refuses the image.
 */
function emulateReadnotes(bytes: Uint8Array): string[] | 'refused' {
  let elf: ReturnType<typeof parseElf>;
  try {
    if (bytes.length < 52) return 'refused';
    elf = parseElf(bytes);
  } catch {
    return 'refused';
  }
  const img = elf.image;
  const out: string[] = [];
  const STRING = new Set([0, 5, 6, 7, 8, 9, 10]);
  const NUMERIC = new Set([1, 2, 3, 4, 12, 14, 18]);
  const NAMES: Record<number, string> = {
    0: 'INFO',
    1: 'ENTRY',
    2: 'HYPERCALL_PAGE',
    3: 'VIRT_BASE',
    4: 'PADDR_OFFSET',
    5: 'XEN_VERSION',
    6: 'GUEST_OS',
    7: 'GUEST_VERSION',
    8: 'LOADER',
    9: 'PAE_MODE',
    10: 'FEATURES',
    12: 'HV_START_LOW',
    13: 'L1_MFN_VALID',
    14: 'SUSPEND_CANCEL',
    18: 'PHYS32_ENTRY',
  };
  const printNotes = (start: bigint, end: bigint): number => {
    let found = 0;
    walkNotes(elf, { kind: 'PT_NOTE', index: 0, start, end, label: '' }, { total: -Infinity }, (n: RawNote) => {
      if (n.owner !== 'Xen') return;
      found++;
      const name = NAMES[n.type];
      if (STRING.has(n.type)) {
        const d = decodeXenNote(img, n);
        out.push(`${name}: ${d.kind === 'string' ? d.value : '(invalid)'}`);
      } else if (NUMERIC.has(n.type)) {
        const d = decodeXenNote(img, n);
        if (d.kind === 'numeric') out.push(`${name}: ${cx(d.value)} (${n.descsz | 0} bytes)`);
      } else if (n.type === 13) {
        const half = Math.floor(n.descsz / 2);
        if (half === 8)
          out.push(`${name}: mask=${cx(img.uint(n.descOffset, 8))} value=${cx(img.uint(n.descOffset + 8, 8))}`);
        else if (half === 4)
          out.push(`${name}: mask=${cx(img.uint(n.descOffset, 4))} value=${cx(img.uint(n.descOffset + 4, 4))}`);
      } else {
        out.push(`unknown note type ${'0x' + (n.type >>> 0).toString(16)}`);
      }
    });
    return found;
  };
  let notesFound = 0;
  for (let h = 0; h < elf.header.phnum; h++) {
    const ph = phdrPos(elf, h);
    if (img.u32(ph) !== 4) continue;
    if (img.word(ph, 4, 8) === 0n) continue;
    const start = img.word(ph, 4, 8);
    const end = (img.word(ph, 4, 8) + img.word(ph, 16, 32)) & ((1n << 64n) - 1n);
    notesFound = printNotes(start, end);
  }
  if (notesFound === 0) {
    for (let h = 0; h < elf.header.shnum; h++) {
      const sh = shdrPos(elf, h);
      if (img.u32(sh + 4) !== 7) continue;
      const start = img.word(sh, 16, 24);
      const end = (img.word(sh, 16, 24) + img.word(sh, 20, 32)) & ((1n << 64n) - 1n);
      notesFound = printNotes(start, end);
    }
  }
  const guest = sectionByName(elf, '__xen_guest');
  if (guest) {
    const s = img.strval(guest.offset);
    out.push(`__xen_guest: ${s ? Buffer.from(s).toString('latin1') : '(invalid)'}`);
  }
  if (img.broken) out.push(`warning: broken ELF: ${img.broken}`);
  return out;
}
