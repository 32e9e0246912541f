import { envelope, fakeSha } from '@fleetcompat/sample-fleet';
import { IMAGES, ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readFixCandidates } from './fix-candidates';

describe('readFixCandidates (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('fix_candidates')));
  afterAll(() => f?.close());

  it('per distro line: announced, not revoked, bit 15 set and PVH-capable, the latest announced first, a few each', async () => {
    expect(await readFixCandidates(f.ctx, ['debian-12'], 3)).toEqual(
      new Map([['debian-12', [{ imageSha256: IMAGES.fixed, release: '6.1.0-fixed', distro: 'debian-12' }]]]),
    );
    const kernel = (id: string, release: string, minute: number, distro: string, pvh = true) =>
      envelope(
        id,
        'KernelBuildCompleted',
        new Date(Date.parse('2026-11-02T00:00:00Z') + minute * 60_000).toISOString(),
        'ci',
        {
          imageSha256: fakeSha(id),
          release,
          arch: 'x86_64',
          distro,
          xenNotes: { guestOs: 'linux', supportedFeatures: 1 << 15, pvh },
        },
      );
    await f.put([
      kernel('newer', '6.1.1', 1, 'debian-12'),
      kernel('newest', '6.1.2', 2, 'debian-12'),
      kernel('no-pvh', '6.1.3', 3, 'debian-12', false),
      kernel('rhel', '5.14', 4, 'rhel-9'),
    ]);
    expect((await readFixCandidates(f.ctx, ['debian-12'], 2)).get('debian-12')!.map((k) => k.release)).toEqual([
      '6.1.2',
      '6.1.1',
    ]);
    const both = await readFixCandidates(f.ctx, ['debian-12', 'rhel-9', 'none'], 3);
    expect([...both.keys()].sort()).toEqual(['debian-12', 'rhel-9']);
    expect(both.get('debian-12')!.map((k) => k.release)).toEqual(['6.1.2', '6.1.1', '6.1.0-fixed']);
    expect(await readFixCandidates(f.ctx, [], 3)).toEqual(new Map());
  });
});
