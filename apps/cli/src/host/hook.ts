import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The environment variable every hook process (and its children) carries: the agent's state folder. */
export const HOOK_MARKER = 'FLEETCOMPAT_HOST_AGENT_HOOK';

export interface HookResult {
  readonly ok: boolean;
  /** One line: why it failed (exit code, signal, timeout, and the end of its stderr). */
  readonly error: string | null;
  readonly durationMs: number;
}

const tail = (s: string, n = 400) => {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > n ? `…${t.slice(-n)}` : t;
};

/**
 * Runs the operator's hook: `/bin/sh -c <command>`, the message as JSON on stdin (one line),
 * `env` added to the agent's environment. In a process group of its own, so that a timeout
 * (SIGTERM, then SIGKILL 5 s later) ends everything it started. Resolves, never rejects.
 */
export function runHook(
  command: string,
  input: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<HookResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
      detached: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        /* gone */
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), 5000);
    }, timeoutMs);
    const finish = (r: HookResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve(r);
    };
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (stderr.length > 8192) stderr = stderr.slice(-4096);
    });
    child.stdin.on('error', () => undefined); // a hook that does not read its stdin
    child.once('error', (e) =>
      finish({ ok: false, error: `could not start /bin/sh: ${e.message}`, durationMs: Date.now() - started }),
    );
    child.once('close', (code, signal) => {
      const durationMs = Date.now() - started;
      if (timedOut)
        return finish({
          ok: false,
          error: `timed out after ${Math.round(timeoutMs / 1000)} s${stderr ? `: ${tail(stderr)}` : ''}`,
          durationMs,
        });
      if (code === 0) return finish({ ok: true, error: null, durationMs });
      finish({
        ok: false,
        error: `${signal ? `killed by ${signal}` : `exit ${code}`}${stderr ? `: ${tail(stderr)}` : ''}`,
        durationMs,
      });
    });
    child.stdin.end(input + '\n');
  });
}

/**
 * Hooks left running by an earlier agent of the same state folder that was killed (kill -9
 * leaves its children behind): every process whose environment carries HOOK_MARKER=<dir>.
 * Linux only (/proc); elsewhere it finds none. Under systemd the unit's cgroup is killed with
 * the agent anyway (KillMode=control-group).
 */
export function leftoverHooks(stateDir: string): number[] {
  const marker = `${HOOK_MARKER}=${stateDir}`;
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${e}/environ`, 'latin1');
      if (env.split('\0').includes(marker)) found.push(Number(e));
    } catch {
      /* gone, or not ours */
    }
  }
  return found;
}

/** Kills the hooks an earlier agent left running and waits until they are gone (at most `timeoutMs`). */
export async function killLeftoverHooks(stateDir: string, timeoutMs = 10000): Promise<number[]> {
  const pids = leftoverHooks(stateDir);
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* not a group leader, or gone */
      }
    }
  }
  const until = Date.now() + timeoutMs;
  while (leftoverHooks(stateDir).length && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return pids;
}
