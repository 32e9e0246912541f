import fc from 'fast-check';
import { OutboxMessage } from '@fleetcompat/contract';
import { MAX_REQUEST_BYTES, splitRequests } from './outbox-relay';

const message = (n: number, valueBytes = 10): OutboxMessage => ({
  id: String(n),
  topic: 't',
  key: `k${n % 3}`,
  value: JSON.stringify({ n, pad: 'x'.repeat(valueBytes) }),
  headers: { type: 'PlacementDecided' },
});

describe('splitRequests (the relay cuts a batch into producer requests)', () => {
  it('keeps every message, in order, at most maxMessages per request', () => {
    const batch = Array.from({ length: 25 }, (_, i) => message(i));
    const requests = splitRequests(batch, 10);
    expect(requests.map((r) => r.length)).toEqual([10, 10, 5]);
    expect(requests.flat()).toEqual(batch);
  });

  it('keeps each request under the byte cap, and a message over it alone in its own', () => {
    const batch = [message(1, 400), message(2, 400), message(3, 400), message(4, 2000), message(5, 10)];
    const requests = splitRequests(batch, 100, 1000);
    expect(requests.map((r) => r.map((m) => m.id))).toEqual([['1', '2'], ['3'], ['4'], ['5']]);
  });

  it('a batch of 4,000 decisions of about 800 bytes goes in requests under the broker default', () => {
    const requests = splitRequests(
      Array.from({ length: 4000 }, (_, i) => message(i, 750)),
      4000,
    );
    expect(requests.length).toBeGreaterThan(1);
    for (const r of requests)
      expect(r.reduce((s, m) => s + m.value.length + m.key.length, 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });

  it('for any batch (any text, non-ASCII too): order kept, and every request of several messages within both caps in UTF-8 bytes', () => {
    const bytes = (m: OutboxMessage) =>
      Buffer.byteLength(m.key) +
      Buffer.byteLength(m.value) +
      Buffer.byteLength(m.topic) +
      32 +
      Object.entries(m.headers ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 8, 0);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.string({ unit: 'binary', maxLength: 20 }),
            value: fc.string({ unit: 'binary', maxLength: 400 }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 50, max: 3000 }),
        (drawn, maxMessages, maxBytes) => {
          const batch: OutboxMessage[] = drawn.map((d, i) => ({
            id: String(i),
            topic: 't',
            key: d.key,
            value: d.value,
          }));
          const requests = splitRequests(batch, maxMessages, maxBytes);
          expect(requests.flat()).toEqual(batch);
          for (const r of requests) {
            expect(r.length).toBeGreaterThan(0);
            expect(r.length).toBeLessThanOrEqual(maxMessages);
            if (r.length > 1) expect(r.reduce((n, m) => n + bytes(m), 0)).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('an empty batch is no request', () => {
    expect(splitRequests([], 10)).toEqual([]);
  });
});
