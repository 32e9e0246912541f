import { IMAGES, ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readContext } from './context';
import { GuestOfHost, readGuestsOfHosts } from './guests-of-hosts';

describe('readGuestsOfHosts (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('guests_of_hosts')));
  afterAll(() => f?.close());

  /** Every chunk, read in one transaction on one connection (the cursor lives in it). */
  async function chunks(sel: Parameters<typeof readGuestsOfHosts>[1], size: number): Promise<GuestOfHost[][]> {
    const qr = f.ds.createQueryRunner();
    await qr.connect();
    try {
      await qr.query('BEGIN READ ONLY');
      const out: GuestOfHost[][] = [];
      for await (const chunk of readGuestsOfHosts(readContext(qr), sel, size)) out.push(chunk);
      await qr.query('COMMIT');
      return out;
    } finally {
      await qr.release();
    }
  }

  it('streams the present guests of the registered hosts selected in (host, guest) order, in chunks, with the columns the policy reads', async () => {
    const got = await chunks({ ids: ['h1', 'h2', 'h3'] }, 2);
    expect(got.map((c) => c.map((g) => `${g.hostId}/${g.guestId}`))).toEqual([
      ['h1/g-moving', 'h1/g1'],
      ['h1/g2', 'h2/g-moving'],
      ['h2/g3'],
    ]);
    expect(got[0][1]).toEqual({
      guestId: 'g1',
      hostId: 'h1',
      mode: 'pvh',
      memoryMiB: 2048,
      bootMethod: 'direct',
      kernelSha256: IMAGES.fixed,
      bootloaderSha256: null,
    });
  });

  it('a selection of nothing gives no chunk; a chunk as large as the rest ends the stream', async () => {
    expect(await chunks({ waveId: 'w-none' }, 10)).toEqual([]);
    expect((await chunks({ waveId: 'w1' }, 3)).map((c) => c.length)).toEqual([3]);
  });
});
