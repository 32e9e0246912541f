import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';

export const LOCK_FILE = 'agent.lock';

/** The pid in a state folder's lock file, when that process still runs (and looks like an agent). */
export function runningAgentPid(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('agent')) return null; // the pid was reused by another program
  } catch {
    /* no /proc: trust the pid */
  }
  return pid;
}

/**
 * One agent per state folder: `agent.lock` holds the pid of the agent that uses it. A lock
 * left by an agent that is gone (killed) is taken over. Returns the release.
 */
export function acquireLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          /* gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const other = runningAgentPid(dir);
      if (other !== null && other !== process.pid)
        throw new Error(`another host agent (pid ${other}) uses the state folder ${dir}`);
      try {
        unlinkSync(file);
      } catch {
        /* someone else took it over: the next attempt says who */
      }
    }
  }
  throw new Error(`could not lock the state folder ${dir}`);
}
