import { IMAGES, ReadFixture, smallFleetFixture } from '../../test/read-fixture';
import { readGuest } from './guest';

describe('readGuest (real Postgres, the small fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await smallFleetFixture('guest')));
  afterAll(() => f?.close());

  it('gives the guest with its current decision, its host, its kernel and the host acknowledgement', async () => {
    const g = (await readGuest(f.ctx, 'g1'))!;
    expect(g.guest).toMatchObject({
      guestId: 'g1',
      hostId: 'h1',
      present: true,
      status: 'ok',
      kernelSha256: IMAGES.fixed,
      observedEventId: 'obs-g1',
    });
    expect(g.guest.decision!.message).toMatchObject({
      type: 'PlacementDecided',
      decisionId: g.guest.decisionId,
      hostId: 'h1',
      hypervisorVersion: '4.17.3',
      rsdp: 'high',
    });
    expect(g.guest.decision!.causedBy).toMatchObject({ eventId: 'plan-h1', type: 'HypervisorUpgradePlanned' });
    expect(g.guest.decision!.explanation.length).toBeGreaterThan(0);
    expect(g.host).toMatchObject({ hostId: 'h1', hypervisorVersion: '4.10.4', labels: { rack: 'r1' } });
    expect(g.kernel).toMatchObject({ imageSha256: IMAGES.fixed, release: '6.1.0-fixed', revoked: false });
    expect(g.bootloader).toBeNull();
    expect(g.ack).toMatchObject({ hostId: 'h1', guestId: 'g1', decisionId: g.guest.decisionId, eventId: 'ack-g1' });
    expect(g.reportedBy).toEqual(['h1']);
  });

  it('a guest two hosts report: the latest report first, or the host asked for; both hosts listed', async () => {
    expect((await readGuest(f.ctx, 'g-moving'))!).toMatchObject({
      guest: { hostId: 'h2' },
      host: { hostId: 'h2' },
      reportedBy: ['h1', 'h2'],
    });
    const onH1 = (await readGuest(f.ctx, 'g-moving', 'h1'))!;
    expect(onH1.guest).toMatchObject({ hostId: 'h1', lastEventId: 'obs-gm-h1' });
    expect(onH1.guest.decision!.message.hostId).toBe('h1');
    expect(onH1.kernel).toMatchObject({ imageSha256: IMAGES.revoked, revoked: true });
    expect(onH1.ack).toBeNull();
  });

  it('a removed guest is given as removed; a guest of an unregistered host has no host and no decision; unknown ids give null', async () => {
    expect((await readGuest(f.ctx, 'g4'))!.guest).toMatchObject({ present: false, lastEventId: 'rm-g4' });
    expect((await readGuest(f.ctx, 'g5'))!).toMatchObject({
      guest: { hostId: 'h3', status: 'awaiting-host', decision: null },
      host: null,
      kernel: null,
      reportedBy: ['h3'],
    });
    expect(await readGuest(f.ctx, 'nobody')).toBeNull();
    expect(await readGuest(f.ctx, 'g1', 'h2')).toBeNull();
  });
});
