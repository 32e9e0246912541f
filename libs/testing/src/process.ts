import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { freePort } from './ports';
import { ROOT } from './root';
import { sleep } from './wait';

/** The roles of the built service (apps/<role>). */
export type Role = 'all-in-one' | 'api' | 'ingest' | 'projector' | 'relay';

/** The built entry of an app (dist/apps/<role>/src/main.js); throws when it is not built. */
export function appEntry(role: Role): string {
  const entry = path.join(ROOT, 'dist/apps', role, 'src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return entry;
}

/** A spawned process with its output kept (the last `keepChunks` chunks of stdout and stderr). */
export class AppProcess<R extends string = Role> {
  readonly output: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;

  constructor(
    readonly role: R,
    readonly port: number,
    readonly child: ChildProcess,
    keepChunks = 2000,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString('utf8'));
      if (this.output.length > keepChunks) this.output.splice(0, keepChunks / 2);
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

  get exit(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exitInfo;
  }

  log(): string {
    return this.output.join('');
  }

  /** Waits until the output matches `pattern` (the service logs that it listens), or fails if it exits first. */
  async ready(timeoutMs = 60000, pattern: RegExp = /listening on http/): Promise<this> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.log())) {
      if (this.exitInfo)
        throw new Error(`${this.role} exited (${JSON.stringify(this.exitInfo)}) before it was ready:\n${this.log()}`);
      if (Date.now() > until) throw new Error(`${this.role} not ready after ${timeoutMs} ms:\n${this.log()}`);
      await sleep(100);
    }
    return this;
  }

  /** SIGTERM (graceful) or SIGKILL, then waits for the exit (SIGKILL after timeoutMs). */
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

export interface SpawnAppOptions {
  /** Arguments after the entry. */
  readonly args?: readonly string[];
  /** Node's own arguments, before the entry (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

/**
 * Spawns a built app with `env` added to this process's environment, LOG_LEVEL=log unless
 * given, and PORT (a free one unless given); its stdout and stderr are piped.
 */
export async function spawnApp(
  role: Role,
  env: Record<string, string | undefined>,
  options: SpawnAppOptions = {},
): Promise<{ port: number; child: ChildProcess }> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), appEntry(role), ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'log', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { port, child };
}

/** Starts a built app (see spawnApp), `args` after its entry. */
export async function startApp(
  role: Role,
  env: Record<string, string | undefined>,
  args: readonly string[] = [],
): Promise<AppProcess> {
  const { port, child } = await spawnApp(role, env, { args });
  return new AppProcess(role, port, child);
}
