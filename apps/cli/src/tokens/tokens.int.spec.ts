import { Authenticator, TokenStore } from '@fleetcompat/auth';
import { openDatabase } from '@fleetcompat/platform';
import { createTestDatabase, TestDatabase } from '../../../../test/support/postgres';
import { run } from '../main';

describe('fleetcompat tokens', () => {
  let db: TestDatabase;
  const out: string[] = [];
  const io = (env: Record<string, string> = {}) => ({
    stdout: (t: string) => void out.push(t),
    stderr: (t: string) => void out.push(t),
    env,
  });
  const cli = async (args: string[], env?: Record<string, string>) => {
    out.length = 0;
    const code = await run(['tokens', ...args], io(env));
    return { code, text: out.join('') };
  };

  beforeAll(async () => {
    db = await createTestDatabase('cli_tokens');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('creates (secret shown once), lists (no secrets) and revokes tokens', async () => {
    const created = await cli(['create', '--role', 'planner', '--name', 'alice', '--database-url', db.url]);
    expect(created).toMatchObject({ code: 0, text: expect.stringMatching(/created token/) });
    const secret = /^(fct_\S+)$/m.exec(created.text)![1];
    const id = /created token (\S+) \(role planner, name alice\)/.exec(created.text)![1];

    const json = await cli(['create', '--role', 'host:host-r1-01', '--json'], { DATABASE_URL: db.url });
    expect(JSON.parse(json.text)).toMatchObject({ role: 'host:host-r1-01', token: expect.stringMatching(/^fct_/) });

    const listed = await cli(['list', '--database-url', db.url]);
    expect(listed.text).toContain(id);
    expect(listed.text).toContain('host:host-r1-01');
    expect(listed.text).not.toContain(secret);

    const ds = await openDatabase({ url: db.url, migrate: false });
    try {
      const auth = new Authenticator(new TokenStore(ds));
      expect(await auth.authenticate(secret)).toMatchObject({ role: 'planner', name: 'alice' });
      expect(await cli(['revoke', id, '--database-url', db.url])).toEqual({ code: 0, text: `revoked token ${id}\n` });
      expect(await auth.authenticate(secret)).toBeNull();
    } finally {
      await ds.destroy();
    }
    expect((await cli(['list', '--database-url', db.url])).text).not.toContain(id);
    expect((await cli(['list', '--all', '--database-url', db.url])).text).toMatch(new RegExp(`${id}.*revoked`));
    const again = await cli(['revoke', id, '--database-url', db.url]);
    expect(again.code).toBe(1);
    expect(again.text).toMatch(/no active token/);
  });

  it('refuses a bad role and a missing database', async () => {
    const bad = await cli(['create', '--role', 'root', '--database-url', db.url]);
    expect(bad.code).toBe(2);
    expect(bad.text).toMatch(/--role must be planner, ci, admin or host:<hostId>/);
    expect((await cli(['create', '--role', 'ci'])).code).toBe(2);
    expect((await cli(['create'])).code).toBe(2);
  });
});
