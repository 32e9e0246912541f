import { MAX_EVENT_BYTES } from '@fleetcompat/contract';
import { DeadLetterHeaders, IngestBatchHandler, MAX_DEAD_LETTER_BYTES, RawMessage } from './ingest-batch-handler';
import { backoffDelay } from './util';

const now = new Date('2026-11-24T10:00:00Z');
const host = (eventId: string, hostId = 'h1') =>
  JSON.stringify({
    eventId,
    type: 'HostRegistered',
    schemaVersion: 1,
    occurredAt: '2026-11-24T09:00:00Z',
    source: 'agent',
    data: { hostId, hypervisor: { name: 'xen', version: '4.10.4' }, rsdpOverrideSupported: true },
  });
const msg = (offset: number, value: string | Buffer | null, key: string | null = 'h1'): RawMessage => ({
  offset: String(offset),
  key: key === null ? null : Buffer.from(key),
  value: typeof value === 'string' ? Buffer.from(value) : value,
});

describe('IngestBatchHandler', () => {
  const handler = new IngestBatchHandler();

  it('given valid events, when handled, then all are to be stored in order with their Kafka origin', () => {
    const out = handler.handle('in', 3, [msg(10, host('e1')), msg(11, host('e2', 'h2'))], now);
    expect(out.deadLetters).toEqual([]);
    expect(out.toStore.map((e) => e.event.eventId)).toEqual(['e1', 'e2']);
    expect(out.toStore[1].origin).toEqual({ channel: 'kafka', topic: 'in', partition: 3, offset: '11' });
    expect(out.toStore[0].event.type).toBe('HostRegistered');
  });

  it('given poison messages between valid ones, then each becomes a dead letter with its reason and position', () => {
    const unknown = JSON.stringify({ ...JSON.parse(host('e3')), type: 'Nope' });
    const invalid = JSON.stringify({ ...JSON.parse(host('e4')), data: { hostId: 'h1' } });
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_EVENT_BYTES) });
    const out = handler.handle(
      'in',
      0,
      [msg(1, host('e1')), msg(2, '{not json'), msg(3, unknown), msg(4, invalid), msg(5, big), msg(6, null, null), msg(7, host('e7'))],
      now,
    );
    expect(out.toStore.map((e) => e.event.eventId)).toEqual(['e1', 'e7']);
    expect(out.deadLetters.map((d) => [d.letter.offset, d.letter.error.code, d.letter.eventId])).toEqual([
      ['2', 'invalid-json', undefined],
      ['3', 'unknown-type', 'e3'],
      ['4', 'invalid-data', 'e4'],
      ['5', 'oversize', undefined],
      ['6', 'invalid-json', undefined],
    ]);
    const first = out.deadLetters[0];
    expect(first.key).toBe('h1');
    expect(JSON.parse(first.value)).toEqual({
      topic: 'in',
      partition: 0,
      offset: '2',
      key: 'h1',
      value: '{not json',
      valueEncoding: 'utf8',
      error: { code: 'invalid-json', message: expect.stringContaining('not valid JSON') },
      receivedAt: '2026-11-24T10:00:00.000Z',
    });
    expect(first.headers).toEqual({
      [DeadLetterHeaders.code]: 'invalid-json',
      [DeadLetterHeaders.topic]: 'in',
      [DeadLetterHeaders.partition]: '0',
      [DeadLetterHeaders.offset]: '2',
    });
    expect(out.deadLetters[4].letter).toMatchObject({ key: null, value: null });
  });

  it('given an oversize value, then the dead letter keeps a cut copy, marked truncated, on a character boundary', () => {
    const h = new IngestBatchHandler({ maxDeadLetterValueBytes: 10 });
    const d = h.deadLetter('in', 0, msg(1, 'aaaaaaaaaé'), { code: 'oversize', message: 'too big' }, now); // é = 2 bytes at 9..10
    expect(d.letter.value).toBe('aaaaaaaaa');
    expect(d.letter.valueTruncated).toBe(true);
  });

  it('given a value that is not UTF-8, then it is kept as base64', () => {
    const raw = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const d = handler.deadLetter('in', 0, msg(1, raw), { code: 'invalid-json', message: 'x' }, now);
    expect(d.letter.valueEncoding).toBe('base64');
    expect(Buffer.from(d.letter.value!, 'base64')).toEqual(raw);
  });

  it('given a value whose JSON escaping explodes, then the serialized letter still fits the broker limit', () => {
    const raw = Buffer.alloc(400 * 1024, 0x01); // valid UTF-8, escaped as \u0001 (6 bytes each)
    const d = handler.deadLetter('in', 0, msg(1, raw), { code: 'oversize', message: 'x' }, now);
    expect(Buffer.byteLength(d.value)).toBeLessThanOrEqual(MAX_DEAD_LETTER_BYTES);
    expect(d.letter.valueTruncated).toBe(true);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 10, 100, 5000].map((a) => backoffDelay(a, 100, 5000))).toEqual([100, 200, 400, 800, 5000, 5000, 5000]);
  });
});
