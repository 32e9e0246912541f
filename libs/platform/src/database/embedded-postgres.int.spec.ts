// Starts the embedded Postgres (the npm package's own binaries) in a temp folder on a free
// port, as the machine's user (root here: it then runs as `postgres`), runs SQL, stops it, and
// starts it again on the same folder to prove the data is kept and not re-initialised.
import { lstat, mkdtemp, readlink, rm, chmod, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from '@fleetcompat/testing';
import { startEmbeddedPostgres } from './embedded-postgres';

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

  it('knows when its server died: stop() then resolves at once, and a new start takes the folder over', async () => {
    const dataDir = path.join(dir, 'crash');
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port, fast: true });
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL'); // a crash: no shutdown at all
    for (let i = 0; i < 100 && !first.exited; i++) await new Promise((r) => setTimeout(r, 50));
    expect(first.exited).toBe(true);
    const t = Date.now();
    await first.stop();
    expect(Date.now() - t).toBeLessThan(1000);
    const second = await startEmbeddedPostgres({ dataDir, port, fast: true });
    try {
      expect(await query<{ one: number }>(second.url, 'select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await second.stop();
    }
    expect(second.exited).toBe(true);
  });

  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  (asRoot ? it : it.skip)(
    'as root, in a folder the postgres user cannot enter (0700): the data goes where it can, and stays',
    async () => {
      const home = await mkdtemp(path.join(tmpdir(), 'fleetcompat-0700-')); // mkdtemp: mode 0700, owner root
      const runtimeDir = await mkdtemp(path.join(tmpdir(), 'fleetcompat-runtime-'));
      try {
        expect((await stat(home)).mode & 0o777).toBe(0o700);
        const requested = path.join(home, 'checkout', '.data', 'postgres');
        const port = await freePort();
        const notices: string[] = [];
        const first = await startEmbeddedPostgres({
          dataDir: requested,
          port,
          runtimeDir,
          fast: true,
          onNotice: (m) => notices.push(m),
        });
        try {
          expect(first.dataDir.startsWith(path.join(runtimeDir, 'data') + path.sep)).toBe(true);
          expect((await lstat(requested)).isSymbolicLink()).toBe(true);
          expect(await readlink(requested)).toBe(first.dataDir);
          expect(notices.join('\n')).toContain(`its data is kept in ${first.dataDir}`);
          await query(first.url, 'create table kept (v text); insert into kept values ($$across restarts$$)');
        } finally {
          await first.stop();
        }
        const second = await startEmbeddedPostgres({ dataDir: requested, port, runtimeDir, fast: true });
        try {
          expect(second.dataDir).toBe(first.dataDir);
          expect(await query<{ v: string }>(second.url, 'select v from kept')).toEqual([{ v: 'across restarts' }]);
        } finally {
          await second.stop();
        }
        expect(existsSync(path.join(first.dataDir, 'PG_VERSION'))).toBe(true);
        expect((await stat(home)).mode & 0o777).toBe(0o700); // nothing was opened up
      } finally {
        await rm(home, { recursive: true, force: true });
        await rm(runtimeDir, { recursive: true, force: true });
      }
    },
  );
  if (!asRoot) {
    it('as root only: the 0700-folder case (this run is not root; CI runs as root)', () => {
      if (process.env.CI) throw new Error('CI must run as root for the 0700-folder test of the embedded Postgres');
    });
  }
});
