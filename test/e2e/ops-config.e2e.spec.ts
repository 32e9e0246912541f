// A wrong or missing setting stops the built process at once, with one line naming the
// setting and a non-zero exit code.
import { AppProcess, startApp } from '../support/apps';

async function run(role: Parameters<typeof startApp>[0], env: Record<string, string | undefined>): Promise<AppProcess> {
  // Unset the settings the test machine may have, so that each case sees only its own.
  const app = await startApp(role, { DATABASE_URL: undefined, KAFKA_BROKERS: undefined, LOG_LEVEL: undefined, ...env });
  await app.waitForExit();
  return app;
}

describe('configuration errors', () => {
  it.each([
    [
      'api',
      { DATABASE_URL: 'postgres://x@127.0.0.1:1/db', DATABASE_POOL_SIZE: 'many' },
      'configuration error: DATABASE_POOL_SIZE must be a whole number (got "many")',
    ],
    [
      'api',
      { DATABASE_URL: 'mysql://x@127.0.0.1/db' },
      'configuration error: DATABASE_URL must be a postgres:// URL (got "mysql://x@127.0.0.1/db")',
    ],
    [
      'api',
      {},
      'configuration error: DATABASE_URL is required for the api role (only all-in-one starts embedded Postgres)',
    ],
    [
      'ingest',
      { DATABASE_URL: 'postgres://x@127.0.0.1:1/db' },
      'configuration error: KAFKA_BROKERS is required for the ingest role',
    ],
    [
      'relay',
      { DATABASE_URL: 'postgres://x@127.0.0.1:1/db', KAFKA_BROKERS: 'broker' },
      'configuration error: KAFKA_BROKERS must be host:port[,host:port...] (got "broker")',
    ],
    ['all-in-one', { LOG_FORMAT: 'xml' }, 'configuration error: LOG_FORMAT'],
    [
      'all-in-one',
      { SHUTDOWN_TIMEOUT_MS: '5' },
      'configuration error: SHUTDOWN_TIMEOUT_MS must be between 1000 and 600000 (got "5")',
    ],
  ] as const)('%s with %j stops with one line', async (role, env, line) => {
    const app = await run(role, env);
    expect(app.exit).toEqual({ code: 2, signal: null });
    const out = app.log().trimEnd();
    expect(out.split('\n')).toHaveLength(1);
    expect(out.startsWith(line)).toBe(true);
  });
});
