// Spawns the built apps (dist/apps/<role>/src/main.js) as real Node processes for e2e tests.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export type Role = 'all-in-one' | 'api' | 'ingest' | 'projector' | 'relay';

export function appEntry(role: Role): string {
  const entry = path.join(ROOT, 'dist/apps', role, 'src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does)`);
  return entry;
}

/** A free TCP port on 127.0.0.1. */
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

export class AppProcess {
  readonly output: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;

  constructor(
    readonly role: Role,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString('utf8'));
      if (this.output.length > 2000) this.output.splice(0, 1000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      }),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get exit() {
    return this.exitInfo;
  }

  log(): string {
    return this.output.join('');
  }

  /** Waits until the process logs that it listens (or fails if it exits first). */
  async ready(timeoutMs = 60000): Promise<this> {
    const until = Date.now() + timeoutMs;
    while (!/listening on http/.test(this.log())) {
      if (this.exitInfo) throw new Error(`${this.role} exited (${JSON.stringify(this.exitInfo)}) before it was ready:\n${this.log()}`);
      if (Date.now() > until) throw new Error(`${this.role} not ready after ${timeoutMs} ms:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this;
  }

  /** SIGTERM (graceful) or SIGKILL, then waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20000): Promise<void> {
    if (this.exitInfo) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  async waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.exited;
    return this.exitInfo!;
  }
}

/** Starts a built app with `env` added to this process's environment (PORT chosen here). */
export async function startApp(role: Role, env: Record<string, string | undefined>, args: string[] = []): Promise<AppProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [appEntry(role), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'log', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new AppProcess(role, port, child);
}

/** An admin token for FLEETCOMPAT_BOOTSTRAP_TOKEN in tests that start apps. */
export const TEST_ADMIN_TOKEN = 'e2e-admin-token-0123456789';

/** GET/POST JSON against an app; `token` is sent as `Authorization: Bearer <token>`. */
export async function http(
  url: string,
  init?: { method?: string; body?: unknown; token?: string },
): Promise<{ status: number; body: any; type: string | null; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (init?.body !== undefined) headers['content-type'] = 'application/json';
  if (init?.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, {
    method: init?.method ?? 'GET',
    headers,
    body: init?.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, type: res.headers.get('content-type'), headers: res.headers };
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
