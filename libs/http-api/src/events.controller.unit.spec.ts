import { EventSink, UnstorableEventsError } from '@fleetcompat/contract';
import { EventsController } from './events.controller';
import { EventsRateLimiter } from './events-rate';
import { ProblemException } from './problem';

const event = {
  eventId: 'e1',
  type: 'HostRegistered',
  schemaVersion: 1,
  occurredAt: '2026-11-20T08:00:00Z',
  source: 't',
  data: { hostId: 'h1', hypervisor: { name: 'xen', version: '4.17.3' }, rsdpOverrideSupported: true },
};
const controller = (sink: EventSink) => new EventsController(sink, { rate: new EventsRateLimiter(1000, 60000) });
const req = { principal: { tokenId: 't', name: null, role: 'admin' }, ip: '127.0.0.1' } as any;

describe('POST /v1/events', () => {
  it('answers 400 unstorable, never 500, when the store refuses the events as data', async () => {
    const sink: EventSink = {
      store: async () => Promise.reject(new UnstorableEventsError('22P05', 'unsupported Unicode escape sequence')),
    };
    const e = await controller(sink)
      .ingest(event, req)
      .catch((x) => x);
    expect(e).toBeInstanceOf(ProblemException);
    expect(e).toMatchObject({ status: 400, code: 'unstorable' });
    expect(e.detail).toMatch(/SQLSTATE 22P05.*none was stored/);
  });

  it('lets other store failures through (a 500: the client may retry)', async () => {
    const sink: EventSink = { store: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
    await expect(controller(sink).ingest(event, req)).rejects.toThrow('ECONNREFUSED');
  });
});
