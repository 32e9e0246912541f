import { createHash } from 'node:crypto';
import {
  KAFKA_AUTH_HEADER,
  kafkaSigningKey,
  KafkaSigner,
  parseKafkaAuthHeader,
  signingKeyFromTokenHash,
  signKafkaMessage,
  verifyKafkaMac,
} from './kafka-signature';
import { KafkaKeyring } from './kafka-keys';
import { sha256Hex } from './tokens';

const TOKEN = 'fct_test-vector-token';
const TOPIC = 'fleet.placement-acks.v1';
const VALUE = '{"eventId":"e1"}';

describe('Kafka message signatures', () => {
  it('matches the documented algorithm (a test vector computed apart, with Python hmac)', () => {
    const k = kafkaSigningKey(TOKEN);
    expect(k.key).toEqual(createHash('sha256').update(TOKEN).digest());
    expect(k.keyId).toBe('d4b207b22027dcee36295a7b08696bebf5c51a5d1258599c1c47ed7e5e6118d3');
    expect(signKafkaMessage(k, TOPIC, 'host-r1-01', VALUE)).toBe(
      'v1 d4b207b22027dcee36295a7b08696bebf5c51a5d1258599c1c47ed7e5e6118d3 69ef02140d225c7f8dcb884c5330797eb720f14897b75a842d1cfccb37e5dc64',
    );
    expect(signKafkaMessage(k, TOPIC, null, null).split(' ')[2]).toBe(
      '9436c5e10a18f0230fd9381f781c268c0338136171f212f95efa0fb3787abccb',
    );
  });

  it('the service derives the same key from the stored hash alone', () => {
    expect(signingKeyFromTokenHash(sha256Hex(TOKEN))).toEqual(kafkaSigningKey(TOKEN));
    expect(() => signingKeyFromTokenHash('abcd')).toThrow();
  });

  it('binds topic, key and value; strings and Buffers alike; a null key differs from an empty one', () => {
    const k = kafkaSigningKey(TOKEN);
    const header = parseKafkaAuthHeader({ [KAFKA_AUTH_HEADER]: Buffer.from(signKafkaMessage(k, TOPIC, 'h1', VALUE)) });
    if (!header.ok) throw new Error(header.reason);
    expect(header.keyId).toBe(k.keyId);
    expect(verifyKafkaMac(k.key, TOPIC, Buffer.from('h1'), Buffer.from(VALUE), header.mac)).toBe(true);
    expect(verifyKafkaMac(k.key, 'fleet.guest-inventory.v1', 'h1', VALUE, header.mac)).toBe(false);
    expect(verifyKafkaMac(k.key, TOPIC, 'h2', VALUE, header.mac)).toBe(false);
    expect(verifyKafkaMac(k.key, TOPIC, 'h1', VALUE + ' ', header.mac)).toBe(false);
    expect(verifyKafkaMac(kafkaSigningKey(TOKEN + 'x').key, TOPIC, 'h1', VALUE, header.mac)).toBe(false);
    // field boundaries are length-prefixed: moving bytes between key and value changes the MAC
    expect(signKafkaMessage(k, TOPIC, 'ab', 'c')).not.toBe(signKafkaMessage(k, TOPIC, 'a', 'bc'));
    expect(signKafkaMessage(k, TOPIC, null, VALUE)).not.toBe(signKafkaMessage(k, TOPIC, '', VALUE));
  });

  it('parses the header or says why not', () => {
    const k = kafkaSigningKey(TOKEN);
    const good = signKafkaMessage(k, TOPIC, 'h', VALUE);
    expect(parseKafkaAuthHeader(undefined)).toMatchObject({ ok: false, reason: expect.stringMatching(/unsigned/) });
    expect(parseKafkaAuthHeader({})).toMatchObject({ ok: false, reason: expect.stringMatching(/unsigned/) });
    expect(parseKafkaAuthHeader({ [KAFKA_AUTH_HEADER]: [good, good] })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/2 fleetcompat-auth headers/),
    });
    expect(parseKafkaAuthHeader({ [KAFKA_AUTH_HEADER]: [good] })).toMatchObject({ ok: true, keyId: k.keyId });
    for (const bad of [
      'v1',
      'v2 ' + good.slice(3),
      good.replace('v1 ', 'v1  '),
      good.toUpperCase(),
      good + ' x',
      good.slice(0, -2),
    ]) {
      expect(parseKafkaAuthHeader({ [KAFKA_AUTH_HEADER]: bad })).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/is not "v1/),
      });
    }
  });

  it('KafkaSigner adds the header, keeps other headers, and does nothing without a token', () => {
    const m = new KafkaSigner(TOKEN).sign(TOPIC, { key: 'h', value: VALUE, headers: { a: 'b' } });
    expect(m.headers).toEqual({
      a: 'b',
      [KAFKA_AUTH_HEADER]: signKafkaMessage(kafkaSigningKey(TOKEN), TOPIC, 'h', VALUE),
    });
    const plain = { key: 'h', value: VALUE };
    expect(new KafkaSigner(undefined).sign(TOPIC, plain)).toBe(plain);
    expect(new KafkaSigner('').signs).toBe(false);
  });
});

describe('KafkaKeyring', () => {
  const hostKey = kafkaSigningKey('fct_host');
  function source() {
    const calls: string[][] = [];
    const known = new Map([
      [hostKey.keyId, { key: hostKey.key, principal: { tokenId: 't-host', name: null, role: 'host:h1' as const } }],
    ]);
    return {
      calls,
      revoke: () => known.clear(),
      kafkaKeys: async (ids: readonly string[]) => {
        calls.push([...ids]);
        return new Map([...known].filter(([id]) => ids.includes(id)));
      },
    };
  }

  it('one query per load for the ids not cached; unknown ids cached as null; the bootstrap token without a query', async () => {
    const src = source();
    let now = 1000;
    const ring = new KafkaKeyring(src, { bootstrapToken: 'boot-token-0123456789', cacheMs: 30000, now: () => now });
    const boot = kafkaSigningKey('boot-token-0123456789').keyId;
    const forged = 'f'.repeat(64);
    expect(ring.get(hostKey.keyId)).toBeUndefined();
    await ring.load([hostKey.keyId, forged, boot, hostKey.keyId]);
    expect(src.calls).toEqual([[hostKey.keyId, forged]]);
    expect(ring.get(hostKey.keyId)?.principal.role).toBe('host:h1');
    expect(ring.get(forged)).toBeNull();
    expect(ring.get(boot)?.principal).toMatchObject({ tokenId: 'bootstrap', role: 'admin' });
    await ring.load([hostKey.keyId, forged]);
    expect(src.calls).toHaveLength(1); // cached
    // a revocation is seen once the lookup expires
    src.revoke();
    now += 30001;
    await ring.load([hostKey.keyId]);
    expect(src.calls).toHaveLength(2);
    expect(ring.get(hostKey.keyId)).toBeNull();
  });

  it('is bounded: the oldest lookups go first', async () => {
    const src = source();
    const ring = new KafkaKeyring(src, { maxEntries: 3 });
    const ids = ['1', '2', '3', '4', '5'].map((c) => c.repeat(64));
    for (const id of ids) await ring.load([id]);
    expect(ids.map((id) => ring.get(id))).toEqual([undefined, undefined, null, null, null]);
  });
});
