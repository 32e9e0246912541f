import { createHash, randomBytes } from 'crypto';
import { join } from 'path';
import { gunzipSync, gzipSync } from 'zlib';
import { validateEvent } from '@fleetcompat/contract';
import {
  buildBzImage,
  buildElf,
  buildRawElf,
  encodeNotesAligned,
  fixture,
  linux415,
  linux417,
  str,
  u32,
  u64,
  xen,
} from '../../../../libs/kernel-notes/src/test/synth';
import { cli, expectNoTrace, scratchFolder } from '../../test/cli';

// `fleetcompat kernel inspect` and `kernel publish --dry-run`: no network (publishing over
// HTTP is in publish-http.int.spec.ts, to Kafka in publish-kafka.int.spec.ts).

const { dir, file } = scratchFolder();

describe('fleetcompat kernel inspect', () => {
  it('prints a readable table: Linux 4.15-like kernel gets the RSDP low', async () => {
    const c = await cli(['kernel', 'inspect', file('vmlinux-4.15', linux415())]);
    expect(c.code).toBe(0);
    expect(c.err).toBe('');
    expect(c.out).toMatch(/^Release\s+4\.15\.0-synthetic$/m);
    expect(c.out).toMatch(/^Supported\s+0x801 = writable_page_tables, dom0$/m);
    expect(c.out).toMatch(/^PVH-capable\s+yes \(PHYS32_ENTRY 0x1000850\)$/m);
    expect(c.out).toMatch(/^RSDP \(libxl\)\s+low: GUEST_OS "linux" without bit 15/m);
    expect(c.out).toMatch(/^\s+17\s+SUPPORTED_FEATURES\s+0x801 = writable_page_tables, dom0$/m);
    expect(c.out).toMatch(/^\s+13\s+L1_MFN_VALID\s+mask=0x1 value=0x1$/m);
  });

  it('reads a bzImage with an xz payload: 4.17-like, high', async () => {
    const vmlinuxSize = Number(gunzipSync(fixture('vmlinux-4.17.gz')).length);
    const c = await cli([
      'kernel',
      'inspect',
      file('vmlinuz-xz', buildBzImage(fixture('vmlinux-4.17.xz'), vmlinuxSize)),
    ]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/^Format\s+bzImage \(boot protocol 2\.15\), xz payload/m);
    expect(c.out).toMatch(/^RSDP \(libxl\)\s+high: SUPPORTED_FEATURES has bit 15/m);
    expect(c.out).toMatch(/^Release\s+4\.17\.0-fixture-amd64$/m);
  });

  it('--json gives the contract fields, the decoded features, sha256 and release', async () => {
    const img = linux417();
    const c = await cli(['kernel', 'inspect', '--json', file('vmlinux-4.17', img)]);
    expect(c.code).toBe(0);
    const j = JSON.parse(c.out);
    expect(j.sha256).toBe(createHash('sha256').update(img).digest('hex'));
    expect(j.release).toBe('4.17.0-synthetic');
    expect(j.xenNotes).toEqual({
      guestOs: 'linux',
      guestVersion: '2.6',
      xenVersion: 'xen-3.0',
      loader: 'generic',
      features: '!writable_page_tables|pae_pgdir_above_4gb',
      supportedFeatures: 0x8801,
      phys32Entry: '0x1000850',
      pvh: true,
    });
    expect(j.supportedFeatureNames).toEqual(['writable_page_tables', 'dom0', 'linux_rsdp_unrestricted']);
    expect(j.rsdpPlacement).toBe('high');
    expect(j.pvhCapable).toBe(true);
    expect(j.notes.find((n: { name: string }) => n.name === 'PHYS32_ENTRY')).toEqual({
      type: 18,
      name: 'PHYS32_ENTRY',
      kind: 'numeric',
      value: '0x1000850',
      size: 8,
    });
  });

  it('an image without Xen notes', async () => {
    const c = await cli(['kernel', 'inspect', file('plain', buildElf([]))]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/^Xen notes\s+none$/m);
    expect(c.out).toMatch(/^PVH-capable\s+no/m);
    expect(c.out).toMatch(/^RSDP \(libxl\)\s+high: the image has no Xen notes$/m);
  });

  it('escapes control characters from the image instead of writing them to the terminal', async () => {
    const c = await cli([
      'kernel',
      'inspect',
      file('evil', buildElf([xen(6, str('linux\x1b[2J\x07')), xen(18, u32(1))])),
    ]);
    expect(c.code).toBe(0);
    expect(c.out).not.toContain('\x1b');
    expect(c.out).toContain('linux\\x1b[2J\\x07');
  });

  it('a note whose payload runs past its table is read as libelf reads it, not refused', async () => {
    const b = linux417();
    b.writeUInt32LE(0x10000, 64 + 2 * 56 + 4); // GUEST_OS descsz: the walk ends after it
    const c = await cli(['kernel', 'inspect', file('longnote', b)]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/^Guest OS\s+linux$/m);
    expect(c.out).toMatch(/^libxc as PVH\s+refuses it: /m);
  });

  describe('bootloader images', () => {
    const mods = Buffer.concat([Buffer.from('mimg', 'latin1'), u32(12, 0)]);
    const pvhGrub = () =>
      buildRawElf({
        class: 32,
        segments: [
          { type: 1, blob: 0 },
          { type: 4, blob: 2 },
        ],
        sections: [
          { name: '.text', type: 1, blob: 0 },
          { name: 'mods', type: 1, blob: 1 },
          { name: '.xen', type: 1, blob: 2 },
        ],
        blobs: [Buffer.alloc(64, 0x90), mods, encodeNotesAligned([xen(18, u32(0x100000))])],
      });
    const pvGrub = () =>
      buildRawElf({
        segments: [
          { type: 1, blob: 0 },
          { type: 4, blob: 1, align: 8 },
        ],
        blobs: [
          Buffer.alloc(64, 0x90),
          encodeNotesAligned([
            xen(6, str('GRUB')),
            xen(8, str('generic')),
            xen(5, str('xen-3.0')),
            xen(1, u64(0n)),
            xen(3, u64(0n)),
          ]),
        ],
      });

    it('a PVH GRUB: says it is a PVH bootloader, that its kernel decides nothing, and how to publish it', async () => {
      const path = file('grub-i386-xen_pvh.bin', pvhGrub());
      const c = await cli(['kernel', 'inspect', path]);
      expect(c.code).toBe(0);
      expect(c.out).toMatch(/^Bootloader\s+GRUB, a PVH bootloader/m);
      expect(c.out).toMatch(/^RSDP \(libxl\)\s+high: no GUEST_OS note/m);
      expect(c.out).toContain('The kernel GRUB loads later decides\nnothing for the toolstack');
      expect(c.out).toContain(`fleetcompat kernel publish ${path} --release`);
      const sha = createHash('sha256').update(pvhGrub()).digest('hex');
      expect(c.out).toContain(`boot.bootloaderSha256 (${sha})`);
      const j = JSON.parse((await cli(['kernel', 'inspect', '--json', path])).out);
      expect(j.bootloader).toMatchObject({ name: 'GRUB', mode: 'pvh' });
      expect(j.libelf.pvh.accepted).toBe(true);
    });

    it('a PV GRUB: a PV bootloader, no RSDP to place', async () => {
      const c = await cli(['kernel', 'inspect', file('grub-x86_64-xen.bin', pvGrub())]);
      expect(c.code).toBe(0);
      expect(c.out).toMatch(/^Bootloader\s+GRUB, a PV bootloader \(GUEST_OS "GRUB"\)/m);
      expect(c.out).toMatch(/^libxc as PV\s+loads it/m);
      expect(c.out).toMatch(/^libxc as PVH\s+refuses it/m);
      expect(c.out).toContain('no RSDP to place');
    });

    it('publish: a bootloader needs --release and is published as a bootloader build', async () => {
      const path = file('grub-pvh-pub.bin', pvhGrub());
      const no = await cli(['kernel', 'publish', '--dry-run', path]);
      expect(no.code).toBe(1);
      expect(no.err).toMatch(/GRUB PVH bootloader .* pass --release/);
      const ok = await cli(['kernel', 'publish', '--dry-run', '--release', 'grub-2.06-13+deb12u2', path]);
      expect(ok.code).toBe(0);
      const ev = JSON.parse(ok.out);
      expect(validateEvent(ev).ok).toBe(true);
      expect(ev.data).toMatchObject({
        release: 'grub-2.06-13+deb12u2',
        arch: 'i386',
        xenNotes: { phys32Entry: '0x100000', pvh: true },
      });
      expect(ev.data.xenNotes.guestOs).toBeUndefined();
    });
  });

  describe('bad files: a clear message and exit code 1, never a stack trace', () => {
    const cases: [string, () => string, RegExp][] = [
      ['a missing file', () => join(dir(), 'does-not-exist'), /does-not-exist: cannot read: no such file/],
      ['a directory', () => dir(), /is a directory/],
      ['an empty file', () => file('empty', new Uint8Array(0)), /the file is empty \[empty\]/],
      [
        'random bytes',
        () => file('random', randomBytes(4096)),
        /\[(unknown-format|unsupported|bad-bzimage|truncated)\]/,
      ],
      ['a truncated ELF', () => file('trunc', linux417().subarray(0, 100)), /past the end .*\[truncated\]/],
      [
        'a truncated gzip vmlinux',
        () => file('trunc.gz', gzipSync(linux417()).subarray(0, 200)),
        /gzip: .*\[truncated\]/,
      ],
      [
        'a bzImage whose payload offset lies',
        () => {
          const b = buildBzImage(gzipSync(linux415()), linux415().length);
          b.writeUInt32LE(0x40000000, 0x248);
          return file('lying-bz', b);
        },
        /payload \(offset 0x40000000, \d+ bytes\) runs past the end of the file .*\[truncated\]/,
      ],
    ];
    it.each(cases)('%s', async (_name, make, message) => {
      const c = await cli(['kernel', 'inspect', make()]);
      expect(c.code).toBe(1);
      expect(c.out).toBe('');
      expect(c.err).toMatch(message);
      expect(c.err.trim().split('\n')).toHaveLength(1);
      expectNoTrace(c);
    });

    it('a decompression bomb stops at --max-decompressed-mib', async () => {
      const c = await cli([
        'kernel',
        'inspect',
        '--max-decompressed-mib',
        '1',
        file('bomb.gz', gzipSync(Buffer.alloc(8 * 1024 * 1024))),
      ]);
      expect(c.code).toBe(1);
      expect(c.err).toMatch(/exceeds the limit of 1048576 bytes \[too-large\]/);
    });
  });

  describe('usage errors: exit code 2', () => {
    it.each([
      [[], /Usage: fleetcompat <group> <command>/],
      [['nosuchgroup'], /unknown command group "nosuchgroup"/],
      [['kernel', 'inspect'], /missing required argument 'image'/],
      [['kernel', 'inspect', '--bogus', 'x'], /unknown option '--bogus'/],
      [['kernel', 'nosuch'], /unknown command 'nosuch'/],
      [['kernel', 'inspect', '--max-decompressed-mib', 'lots', 'x'], /--max-decompressed-mib must be a number/],
      [['kernel', 'publish', 'x'], /exactly one of --brokers <list>, --url <url> or --dry-run/],
    ])('%j', async (argv, message) => {
      const c = await cli(argv);
      expect(c.code).toBe(2);
      expect(c.err).toMatch(message);
      expectNoTrace(c);
    });

    it('--help is not an error', async () => {
      const c = await cli(['kernel', 'inspect', '--help']);
      expect(c.code).toBe(0);
      expect(c.out).toMatch(/--json/);
    });
  });
});

describe('fleetcompat kernel publish --dry-run', () => {
  it('--dry-run prints a valid KernelBuildCompleted whose eventId derives from the sha256', async () => {
    const c = await cli(['kernel', 'publish', '--dry-run', '--distro', 'debian-12', file('p415', linux415())]);
    expect(c.code).toBe(0);
    const ev = JSON.parse(c.out);
    expect(validateEvent(ev).ok).toBe(true);
    expect(ev.type).toBe('KernelBuildCompleted');
    expect(ev.eventId).toBe(`kernel-build-completed-${ev.data.imageSha256}`);
    expect(ev.data).toMatchObject({ release: '4.15.0-synthetic', arch: 'x86_64', distro: 'debian-12' });
    expect(ev.data.xenNotes).toMatchObject({ guestOs: 'linux', supportedFeatures: 0x801, pvh: true });
  });

  it('GitHub Actions and Jenkins variables fill the pipeline', async () => {
    const img = file('p417b', linux417());
    const gh = await cli(['kernel', 'publish', '--dry-run', img], {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'org/kernel',
      GITHUB_WORKFLOW: 'build',
      GITHUB_RUN_ID: '99',
      GITHUB_SERVER_URL: 'https://github.example',
    });
    expect(JSON.parse(gh.out).data.pipeline).toEqual({
      name: 'org/kernel/build',
      runId: '99',
      url: 'https://github.example/org/kernel/actions/runs/99',
    });
    const jk = await cli(['kernel', 'publish', '--dry-run', '--pipeline-run-id', 'override', img], {
      JENKINS_URL: 'https://jenkins.example/',
      JOB_NAME: 'kernel-build',
      BUILD_NUMBER: '7',
      BUILD_URL: 'https://jenkins.example/job/kernel-build/7/',
    });
    expect(JSON.parse(jk.out).data.pipeline).toEqual({
      name: 'kernel-build',
      runId: 'override',
      url: 'https://jenkins.example/job/kernel-build/7/',
    });
    expect(JSON.parse(jk.out).source).toBe('jenkins:kernel-build');
  });

  it('an image without a release string needs --release', async () => {
    const img = file('p-norel', buildElf([xen(6, str('linux')), xen(18, u64(0x1000000n))]));
    const c = await cli(['kernel', 'publish', '--dry-run', img]);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/pass --release/);
    const ok = await cli(['kernel', 'publish', '--dry-run', '--release', '5.10.0-custom', img]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).data.release).toBe('5.10.0-custom');
  });
});
