import { gzipSync } from 'zlib';
import { COMPRESSIONS, decompress, inspectKernelImage, KernelImageError } from '@fleetcompat/kernel-notes';
import {
  buildBzImage,
  buildRawElf,
  encodeNotesAligned,
  fixture,
  FIXTURE_EXT,
  freebsd,
  linux415,
  linux417,
  str,
  u32,
  u64,
  xen,
} from './test/synth';

/*
 * Hostile input is normal input: thousands of mutated kernel images (bit flips, lying
 * offsets and sizes, truncations, spliced garbage, random bytes) must each either inspect
 * or fail with a KernelImageError of a known code — never another exception (which would
 * surface as code 'internal'), never a hang, never more than the output cap.
 * Seeded, so a failure names the case that reproduces it.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const CASES = Number(process.env.FUZZ_CASES ?? 5000);
const CAP = 4 * 1024 * 1024;

/** mulberry32: a small seeded PRNG. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}

const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 0x10, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xfffffffe, 0xffffffff,
];

function seeds(): { name: string; bytes: Buffer; hot: number[] }[] {
  const vmlinux = decompress('gzip', fixture('vmlinux-4.17.gz'));
  const elf64 = linux417();
  const list: { name: string; bytes: Buffer; hot: number[] }[] = [
    // ELF header fields, program headers, the first notes: where lies hurt most
    { name: 'elf64', bytes: elf64, hot: [4, 5, 32, 40, 54, 56, 58, 60, 62, 64 + 56 + 8, 64 + 56 + 32, 176, 180, 184] },
    {
      name: 'elf32',
      bytes: linux415({ class: 32 }),
      hot: [4, 28, 32, 42, 44, 46, 48, 52 + 32 + 4, 52 + 32 + 16, 116, 120],
    },
    { name: 'elf-sections', bytes: linux417({ placement: 'section' }), hot: [40, 58, 60, 62, 120, 124] },
    { name: 'freebsd', bytes: freebsd(), hot: [176, 180] },
    { name: 'gzip-elf', bytes: gzipSync(elf64), hot: [3, 10, 11] },
    // GRUB's shapes: notes last in the file under p_align 8 (PV), a "mods" area and PHYS32_ENTRY only (PVH)
    {
      name: 'grub-pv',
      bytes: buildRawElf({
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
            { ...xen(9, str('yes')), descsz: 12 },
          ]),
        ],
      }),
      hot: [32, 56, 64 + 56 + 8, 64 + 56 + 32, 64 + 56 + 48, 240, 244, 248, 260, 264, 268],
    },
    {
      name: 'grub-pvh',
      bytes: buildRawElf({
        class: 32,
        segments: [
          { type: 1, blob: 0 },
          { type: 4, blob: 2 },
        ],
        sections: [
          { name: 'mods', type: 1, blob: 1 },
          { name: '.xen', type: 1, blob: 2 },
        ],
        blobs: [
          Buffer.alloc(64, 0x90),
          Buffer.concat([Buffer.from('mimg', 'latin1'), u32(12, 0)]),
          encodeNotesAligned([xen(18, u32(0x100000))]),
        ],
      }),
      hot: [28, 32, 44, 48, 50, 52 + 32 + 4, 52 + 32 + 16, 180, 184, 188, 192],
    },
  ];
  for (const c of COMPRESSIONS) {
    const payload = fixture(`vmlinux-4.17.${FIXTURE_EXT[c]}`);
    const bz = buildBzImage(payload, vmlinux.length);
    const p = 5 * 512 + 0x3a0; // payload file offset in buildBzImage
    list.push({
      name: `bzimage-${c}`,
      bytes: bz,
      hot: [0x1f1, 0x206, 0x248, 0x24c, p, p + 4, p + 6, p + 8, p + 12, p + 13, p + 16, p + 20, bz.length - 68],
    });
  }
  return list;
}

function mutate(r: ReturnType<typeof rng>, seed: { bytes: Buffer; hot: number[] }): Buffer {
  const b = Buffer.from(seed.bytes);
  const ops = 1 + r.int(4);
  let out = b;
  for (let i = 0; i < ops; i++) {
    const len = out.length;
    switch (r.int(8)) {
      case 0: // flip bits
        for (let k = 1 + r.int(8); k > 0; k--) out[r.int(len)] ^= 1 << r.int(8);
        break;
      case 1: // random bytes
        for (let k = 1 + r.int(16); k > 0; k--) out[r.int(len)] = r.int(256);
        break;
      case 2: {
        // an interesting u32 at a hot spot (header fields, sizes, offsets)
        const at = Math.min(len - 4, Math.max(0, r.pick(seed.hot) + r.int(3) - 1));
        out.writeUInt32LE(r.pick(INTERESTING) >>> 0, at);
        break;
      }
      case 3: {
        // an interesting u32 anywhere
        out.writeUInt32LE(r.pick(INTERESTING) >>> 0, r.int(len - 4));
        break;
      }
      case 4: // truncate
        out = out.subarray(0, r.int(len));
        break;
      case 5: {
        // splice: duplicate or delete a range
        const a = r.int(len);
        const n = r.int(Math.min(4096, len - a) + 1);
        out =
          r.next() < 0.5
            ? Buffer.concat([out.subarray(0, a), out.subarray(a + n)])
            : Buffer.concat([out.subarray(0, a + n), out.subarray(a)]);
        break;
      }
      case 6: {
        // overwrite a range with random garbage
        const a = r.int(len);
        for (let k = a; k < Math.min(len, a + 1 + r.int(512)); k++) out[k] = r.int(256);
        break;
      }
      default: {
        // a hot spot's byte set to an edge value
        out[Math.min(len - 1, r.pick(seed.hot))] = r.pick([0, 1, 0x7f, 0x80, 0xff]);
      }
    }
    if (out.length < 8) break;
  }
  return out;
}

describe('fuzz: mutated kernel images', () => {
  it(`${CASES} mutated images each inspect or fail with a clear error, none hangs`, () => {
    const r = rng(SEED);
    const base = seeds();
    const outcomes: Record<string, number> = {};
    let slowest = 0;
    let slowestCase = '';
    const started = Date.now();
    for (let i = 0; i < CASES; i++) {
      const s = base[i % base.length];
      const input = r.next() < 0.02 ? Buffer.from(Array.from({ length: r.int(5000) }, () => r.int(256))) : mutate(r, s);
      const t0 = Date.now();
      let outcome: string;
      try {
        const res = inspectKernelImage(input, { maxDecompressedBytes: CAP });
        expect(res.elf.size).toBeLessThanOrEqual(CAP);
        expect(['low', 'high']).toContain(res.rsdpPlacement);
        outcome = 'ok';
      } catch (e) {
        if (!(e instanceof KernelImageError))
          throw new Error(`case ${i} (${s.name}, seed ${SEED}): non-KernelImageError ${String(e)}`);
        if (e.code === 'internal') throw new Error(`case ${i} (${s.name}, seed ${SEED}): ${e.message}`);
        expect(e.message.length).toBeGreaterThan(5);
        outcome = e.code;
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      const dt = Date.now() - t0;
      if (dt > slowest) {
        slowest = dt;
        slowestCase = `case ${i} (${s.name})`;
      }
    }
    const total = Date.now() - started;
    // Visible in the test output: how the cases ended.
    process.stdout.write(
      `fuzz: ${CASES} cases in ${total} ms, slowest ${slowest} ms (${slowestCase}): ${JSON.stringify(outcomes)}\n`,
    );
    expect(slowest).toBeLessThan(3000);
    // The mutations must reach deep: both successes and several kinds of failure.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(Object.keys(outcomes).length).toBeGreaterThanOrEqual(5);
  }, 120000);

  const PER_CODEC = Number(process.env.FUZZ_CODEC_CASES ?? 1500);
  it.each(COMPRESSIONS.map((c) => [c]))(
    `%s: ${PER_CODEC} mutated streams decode or fail cleanly within the cap`,
    (c) => {
      const r = rng(SEED ^ c.length ^ c.charCodeAt(0));
      const stream = fixture(`vmlinux-4.17.${FIXTURE_EXT[c]}`);
      // hot spots: the container header and the first compressed bytes
      const seed = {
        bytes: stream,
        hot: [
          0,
          4,
          5,
          6,
          8,
          9,
          10,
          12,
          13,
          16,
          20,
          24,
          30,
          40,
          50,
          stream.length - 12,
          stream.length - 8,
          stream.length - 4,
        ],
      };
      const outcomes: Record<string, number> = {};
      for (let i = 0; i < PER_CODEC; i++) {
        const input = mutate(r, seed);
        let outcome: string;
        try {
          const out = decompress(c, input, CAP);
          expect(out.length).toBeLessThanOrEqual(CAP);
          outcome = 'ok';
        } catch (e) {
          if (!(e instanceof KernelImageError))
            throw new Error(`${c} case ${i} (seed ${SEED}): non-KernelImageError ${String(e)}`);
          outcome = e.code;
        }
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      expect(outcomes.internal).toBeUndefined();
      expect(Object.keys(outcomes).length).toBeGreaterThanOrEqual(2);
    },
    60000,
  );
});
