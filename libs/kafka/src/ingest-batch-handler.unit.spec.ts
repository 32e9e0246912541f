import { MAX_EVENT_BYTES, Topics } from '@fleetcompat/contract';
import { DeadLetterHeaders, IngestBatchHandler, MAX_DEAD_LETTER_BYTES, RawMessage } from './ingest-batch-handler';
import { backoffDelay } from './util';

const now = new Date('2026-11-24T10:00:00Z');
const INV = Topics.guestInventory;
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
    const out = handler.handle(INV, 3, [msg(10, host('e1')), msg(11, host('e2', 'h2'))], now);
    expect(out.deadLetters).toEqual([]);
    expect(out.toStore.map((e) => e.event.eventId)).toEqual(['e1', 'e2']);
    expect(out.toStore[1].origin).toEqual({ channel: 'kafka', topic: INV, partition: 3, offset: '11' });
    expect(out.toStore[0].event.type).toBe('HostRegistered');
  });

  it('given poison messages between valid ones, then each becomes a dead letter with its reason and position', () => {
    const unknown = JSON.stringify({ ...JSON.parse(host('e3')), type: 'Nope' });
    const invalid = JSON.stringify({ ...JSON.parse(host('e4')), data: { hostId: 'h1' } });
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_EVENT_BYTES) });
    const out = handler.handle(
      INV,
      0,
      [
        msg(1, host('e1')),
        msg(2, '{not json'),
        msg(3, unknown),
        msg(4, invalid),
        msg(5, big),
        msg(6, null, null),
        msg(7, host('e7')),
      ],
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
      topic: INV,
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
      [DeadLetterHeaders.topic]: INV,
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

  it('given bytes that are not UTF-8 inside a JSON string, then the message is refused (not stored with U+FFFD)', () => {
    const [a, b] = host('bad-utf8').split('"h1"');
    const raw = Buffer.concat([Buffer.from(a + '"h'), Buffer.from([0xc3, 0x28]), Buffer.from('"' + b)]);
    const r = handler.handle(INV, 0, [msg(0, raw)], now);
    expect(r.toStore).toEqual([]);
    expect(r.deadLetters[0].letter).toMatchObject({
      valueEncoding: 'base64',
      error: { code: 'invalid-json', message: 'the value is not valid UTF-8' },
    });
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
    expect([1, 2, 3, 4, 10, 100, 5000].map((a) => backoffDelay(a, 100, 5000))).toEqual([
      100, 200, 400, 800, 5000, 5000, 5000,
    ]);
  });
});

describe('IngestBatchHandler refuses what Postgres or the policy cannot take, and what is not on its own topic', () => {
  const handler = new IngestBatchHandler();
  const event = (over: Record<string, unknown>, data: Record<string, unknown> = {}) => {
    const e = JSON.parse(host('x'));
    return JSON.stringify({ ...e, ...over, data: { ...e.data, ...data } });
  };
  const codeOf = (value: string, topic: string = INV) => {
    const out = handler.handle(topic, 0, [msg(1, value)], now);
    return out.deadLetters.map((d) => [d.letter.error.code, d.letter.error.message])[0] ?? 'stored';
  };

  it('an occurredAt with an offset beyond ±14:00, before 2000, or past the clock skew is invalid-time', () => {
    expect(codeOf(event({ occurredAt: '9999-12-31T23:59:59-15:00' }))).toEqual([
      'invalid-time',
      expect.stringContaining('±14:00'),
    ]);
    expect(codeOf(event({ occurredAt: '1999-12-31T23:59:59Z' }))).toEqual([
      'invalid-time',
      expect.stringContaining('before 2000'),
    ]);
    expect(codeOf(event({ occurredAt: '2026-11-24T10:06:00Z' }))).toEqual([
      'invalid-time',
      expect.stringContaining('after'),
    ]);
    expect(codeOf(event({ occurredAt: '2026-11-24T10:04:00Z' }))).toBe('stored');
    expect(codeOf(event({ occurredAt: '2026-11-24T23:00:00+14:00' }))).toBe('stored');
  });

  it('a NUL or a lone surrogate in any string, key or value, is invalid-string', () => {
    expect(codeOf(event({}, { hostId: 'h\u0000' }))).toEqual([
      'invalid-string',
      expect.stringContaining('data.hostId: contains a NUL'),
    ]);
    expect(codeOf(event({ eventId: 'a\ud800b' }))).toEqual(['invalid-string', expect.stringContaining('surrogate')]);
    expect(codeOf(event({}, { labels: { ['\udc00']: 'x' } }))).toEqual([
      'invalid-string',
      expect.stringContaining('key'),
    ]);
    expect(codeOf(event({}, { hostId: 'h-\ud83d\ude00' }))).toBe('stored');
  });

  it('nesting deeper than the limit is too-deep, found before parsing', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(codeOf(JSON.stringify({ ...JSON.parse(host('x')), pad: 0 }).replace('"pad":0', `"pad":${deep}`))).toEqual([
      'too-deep',
      expect.any(String),
    ]);
  });

  it('an event on a topic that is not its own is wrong-topic, naming the right one', () => {
    const declared = JSON.stringify({
      eventId: 'b1',
      type: 'HypervisorBehaviourDeclared',
      schemaVersion: 1,
      occurredAt: '2026-11-24T09:00:00Z',
      source: 'x',
      data: { version: '4.17.3', behaviour: 'always-low' },
    });
    expect(codeOf(declared, Topics.placementAcks)).toEqual([
      'wrong-topic',
      `HypervisorBehaviourDeclared belongs on ${Topics.operatorDeclarations}, not ${Topics.placementAcks}`,
    ]);
    expect(codeOf(declared, Topics.operatorDeclarations)).toBe('stored');
    expect(codeOf(host('y'), Topics.placementAcks)).toEqual(['wrong-topic', expect.any(String)]);
    const prefixed = new IngestBatchHandler({ topicPrefix: 't1.' });
    expect(prefixed.handle(`t1.${INV}`, 0, [msg(1, host('z'))], now).toStore).toHaveLength(1);
    expect(prefixed.handle(INV, 0, [msg(1, host('z'))], now).deadLetters[0].letter.error.code).toBe('wrong-topic');
  });
});
