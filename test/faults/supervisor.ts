// Runs the service's roles as separate Node processes (the built apps) and keeps them
// running as an orchestrator would: a process that exits is started again after a short
// delay. The fault injector kills them with SIGKILL; exits it did not cause are counted.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { AppProcess, freePort, Role, ROOT } from '../support/apps';

/**
 * A private copy of the built apps (dist/apps, dist/libs) under .cache/faults, so that a
 * build running meanwhile in the same tree (another test run) cannot hand a restarted process
 * half-written files. Node still finds node_modules from there (it lies under the repo).
 * A copy taken while tsc-alias has not yet rewritten the paths is taken again.
 */
export function snapshotDist(into: string): string {
  const src = path.join(ROOT, 'dist');
  for (let attempt = 0; ; attempt++) {
    rmSync(into, { recursive: true, force: true });
    for (const d of ['apps', 'libs']) cpSync(path.join(src, d), path.join(into, d), { recursive: true });
    if (!unaliased(into)) return into;
    if (attempt > 30) throw new Error(`${src} keeps holding unrewritten @fleetcompat/ imports: is a build running?`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
  }
}

function unaliased(dir: string): boolean {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (unaliased(p)) return true;
    } else if (name.endsWith('.js') && /require\("@fleetcompat\//.test(readFileSync(p, 'utf8'))) return true;
  }
  return false;
}

async function startFrom(dist: string, role: Role, env: Record<string, string>): Promise<AppProcess> {
  const entry = path.join(dist, 'apps', role, 'src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does)`);
  const port = await freePort();
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'log', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new AppProcess(role, port, child);
}

export interface Instance {
  readonly role: Role;
  readonly index: number;
  proc?: AppProcess;
  /** The current process has logged that it listens (kept apart from its output, which is a ring). */
  up: boolean;
  starts: number;
  /** Exits not caused by the injector (crashes), with the tail of their output. */
  crashes: { code: number | null; signal: string | null; at: string; log: string }[];
}

export class Supervisor {
  readonly instances: Instance[] = [];
  private stopping = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly expectedExit = new WeakSet<AppProcess>();

  constructor(
    private readonly dist: string,
    private readonly env: Record<string, string>,
    layout: Partial<Record<Role, number>>,
    private readonly restartDelayMs: () => number,
    /** Every chunk of every process's output, with a name for its pipe (one per start), and the pipe's end. */
    private readonly output?: {
      chunk: (i: Instance, pipe: string, chunk: Buffer) => void;
      closed: (pipe: string) => void;
    },
    /** Settings of one instance on top of `env` (e.g. a projector's shard). */
    private readonly envOf?: (i: Instance) => Record<string, string>,
  ) {
    for (const [role, n] of Object.entries(layout) as [Role, number][])
      for (let i = 0; i < n; i++) this.instances.push({ role, index: i, up: false, starts: 0, crashes: [] });
  }

  name(i: Instance): string {
    return `${i.role}#${i.index + 1}`;
  }

  /** Starts every instance (the first one of the first role alone, so that it runs the migrations). */
  async start(): Promise<void> {
    const [first, ...rest] = this.instances;
    await this.spawn(first);
    await first.proc!.ready(120000);
    await Promise.all(rest.map((i) => this.spawn(i)));
    await Promise.all(rest.map((i) => i.proc!.ready(120000)));
  }

  private async spawn(i: Instance): Promise<void> {
    if (this.stopping) return;
    i.starts++;
    const proc = await startFrom(this.dist, i.role, { ...this.env, ...this.envOf?.(i), INSTANCE: this.name(i) });
    i.proc = proc;
    i.up = false;
    // Look for the line in the whole chunk (with the end of the last one, for a line split
    // between two) before trimming: a busy process's pipe delivers chunks of many KB, and the
    // line followed by more than the kept tail within one chunk was missed (the process then
    // never counted as up, and settle() failed on a slow machine).
    let tail = '';
    const watch = (chunk: Buffer) => {
      if (i.up || i.proc !== proc) return;
      const text = tail + chunk.toString('utf8');
      if (/listening on http/.test(text)) i.up = true;
      tail = text.slice(-64);
    };
    proc.child.stdout?.on('data', watch);
    proc.child.stderr?.on('data', watch);
    const out = this.output;
    if (out) {
      for (const [name, pipe] of [
        ['stdout', proc.child.stdout],
        ['stderr', proc.child.stderr],
      ] as const) {
        const id = `${this.name(i)}/${i.starts}/${name}`;
        pipe?.on('data', (chunk: Buffer) => out.chunk(i, id, chunk));
        pipe?.on('close', () => out.closed(id));
      }
    }
    void proc.waitForExit().then((exit) => {
      if (this.expectedExit.has(proc) || this.stopping) return;
      i.crashes.push({ code: exit.code, signal: exit.signal, at: new Date().toISOString(), log: proc.log() });
      this.later(i);
    });
  }

  private later(i: Instance): void {
    const p = new Promise<void>((resolve) => setTimeout(resolve, this.restartDelayMs())).then(() => this.spawn(i));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** kill -9 of one instance; it is started again after the restart delay. Returns false if it was not running. */
  async kill(i: Instance): Promise<boolean> {
    const proc = i.proc;
    if (!proc || proc.exit) return false;
    this.expectedExit.add(proc);
    await proc.stop('SIGKILL');
    this.later(i);
    return true;
  }

  /**
   * Instances that may be killed now: running and started up (listening). A process still
   * starting is left alone, so that on a slow machine restarts do not eat all the time.
   */
  killable(): Instance[] {
    return this.instances.filter((i) => i.up && i.proc && !i.proc.exit);
  }

  /** Processes alive right now, by role. */
  alive(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const i of this.instances) if (i.proc && !i.proc.exit) out[i.role] = (out[i.role] ?? 0) + 1;
    return out;
  }

  /** Waits until every instance runs (restarts pending done) and is ready. */
  async settle(timeoutMs = 300000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.pending.size) {
      await Promise.race([...this.pending, new Promise((r) => setTimeout(r, 1000))]);
      if (Date.now() > until) throw new Error('restarts still pending');
    }
    while (!this.instances.every((i) => i.up && i.proc && !i.proc.exit)) {
      if (Date.now() > until) {
        // Each one's own words: the last lines it wrote (a start that hangs says in which step).
        const down = this.instances.filter((i) => !(i.up && i.proc && !i.proc.exit));
        const tails = down.map(
          (i) =>
            `--- ${this.name(i)} (start ${i.starts}, pid ${i.proc?.child.pid ?? '-'}):\n${(i.proc?.log() ?? '').split('\n').slice(-30).join('\n')}`,
        );
        throw new Error(`not every process is up: ${down.map((i) => this.name(i)).join(', ')}\n${tails.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL to every process at once, synchronously, restarting nothing (the test process is exiting). */
  killNow(): void {
    this.stopping = true;
    for (const i of this.instances) if (i.proc && !i.proc.exit) i.proc.child.kill('SIGKILL');
  }

  /** Stops everything (SIGTERM; SIGKILL after 20 s) and restarts nothing any more. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.pending]).catch(() => undefined);
    await Promise.all(
      this.instances.map((i) =>
        i.proc && !i.proc.exit ? (this.expectedExit.add(i.proc), i.proc.stop('SIGTERM')) : Promise.resolve(),
      ),
    );
  }
}
