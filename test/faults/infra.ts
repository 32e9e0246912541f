// The fault suite's own infrastructure: a Kafka broker and an embedded Postgres that belong
// to this run alone (own ports, own data folders), so the suite may restart them. The shared
// broker (127.0.0.1:9092) and the machine's Postgres (127.0.0.1:5432) are never touched.
import { execFile } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedPostgres, startEmbeddedPostgres } from '@fleetcompat/platform';
import { ROOT } from '../support/apps';

/** True when nothing listens on 127.0.0.1:port. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port p with p and p + offset free (the broker's controller listens on KAFKA_PORT + 1000). */
export async function freePortPair(offset: number, from = 19300, to = 29000): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = from + Math.floor(Math.random() * (to - from));
    if ((await portFree(p)) && (await portFree(p + offset))) return p;
  }
  throw new Error('no free port pair found');
}

function sh(script: string, env: Record<string, string>, timeoutMs = 180000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [path.join(ROOT, 'scripts/kafka', script)],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`scripts/kafka/${script} failed: ${err.message}\n${stderr}`))
          : resolve(`${stdout}${stderr}`),
    );
  });
}

/** A single-node KRaft broker from scripts/kafka/start.sh on a port of its own. */
export class OwnBroker {
  private constructor(readonly port: number) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  private get env() {
    // 3 partitions per auto-created topic, a small heap: this broker runs beside the shared one.
    return {
      KAFKA_PORT: String(this.port),
      KAFKA_NUM_PARTITIONS: '3',
      KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m',
      KAFKA_STOP_TIMEOUT: '30',
    };
  }

  private get dataDir() {
    return path.join(ROOT, '.cache/kafka', `data-${this.port}`);
  }

  static async start(): Promise<OwnBroker> {
    const broker = new OwnBroker(await freePortPair(1000));
    await fs.rm(broker.dataDir, { recursive: true, force: true });
    await sh('start.sh', broker.env);
    return broker;
  }

  /** scripts/kafka/restart.sh: controlled shutdown, `downSeconds` away, start again (data kept). */
  async restart(downSeconds: number): Promise<void> {
    await sh('restart.sh', { ...this.env, KAFKA_DOWN_SECONDS: String(downSeconds) });
  }

  /** Stops the broker and removes its data folder, config and pid file (the log is kept on request). */
  async destroy(keepLog = false): Promise<void> {
    await sh('stop.sh', this.env).catch(() => undefined);
    const cache = path.join(ROOT, '.cache/kafka');
    await fs.rm(this.dataDir, { recursive: true, force: true });
    await fs.rm(path.join(cache, `server-${this.port}.properties`), { force: true });
    if (!keepLog) await fs.rm(path.join(cache, `broker-${this.port}.log`), { force: true });
  }

  logFile(): string {
    return path.join(ROOT, '.cache/kafka', `broker-${this.port}.log`);
  }

  /** At once and synchronously (the test process is exiting): SIGKILL to the broker, its data removed. */
  killNow(): void {
    const cache = path.join(ROOT, '.cache/kafka');
    try {
      const pid = Number(readFileSync(path.join(cache, `broker-${this.port}.pid`), 'utf8').trim());
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      /* no pid file: not running */
    }
    for (const f of [
      this.dataDir,
      path.join(cache, `server-${this.port}.properties`),
      path.join(cache, `broker-${this.port}.pid`),
    ])
      rmSync(f, { recursive: true, force: true });
  }
}

/** An embedded Postgres in a temporary folder, on a port of its own; it can be crashed and started again. */
export class OwnPostgres {
  private pg?: EmbeddedPostgres;

  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/fleetcompat`;
  }

  static async start(): Promise<OwnPostgres> {
    // /tmp: as root the server runs as the user "postgres", which must reach the folder.
    const dataDir = path.join(os.tmpdir(), `fleetcompat-faults-pg-${process.pid}-${Date.now().toString(36)}`);
    const own = new OwnPostgres(dataDir, await freePortPair(0, 25000, 32000));
    await own.up();
    return own;
  }

  private async up(): Promise<void> {
    // fsync off (a crash of the server process, not of the machine: the OS keeps what was
    // written) but synchronous_commit ON, as in production: with it off a commit is
    // acknowledged before its WAL leaves Postgres' memory, and the crash below loses events
    // the ingest was told were stored (and committed offsets for): the suite found exactly that.
    this.pg = await startEmbeddedPostgres({
      dataDir: this.dataDir,
      port: this.port,
      database: 'fleetcompat',
      postgresFlags: [
        '-c',
        'max_connections=300',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        `synchronous_commit=${process.env.FAULTS_PG_SYNCHRONOUS_COMMIT ?? 'on'}`,
      ],
    });
  }

  private postmasterPid(): number | undefined {
    const file = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  }

  /**
   * A crash: immediate shutdown (SIGQUIT to the postmaster: every session is cut, nothing is
   * checkpointed, the next start replays the WAL), `downMs` away, then start again.
   */
  async crashRestart(downMs: number): Promise<void> {
    const pid = this.postmasterPid();
    if (!pid) throw new Error('embedded Postgres is not running');
    process.kill(pid, 'SIGQUIT');
    const until = Date.now() + 30000;
    while (alive(pid)) {
      if (Date.now() > until) throw new Error(`postmaster ${pid} did not exit after SIGQUIT`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, downMs));
    await this.up();
  }

  /** At once and synchronously (the test process is exiting): immediate shutdown of the postmaster, its folder removed. */
  killNow(): void {
    const pid = this.postmasterPid();
    if (pid && alive(pid)) process.kill(pid, 'SIGQUIT');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    await this.pg?.stop().catch(() => undefined);
    const pid = this.postmasterPid();
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await fs.rm(this.dataDir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
