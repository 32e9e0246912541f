import { ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readHost } from './host';

describe('readHost (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('host')));
  afterAll(() => f?.close());

  it('gives the host with its registration, labels and the plan in force', async () => {
    expect(await readHost(f.ctx, 'h1')).toMatchObject({
      hostId: 'h1',
      registered: true,
      hypervisorVersion: '4.10.4',
      rsdpOverrideSupported: true,
      labels: { rack: 'r1' },
      upgrade: {
        fromVersion: '4.10.4',
        toVersion: '4.17.3',
        waveId: 'w1',
        state: 'planned',
        plannedEventId: 'plan-h1',
      },
    });
    expect(await readHost(f.ctx, 'h2')).toMatchObject({
      hostId: 'h2',
      hypervisorVersion: '4.17.3',
      rsdpOverrideSupported: false,
      upgrade: null,
    });
  });

  it('gives null for a host no event registered', async () => {
    expect(await readHost(f.ctx, 'h3')).toBeNull();
    expect(await readHost(f.ctx, 'nobody')).toBeNull();
  });
});
