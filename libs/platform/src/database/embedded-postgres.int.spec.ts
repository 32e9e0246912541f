// Starts the embedded Postgres (the npm package's own binaries) in a temp folder on a free
// port, as the machine's user (root here: it then runs as `postgres`), runs SQL, stops it, and
// starts it again on the same folder to prove the data is kept and not re-initialised.
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fleetcompat-embedded-pg-'));
    await chmod(dir, 0o755); // the `postgres` user must reach it when we are root
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('initialises, serves SQL, stops, and restarts on the same data', async () => {
    const dataDir = path.join(dir, 'data');
    const port = await freePort();

    const first = await startEmbeddedPostgres({ dataDir, port, database: 'fleetcompat_it', fast: true });
    try {
      expect(first.url).toBe(`postgres://postgres:postgres@127.0.0.1:${port}/fleetcompat_it`);
      expect(await query<{ one: number }>(first.url, 'select 1 as one')).toEqual([{ one: 1 }]);
      await query(first.url, 'create table kept (v text); insert into kept values ($$still here$$)');
    } finally {
      await first.stop();
      await first.stop(); // idempotent
    }
    await expect(query(first.url, 'select 1')).rejects.toThrow();

    const second = await startEmbeddedPostgres({ dataDir, port, database: 'fleetcompat_it', fast: true });
    try {
      expect(await query<{ v: string }>(second.url, 'select v from kept')).toEqual([{ v: 'still here' }]);
    } finally {
      await second.stop();
    }
  });
});
