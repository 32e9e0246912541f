import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readSelectedHosts } from './selected-hosts';

describe('readSelectedHosts (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('selected_hosts')));
  afterAll(() => f?.close());
  const ids = async (sel: Parameters<typeof readSelectedHosts>[1]) =>
    (await readSelectedHosts(f.ctx, sel)).map((h) => h.hostId);

  it('selects by ids, by labels, by wave, and by all of them at once, in host id order', async () => {
    expect(await ids({ ids: ['h2', 'h1', 'nobody'] })).toEqual(['h1', 'h2']);
    expect(await ids({ labels: { rack: 'r2' } })).toEqual(['h2']);
    expect(await ids({ waveId: 'w1' })).toEqual(['h1']);
    expect(await ids({ ids: ['h1', 'h2'], labels: { rack: 'r1' } })).toEqual(['h1']);
    expect(await ids({ labels: { rack: 'r9' } })).toEqual([]);
  });

  it('gives what the policy and the answer need of each host', async () => {
    expect(await readSelectedHosts(f.ctx, { ids: ['h1', 'h2'] })).toEqual([
      {
        hostId: 'h1',
        registered: true,
        hypervisorVersion: '4.10.4',
        hypervisorBuild: null,
        rsdpOverrideSupported: true,
        labels: { rack: 'r1' },
        waveId: 'w1',
      },
      {
        hostId: 'h2',
        registered: true,
        hypervisorVersion: '4.17.3',
        hypervisorBuild: null,
        rsdpOverrideSupported: false,
        labels: { rack: 'r2' },
        waveId: null,
      },
    ]);
  });
});
