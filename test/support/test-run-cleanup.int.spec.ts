// What scripts/test.sh does at its exit, pass or fail: every Kafka broker (scripts/kafka/start.sh)
// and embedded Postgres (libs/platform) started while FLEETCOMPAT_TEST_RUN_DIR was set, and
// still running, is stopped (a red run once left two test brokers up). A record whose process
// is no longer that broker or that postmaster (a reused pid) is left alone.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedPostgres, startEmbeddedPostgres } from '@fleetcompat/platform';
import { freePort, ROOT } from './apps';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port p with p and p + 1000 free (the broker's controller listens on KAFKA_PORT + 1000). */
async function freeBrokerPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 29100 + Math.floor(Math.random() * 1900);
    if ((await portFree(p)) && (await portFree(p + 1000))) return p;
  }
  throw new Error('no free port pair');
}

function bash(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      ['-c', script],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 180000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(`${stdout}${stderr}`)),
    ),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the end of a test run stops what its tests left running', () => {
  let runDir: string;
  let pgDir: string;
  let port: number;
  let pg: EmbeddedPostgres | undefined;
  const decoy = spawn('sleep', ['300'], { stdio: 'ignore' });

  beforeAll(() => {
    runDir = mkdtempSync(path.join(tmpdir(), 'fc-test-run-'));
    pgDir = mkdtempSync(path.join(tmpdir(), 'fc-test-run-pg-'));
  });
  afterAll(async () => {
    decoy.kill('SIGKILL');
    await pg?.stop();
    if (port) await bash('bash scripts/kafka/stop.sh', { KAFKA_PORT: String(port) }).catch(() => undefined);
    if (port) rmSync(path.join(ROOT, '.cache/kafka', `data-${port}`), { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  });

  it('stops a broker and a Postgres recorded in FLEETCOMPAT_TEST_RUN_DIR, and nothing else', async () => {
    port = await freeBrokerPort();
    await bash('bash scripts/kafka/start.sh', {
      KAFKA_PORT: String(port),
      KAFKA_HEAP_OPTS: '-Xms64m -Xmx256m',
      FLEETCOMPAT_TEST_RUN_DIR: runDir,
    });
    const saved = process.env.FLEETCOMPAT_TEST_RUN_DIR;
    process.env.FLEETCOMPAT_TEST_RUN_DIR = runDir;
    try {
      pg = await startEmbeddedPostgres({ dataDir: pgDir, port: await freePort(), fast: true });
    } finally {
      if (saved === undefined) delete process.env.FLEETCOMPAT_TEST_RUN_DIR;
      else process.env.FLEETCOMPAT_TEST_RUN_DIR = saved;
    }
    // A record whose pid now belongs to something else (a reused pid): not to be touched.
    writeFileSync(path.join(runDir, `kafka-${port + 1}`), `${port + 1} ${decoy.pid} ${ROOT}\n`);
    writeFileSync(path.join(runDir, `postgres-${decoy.pid}`), `${decoy.pid}\n${pgDir}-not-this-one\n`);
    const records = readdirSync(runDir);
    expect(records).toHaveLength(4);
    expect(records).toEqual(expect.arrayContaining([`kafka-${port + 1}`, `kafka-${port}`, `postgres-${decoy.pid}`]));
    expect(records.filter((r) => /^postgres-\d+$/.test(r))).toHaveLength(2);
    const brokerPid = Number(readFileSync(path.join(ROOT, '.cache/kafka', `broker-${port}.pid`), 'utf8'));
    expect(alive(brokerPid)).toBe(true);

    const out = await bash('source scripts/lib/common.sh; stop_test_run_leftovers', {
      FLEETCOMPAT_TEST_RUN_DIR: runDir,
    });
    expect(out).toContain(`a test left its Kafka broker on port ${port} running`);
    expect(out).toMatch(/a test left its embedded Postgres running/);
    expect(alive(brokerPid)).toBe(false);
    for (let i = 0; i < 100 && !pg.exited; i++) await new Promise((r) => setTimeout(r, 100));
    expect(pg.exited).toBe(true);
    expect(alive(decoy.pid!)).toBe(true);
    expect(existsSync(runDir)).toBe(false);
  });
});
