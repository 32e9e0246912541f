// A start that hangs never leaves a process that is neither up nor gone: past
// STARTUP_TIMEOUT_SECONDS it exits 1 with one line that says which step it was in, so that an
// orchestrator starts it again. Here the step that hangs is real: another session holds the
// migrations lock, as a process stuck in its migrations would.
import { Client } from 'pg';
import { startApp } from '../support/apps';
import { createTestDatabase, TestDatabase } from '../support/postgres';

describe('a start that hangs', () => {
  let db: TestDatabase;
  let holder: Client;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_startup');
    holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(hashtext('fleetcompat:migrations'))`);
  });
  afterAll(async () => {
    await holder?.end().catch(() => undefined);
    await db?.drop();
  });

  it('exits 1 after STARTUP_TIMEOUT_SECONDS, naming the step, and starts once the step can finish', async () => {
    const stuck = await startApp('api', { DATABASE_URL: db.url, STARTUP_TIMEOUT_SECONDS: '3' });
    const exit = await stuck.waitForExit();
    expect(exit).toEqual({ code: 1, signal: null });
    expect(stuck.log()).toContain(
      'api: the start did not finish within 3 s; it was waiting for the migrations lock (another process is migrating)',
    );
    expect(stuck.log()).toContain('exiting to be started again (STARTUP_TIMEOUT_SECONDS)');

    // The lock released, the same process starts and stays up past the limit.
    await holder.query(`SELECT pg_advisory_unlock(hashtext('fleetcompat:migrations'))`);
    const app = await startApp('api', { DATABASE_URL: db.url, STARTUP_TIMEOUT_SECONDS: '3' }).then((a) => a.ready());
    try {
      await new Promise((r) => setTimeout(r, 4000));
      expect(app.exit).toBeNull();
    } finally {
      await app.stop();
    }
  });
});
