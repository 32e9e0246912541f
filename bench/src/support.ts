// Support of the benchmark harness: databases, Kafka, spawned apps, statistics.
// Self-contained (no import from test/): the harness is compiled into dist/ with the apps.
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';

/** The repository root (the harness runs from dist/bench/src). */
export const ROOT = [path.resolve(__dirname, '../..'), path.resolve(__dirname, '../../..')].find((d) => existsSync(path.join(d, 'package.json')))!;

export const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function brokers(): string[] {
  return (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter(Boolean);
}

export function uniqueName(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Databases: each measurement gets its own, all dropped at the end.

const created: string[] = [];

async function admin<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

export async function createDatabase(prefix: string): Promise<string> {
  const name = `fc_bench_${prefix}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  const i = created.indexOf(name);
  if (i >= 0) created.splice(i, 1);
}

export async function dropAllDatabases(): Promise<void> {
  for (const name of [...created]) {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch((e) => log(`could not drop ${name}: ${e.message}`));
  }
  created.length = 0;
}

export async function pgClient(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

// ---------------------------------------------------------------------------------------------
// Kafka

export function kafka(clientId = 'fleetcompat-bench'): Kafka {
  return new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.NOTHING, connectionTimeout: 5000, retry: { retries: 8, initialRetryTime: 200 } });
}

// ---------------------------------------------------------------------------------------------
// Spawned apps (as test/support/apps.ts), with their peak RSS read from /proc.

export type Role = 'all-in-one' | 'api' | 'ingest' | 'projector' | 'relay';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export class App {
  private readonly out: string[] = [];
  private exitInfo: { code: number | null; signal: string | null } | null = null;
  private readonly exited: Promise<void>;

  constructor(
    readonly role: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    const keep = (b: Buffer) => {
      this.out.push(b.toString('utf8'));
      if (this.out.length > 400) this.out.splice(0, 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => ((this.exitInfo = { code, signal }), resolve())));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  logText(): string {
    return this.out.join('');
  }

  async ready(pattern = /listening on http/, timeoutMs = 90000): Promise<this> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.logText())) {
      if (this.exitInfo) throw new Error(`${this.role} exited (${JSON.stringify(this.exitInfo)}) before it was ready:\n${this.logText().slice(-3000)}`);
      if (Date.now() > until) throw new Error(`${this.role} not ready after ${timeoutMs} ms:\n${this.logText().slice(-3000)}`);
      await sleep(100);
    }
    return this;
  }

  /** Peak resident set size (VmHWM) in MiB, or null once the process is gone. */
  peakRssMiB(): number | null {
    return peakRssMiB(this.child.pid);
  }

  async stop(): Promise<void> {
    if (this.exitInfo) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 20000);
    await this.exited;
    clearTimeout(t);
  }
}

export function peakRssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

const running = new Set<App>();

export async function startApp(role: Role, env: Record<string, string>): Promise<App> {
  const entry = path.join(ROOT, 'dist/apps', role, 'src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm run bench does)`);
  const port = await freePort();
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'log', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const app = new App(role, port, child);
  running.add(app);
  child.once('exit', () => running.delete(app));
  return app;
}

/** A bare node:http server in its own process answering every request with `body` (the query baseline). */
export async function startBareServer(body: string): Promise<App> {
  const port = await freePort();
  const code = `const b=Buffer.from(process.env.BODY);require('http').createServer((q,r)=>{r.writeHead(200,{'content-type':'application/json','content-length':b.length});r.end(b)}).listen(${port},'127.0.0.1',()=>console.log('listening on http'))`;
  const child = spawn(process.execPath, ['-e', code], { env: { ...process.env, BODY: body }, stdio: ['ignore', 'pipe', 'pipe'] });
  const app = new App('bare-http', port, child);
  running.add(app);
  child.once('exit', () => running.delete(app));
  return app.ready();
}

export async function stopAllApps(): Promise<void> {
  await Promise.all([...running].map((a) => a.stop()));
}

// ---------------------------------------------------------------------------------------------
// Statistics

export interface Stat {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, in percent */
  spreadPct: number;
  runs: number[];
}

export function stat(values: number[]): Stat {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, spreadPct: NaN, runs: values };
  const s = [...v].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { median: r(median), min: r(s[0]), max: r(s[s.length - 1]), spreadPct: median ? Math.round(((s[s.length - 1] - s[0]) / median) * 1000) / 10 : 0, runs: values.map(r) };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
