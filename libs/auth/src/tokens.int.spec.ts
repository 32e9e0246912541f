import { DataSource } from 'typeorm';
import { openDatabase } from '@fleetcompat/platform';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { Authenticator, sha256Hex, TokenStore } from './tokens';
import { kafkaSigningKey } from './kafka-signature';

describe('TokenStore (Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: TokenStore;

  beforeAll(async () => {
    db = await createTestDatabase('auth_tokens');
    ds = await openDatabase({ url: db.url, migrate: true });
    store = new TokenStore(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('creates a token, stores only its sha256, and verifies it', async () => {
    const { token, info } = await store.create('planner', 'alice');
    expect(token).toMatch(/^fct_[A-Za-z0-9_-]{43}$/);
    expect(info).toMatchObject({ role: 'planner', name: 'alice', revokedAt: null });
    const rows = await ds.query(`SELECT * FROM access_tokens WHERE id = $1`, [info.id]);
    expect(rows[0].token_sha256).toBe(sha256Hex(token));
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
    expect(await store.verify(token)).toEqual({ tokenId: info.id, name: 'alice', role: 'planner' });
    expect(await store.verify(token + 'x')).toBeNull();
    expect(await store.verify('not-a-token')).toBeNull();
  });

  it('rejects unknown roles', async () => {
    await expect(store.create('root')).rejects.toThrow(/unknown role/);
    await expect(
      ds.query(`INSERT INTO access_tokens (id, role, token_sha256) VALUES ('x', 'root', $1)`, ['a'.repeat(64)]),
    ).rejects.toThrow();
  });

  it('revokes: the token stops working and leaves the list', async () => {
    const { token, info } = await store.create('host:host-r1-01');
    expect((await store.list()).map((t) => t.id)).toContain(info.id);
    expect(await store.revoke(info.id)).toBe(true);
    expect(await store.revoke(info.id)).toBe(false);
    expect(await store.revoke('00000000-0000-0000-0000-000000000000')).toBe(false);
    expect(await store.revoke('nonsense')).toBe(false);
    expect(await store.verify(token)).toBeNull();
    expect((await store.list()).map((t) => t.id)).not.toContain(info.id);
    expect((await store.list({ includeRevoked: true })).find((t) => t.id === info.id)?.revokedAt).toEqual(
      expect.any(String),
    );
  });

  it('finds a token by id with the hash it is kept by (live tickets), until it is revoked', async () => {
    const { token, info } = await store.create('planner', 'bob');
    expect(await store.active(info.id)).toEqual({
      principal: { tokenId: info.id, name: 'bob', role: 'planner' },
      tokenSha256: sha256Hex(token),
    });
    expect(await store.active('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(await store.active("x' OR '1'='1")).toBeNull();
    await store.revoke(info.id);
    expect(await store.active(info.id)).toBeNull();
  });

  it('finds the signing keys of Kafka messages by key id, in one indexed query; revoked tokens are not found', async () => {
    const a = await store.create('host:host-k1');
    const b = await store.create('ci');
    const ka = kafkaSigningKey(a.token);
    const kb = kafkaSigningKey(b.token);
    const found = await store.kafkaKeys([ka.keyId, kb.keyId, 'f'.repeat(64), 'not-hex']);
    expect([...found.keys()].sort()).toEqual([ka.keyId, kb.keyId].sort());
    expect(found.get(ka.keyId)).toEqual({
      key: ka.key,
      principal: { tokenId: a.info.id, name: null, role: 'host:host-k1' },
    });
    const plan = (
      await ds.query(
        `EXPLAIN SELECT id FROM access_tokens WHERE encode(sha256(decode(token_sha256, 'hex')), 'hex') = ANY($1::text[])`,
        [[ka.keyId]],
      )
    )
      .map((r: any) => r['QUERY PLAN'])
      .join('\n');
    await ds.query('SET enable_seqscan = off');
    const forced = (
      await ds.query(
        `EXPLAIN SELECT id FROM access_tokens WHERE encode(sha256(decode(token_sha256, 'hex')), 'hex') = ANY($1::text[])`,
        [[ka.keyId]],
      )
    )
      .map((r: any) => r['QUERY PLAN'])
      .join('\n');
    await ds.query('RESET enable_seqscan');
    expect(plan + forced).toMatch(/access_tokens_kafka_key_id/);
    await store.revoke(a.info.id);
    expect([...(await store.kafkaKeys([ka.keyId, kb.keyId])).keys()]).toEqual([kb.keyId]);
  });

  it('the bootstrap token is an admin; other tokens come from the store', async () => {
    const auth = new Authenticator(store, 'boot-secret-123456');
    expect(await auth.authenticate('boot-secret-123456')).toMatchObject({ tokenId: 'bootstrap', role: 'admin' });
    expect(await auth.authenticate('boot-secret-12345')).toBeNull();
    const { token } = await store.create('ci');
    expect(await auth.authenticate(token)).toMatchObject({ role: 'ci' });
    expect(await new Authenticator(store, null).authenticate('boot-secret-123456')).toBeNull();
  });
});
