import { DataSource } from 'typeorm';
import { TokenCache, TokenStore } from '@fleetcompat/auth';
import { openDatabase } from '@fleetcompat/platform';
import { eventually } from '@fleetcompat/testing';
import { createTestDatabase, TestDatabase } from '../../../../test/support/postgres';
import { TokenNotifications } from './token-notifications';

describe('TokenCache told of access_tokens changes by LISTEN fleetcompat_tokens (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let other: DataSource;
  let store: TokenStore;
  let cache: TokenCache;
  let notifications: TokenNotifications;

  beforeAll(async () => {
    db = await createTestDatabase('token_cache');
    ds = await openDatabase({ url: db.url, migrate: true, poolSize: 3 });
    other = await openDatabase({ url: db.url, migrate: false, poolSize: 1 }); // another process's connection (the CLI, another API)
    store = new TokenStore(ds);
    cache = new TokenCache(store);
    notifications = new TokenNotifications(cache, ds);
    await notifications.onModuleInit();
    await eventually('LISTEN in place', async () => cache.isListening, 10_000, 20);
  });
  afterAll(async () => {
    await notifications?.onModuleDestroy();
    await other?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  it('serves a verified token without asking Postgres, and refuses it once another connection revokes it', async () => {
    const before = cache.changes;
    const { token, info } = await store.create('host:host-c1', 'c1');
    // the insert's own notification drops the cache too: wait for it, so that it cannot land mid-test
    await eventually('the new token heard of', async () => cache.changes > before, 5_000, 10);
    expect(await cache.verify(token)).toEqual({ tokenId: info.id, name: 'c1', role: 'host:host-c1' });
    const misses = cache.misses;
    for (let i = 0; i < 20; i++) expect((await cache.verify(token))?.tokenId).toBe(info.id);
    expect(cache.misses).toBe(misses);

    await other.query(`UPDATE access_tokens SET revoked_at = now() WHERE id = $1`, [info.id]);
    // the commit's notification drops the cache: the next verification asks again
    await eventually('the revoked token refused', async () => (await cache.verify(token)) === null, 5_000, 20);
    expect(cache.misses).toBeGreaterThan(misses);
    expect(await cache.verify(token)).toBeNull();
  });

  it('a token deleted or the table truncated by hand is refused too', async () => {
    const a = await store.create('planner');
    const b = await store.create('ci');
    expect(await cache.verify(a.token)).not.toBeNull();
    expect(await cache.verify(b.token)).not.toBeNull();
    await other.query(`DELETE FROM access_tokens WHERE id = $1`, [a.info.id]);
    await eventually('the deleted token refused', async () => (await cache.verify(a.token)) === null, 5_000, 20);
    expect(await cache.verify(b.token)).not.toBeNull();
    await other.query(`TRUNCATE access_tokens`);
    await eventually(
      'the tokens of a truncated table refused',
      async () => (await cache.verify(b.token)) === null,
      5_000,
      20,
    );
  });

  it('caches nothing while the LISTEN connection is gone, and again once it is back', async () => {
    const before = cache.changes;
    const { token } = await store.create('planner');
    await eventually('the new token heard of', async () => cache.changes > before, 5_000, 10);
    expect(await cache.verify(token)).not.toBeNull();
    // cut this process's LISTEN session from the server
    await other.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN fleetcompat_tokens%'`,
    );
    await eventually('LISTEN lost', async () => !cache.isListening, 5_000, 20);
    const misses = cache.misses;
    await cache.verify(token);
    await cache.verify(token);
    expect(cache.misses).toBe(misses + 2);
    await eventually('LISTEN in place', async () => cache.isListening, 10_000, 20);
    await cache.verify(token);
    const after = cache.misses;
    await cache.verify(token);
    expect(cache.misses).toBe(after);
  });
});
