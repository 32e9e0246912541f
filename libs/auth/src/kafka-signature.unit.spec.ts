import { createHash } from 'node:crypto';
import fc from 'fast-check';
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

describe('KafkaKeyring told of changes (invalidate)', () => {
  const keys = [0, 1, 2].map((i) => kafkaSigningKey(`fct_host_${i}`));
  const entry = (i: number) => ({
    key: keys[i].key,
    principal: { tokenId: `t${i}`, name: null, role: 'host:h1' as const },
  });

  /** A token table whose lookups read the rows at once and answer when the test says. */
  function table() {
    const valid = new Set([0, 1, 2]);
    const pending: (() => void)[] = [];
    return {
      valid,
      pending,
      kafkaKeys: (ids: readonly string[]) => {
        const found = new Map(
          [...valid].filter((i) => ids.includes(keys[i].keyId)).map((i) => [keys[i].keyId, entry(i)] as const),
        );
        return new Promise<Map<string, ReturnType<typeof entry>>>((resolve) => pending.push(() => resolve(found)));
      },
    };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('a revocation applies at the next load once it is heard, not after cacheMs; loaded ids stay readable until then', async () => {
    const t = table();
    const ring = new KafkaKeyring(t, { cacheMs: 60_000 });
    const load = ring.load([keys[0].keyId]);
    await settle();
    t.pending.shift()!();
    await load;
    expect(ring.get(keys[0].keyId)).not.toBeNull();
    t.valid.delete(0);
    ring.invalidate();
    expect(ring.get(keys[0].keyId)).not.toBeNull(); // the chunk in hand
    const again = ring.load([keys[0].keyId]);
    await settle();
    expect(t.pending).toHaveLength(1); // asked again at once
    t.pending.shift()!();
    await again;
    expect(ring.get(keys[0].keyId)).toBeNull();
  });

  /**
   * Whatever the interleaving of loads (answered late, in order), revocations and
   * re-creations with their notifications: a load made with no change under way answers the
   * table as it stands, so a lookup a change overlapped is never served from the cache.
   */
  it('never serves a lookup that a heard change overlapped, whatever the interleaving', async () => {
    type Step =
      | { kind: 'load'; key: number }
      | { kind: 'answer' }
      | { kind: 'revoke' | 'restore'; key: number }
      | { kind: 'check'; key: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('load' as const), key: fc.nat(2) }),
      fc.constant({ kind: 'answer' as const }),
      fc.record({ kind: fc.constantFrom('revoke' as const, 'restore' as const), key: fc.nat(2) }),
      fc.record({ kind: fc.constant('check' as const), key: fc.nat(2) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 60 }), async (steps) => {
        const t = table();
        const ring = new KafkaKeyring(t, { cacheMs: 60_000 });
        const loads: Promise<void>[] = [];
        const answerAll = async () => {
          for (let i = 0; i < 20 && t.pending.length; i++) {
            while (t.pending.length) t.pending.shift()!();
            await settle();
          }
        };
        for (const s of steps) {
          if (s.kind === 'load') {
            loads.push(ring.load([keys[s.key].keyId]));
            await settle();
          } else if (s.kind === 'answer') {
            t.pending.shift()?.();
            await settle();
          } else if (s.kind === 'revoke' || s.kind === 'restore') {
            if (s.kind === 'revoke') t.valid.delete(s.key);
            else t.valid.add(s.key);
            ring.invalidate(); // the commit's notification
          } else {
            // every lookup under way answered, then a load with nothing changing meanwhile
            await answerAll();
            const check = ring.load([keys[s.key].keyId]);
            await settle();
            await answerAll();
            await check;
            expect(ring.get(keys[s.key].keyId) !== null).toBe(t.valid.has(s.key));
          }
        }
        await answerAll();
        await Promise.all(loads);
      }),
      { numRuns: 300 },
    );
  });
});
