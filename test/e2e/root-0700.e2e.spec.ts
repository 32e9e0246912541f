// The embedded default from a checkout in a folder only root may enter (mode 0700, as /root is
// on Debian), run as root the way the README says: `npm start -- --sample-fleet`. Postgres
// refuses to run as root, so the server runs as the system user `postgres`, which cannot
// reach anything under that folder: the binaries must be copied and the data kept where it
// can reach them, without the user changing a permission, and the data must outlive a restart.
//
// The checkout is this tree's scripts, package files, node_modules and built dist (hard links
// where the file system allows, else copies) in a new 0700 temporary folder; the runtime folder
// (EMBEDDED_PG_RUNTIME_DIR, /var/lib/fleetcompat by default) is a new temporary one too, so
// the copy of the binaries happens in every run. Needs root: CI runs as root; a run as another
// user says why it cannot run this test (and fails in CI).
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { eventually, freePort, http, ROOT } from '../support/apps';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** `npm start -- <args>` in `cwd`, in a process group of its own (stopped like Ctrl-C in a terminal: SIGINT to the group). */
class NpmStart {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private done?: { code: number | null; signal: string | null };

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    const keep = (c: Buffer) => this.output.push(c.toString('utf8'));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve((this.done = { code, signal }))),
    );
  }

  static start(cwd: string, env: Record<string, string>, args: string[], port: number): NpmStart {
    const child = spawn('npm', ['start', '--', ...args], {
      cwd,
      env: { ...process.env, ...env, PORT: String(port), LOG_FORMAT: 'json', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new NpmStart(child, port);
  }

  log(): string {
    return this.output.join('');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listening(timeoutMs = 180000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!/listening on http/.test(this.log())) {
      if (this.done)
        throw new Error(
          `npm start exited ${JSON.stringify(this.done)} before it listened:\n${this.log().slice(-6000)}`,
        );
      if (Date.now() > until)
        throw new Error(`npm start did not listen within ${timeoutMs} ms:\n${this.log().slice(-6000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGINT to the whole group (npm, the app and its Postgres), as Ctrl-C does; SIGKILL after 30 s. */
  async interrupt(): Promise<{ code: number | null; signal: string | null }> {
    if (!this.done) {
      try {
        process.kill(-this.child.pid!, 'SIGINT');
      } catch {
        /* gone */
      }
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 30000);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

function linkOrCopy(from: string, to: string): void {
  try {
    execFileSync('cp', ['-al', from, to], { stdio: 'pipe' });
  } catch {
    rmSync(to, { recursive: true, force: true });
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

function postmasterRunning(dataDir: string): boolean {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  try {
    process.kill(Number(execFileSync('head', ['-1', pidFile], { encoding: 'utf8' }).trim()), 0);
    return true;
  } catch {
    return false;
  }
}

const describeAsRoot = isRoot ? describe : describe.skip;

describeAsRoot('npm start -- --sample-fleet from a checkout in a 0700 folder, as root', () => {
  let home: string;
  let checkout: string;
  let runtimeDir: string;
  let app: NpmStart | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    const dist = path.join(ROOT, 'dist/apps/all-in-one/src/main.js');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first (npm test does)`);
    home = mkdtempSync(path.join(tmpdir(), 'fc-0700-home-')); // mkdtemp: 0700, owned by root
    runtimeDir = mkdtempSync(path.join(tmpdir(), 'fc-0700-runtime-')); // 0700 too: the service must open it up itself
    checkout = path.join(home, 'fleetcompat');
    mkdirSync(checkout);
    for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(ROOT, f), path.join(checkout, f));
    cpSync(path.join(ROOT, 'scripts'), path.join(checkout, 'scripts'), { recursive: true });
    linkOrCopy(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
    linkOrCopy(path.join(ROOT, 'dist'), path.join(checkout, 'dist'));
    env = {
      DATABASE_URL: '',
      KAFKA_BROKERS: '',
      FLEETCOMPAT_BOOTSTRAP_TOKEN: '',
      EMBEDDED_PG_DATA_DIR: '',
      EMBEDDED_PG_PORT: String(await freePort()),
      EMBEDDED_PG_RUNTIME_DIR: runtimeDir,
      SKIP_BUILD: '1', // dist is this tree's build (npm test builds first)
    };
  });

  afterAll(async () => {
    await app?.interrupt();
    if (process.env.E2E_LOGS && app) console.error(app.log().slice(-8000));
    // Nothing may be left running on the data folder, wherever it went.
    const data = path.join(checkout ?? '', '.data/postgres');
    let target: string | undefined;
    try {
      if (lstatSync(data).isSymbolicLink()) target = readlinkSync(data);
    } catch {
      /* never made */
    }
    if (target && postmasterRunning(target))
      execFileSync('sh', ['-c', `kill -INT "$(head -1 '${target}/postmaster.pid')"`]);
    if (home) rmSync(home, { recursive: true, force: true });
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
  });

  it('starts with no permission changed, serves the sample fleet, and keeps the data across a restart', async () => {
    expect(statSync(home).mode & 0o777).toBe(0o700);
    app = NpmStart.start(checkout, env, ['--sample-fleet'], await freePort());
    await app.listening();
    const first = app;
    const token = /admin token for this run: (fct_[A-Za-z0-9_-]+)/.exec(first.log())?.[1];
    expect(token).toBeDefined();
    const summary = await eventually(
      'the sample fleet projected',
      async () => {
        const r = await http(`${first.url}/v1/summary`, { token });
        return r.status === 200 && r.body.guests === 36 ? r.body : undefined;
      },
      60000,
    );
    expect(summary.guests).toBe(36);

    // Where things went: the binaries copied to the runtime folder, the data there too, and
    // .data/postgres in the checkout a symlink to it; the 0700 folder was not opened up.
    const log = first.log();
    expect(log).toContain(`the server binaries were copied to ${path.join(runtimeDir, 'postgres-')}`);
    const link = path.join(checkout, '.data/postgres');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const dataDir = readlinkSync(link);
    expect(dataDir.startsWith(path.join(runtimeDir, 'data') + path.sep)).toBe(true);
    expect(log).toContain(`its data is kept in ${dataDir}`);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(checkout).uid).toBe(0);
    const postgresUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    expect(statSync(dataDir).uid).toBe(postgresUid);
    expect(postmasterRunning(dataDir)).toBe(true);

    // Ctrl-C: the app and its Postgres stop, the app exits 0 (npm itself dies of the signal).
    await first.interrupt();
    expect(first.log()).toMatch(/embedded Postgres stopped/);
    expect(first.log()).toMatch(/shut down in \d+ ms: exiting 0/);
    expect(postmasterRunning(dataDir)).toBe(false);

    // Again, without the sample: the same data folder, the fleet still there.
    app = NpmStart.start(checkout, env, [], await freePort());
    await app.listening();
    const second = app;
    const token2 = /admin token for this run: (fct_[A-Za-z0-9_-]+)/.exec(second.log())?.[1];
    const again = await http(`${second.url}/v1/summary`, { token: token2 });
    expect(again.status).toBe(200);
    expect(again.body.guests).toBe(36);
    expect(second.log()).not.toContain('were copied'); // copied once per package version
    expect(readlinkSync(link)).toBe(dataDir);
    await second.interrupt();
    expect(second.log()).toMatch(/shut down in \d+ ms: exiting 0/);
  });
});

if (!isRoot) {
  describe('npm start from a checkout in a 0700 folder, as root', () => {
    it('cannot run here: this test needs root (the embedded Postgres then runs as "postgres"); CI runs as root', () => {
      const why = `not root (uid ${process.getuid?.()}): the 0700-folder test of the embedded default needs root`;
      if (process.env.CI) throw new Error(`${why}, and CI must run it`);
      console.warn(`root-0700.e2e: ${why}; not run`);
    });
  });
}
