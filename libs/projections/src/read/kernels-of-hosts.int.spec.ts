import { IMAGES, ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readKernelsOfHosts } from './kernels-of-hosts';

describe('readKernelsOfHosts (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('kernels_of_hosts')));
  afterAll(() => f?.close());

  it("gives the announced images the selected hosts' present guests boot, revoked ones included, as the policy reads them", async () => {
    const h1 = await readKernelsOfHosts(f.ctx, { ids: ['h1'] });
    expect([...h1.keys()].sort()).toEqual([IMAGES.fixed, IMAGES.old, IMAGES.revoked].sort());
    expect(h1.get(IMAGES.fixed)).toEqual({
      imageSha256: IMAGES.fixed,
      xenNotes: { guestOs: 'linux', supportedFeatures: 1 << 15, pvh: true },
      revoked: false,
      announcedAt: '2026-11-01T00:01:00.000Z',
      distro: 'debian-12',
    });
    expect(h1.get(IMAGES.revoked)).toMatchObject({ revoked: true });
  });

  it('leaves out the images of removed guests and of hosts not selected', async () => {
    // h2: g3 boots no image, g4 (the old kernel) was removed, g-moving boots the revoked one
    expect([...(await readKernelsOfHosts(f.ctx, { ids: ['h2'] })).keys()]).toEqual([IMAGES.revoked]);
    expect((await readKernelsOfHosts(f.ctx, { waveId: 'w-none' })).size).toBe(0);
  });
});
