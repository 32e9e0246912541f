// Support of the benchmark harness: databases, Kafka, spawned apps, statistics. The process,
// port, name and database helpers are libs/testing's (shared with test/support), which the
// build compiles with the harness into dist/.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import {
  AppProcess,
  brokers,
  createTestDatabase,
  freePort,
  ROOT,
  Role,
  sleep,
  spawnApp,
  TestDatabase,
  uniqueName,
} from '@fleetcompat/testing';

export { brokers, ROOT, sleep, uniqueName, type Role };

export const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ??
  process.env.TEST_DATABASE_ADMIN_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Databases: each measurement gets its own, all dropped at the end.

const created = new Map<string, TestDatabase>();

/** A new database `fc_bench_<prefix>_<random>` on ADMIN_URL's server; dropped by dropAllDatabases at the latest. */
export async function createDatabase(prefix: string): Promise<string> {
  const db = await createTestDatabase(`bench_${prefix}`, ADMIN_URL);
  created.set(db.url, db);
  return db.url;
}

export async function dropDatabase(url: string): Promise<void> {
  await created.get(url)?.drop();
  created.delete(url);
}

export async function dropAllDatabases(): Promise<void> {
  for (const db of [...created.values()]) {
    await db.drop().catch((e: Error) => log(`could not drop ${db.name}: ${e.message}`));
  }
  created.clear();
}

export async function pgClient(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

// ---------------------------------------------------------------------------------------------
// Kafka

export function kafka(clientId = 'fleetcompat-bench'): Kafka {
  return new Kafka({
    clientId,
    brokers: brokers(),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

// ---------------------------------------------------------------------------------------------
// Spawned apps (as test/support/apps.ts), with their peak RSS read from /proc.

/** A spawned app (libs/testing AppProcess) with its peak RSS read from /proc. */
export class App extends AppProcess<string> {
  /** What the reports call it: its role, or e.g. "projector 0/2" for a projector shard. */
  label?: string;

  get name(): string {
    return this.label ?? this.role;
  }

  override ready(timeoutMs = 90000, pattern?: RegExp): Promise<this> {
    return super.ready(timeoutMs, pattern);
  }

  /** Peak resident set size (VmHWM) in MiB, or null once the process is gone. */
  peakRssMiB(): number | null {
    return peakRssMiB(this.child.pid);
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
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [];
  const { port, child } = await spawnApp(role, { ...env, HOST: '127.0.0.1' }, { nodeArgs });
  const app = new App(role, port, child, 400);
  running.add(app);
  child.once('exit', () => running.delete(app));
  return app;
}

/**
 * A bare node:http server in its own process answering every request with `body` as it is
 * (bytes already in the coding `contentEncoding` names, if any): the baseline of the query point.
 */
export async function startBareServer(body: Buffer, contentEncoding?: string): Promise<App> {
  const port = await freePort();
  const code = `const b=Buffer.from(process.env.BODY,'base64');const h={'content-type':'application/json','content-length':b.length};if(process.env.CODING)h['content-encoding']=process.env.CODING;require('http').createServer((q,r)=>{r.writeHead(200,h);r.end(b)}).listen(${port},'127.0.0.1',()=>console.log('listening on http'))`;
  const child = spawn(process.execPath, ['-e', code], {
    env: { ...process.env, BODY: body.toString('base64'), CODING: contentEncoding ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  return {
    median: r(median),
    min: r(s[0]),
    max: r(s[s.length - 1]),
    spreadPct: median ? Math.round(((s[s.length - 1] - s[0]) / median) * 1000) / 10 : 0,
    runs: values.map(r),
  };
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
