// Projection rebuild (replay of the whole store into fresh projections, beside a bare read of
// the store in the same order) and planner queries under load (beside a bare HTTP server).
import autocannon from 'autocannon';
import { readAll, START } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { PROJECTION_CHANNEL, rebuildProjections } from '@fleetcompat/projections';
import { prng } from '@fleetcompat/sample-fleet';
import { randomBytes } from 'node:crypto';
import { rawGet } from '@fleetcompat/testing';
import { App, pgClient, startApp, startBareServer } from './support';

export interface RebuildRun {
  events: number;
  /** rebuildProjections: events/s */
  eventsPerSec: number;
  /** reading the whole store in the same order and batch size, nothing applied: events/s */
  readEventsPerSec: number;
}

export async function measureRebuild(dbUrl: string): Promise<RebuildRun> {
  const ds = await openDatabase({ url: dbUrl, poolSize: 2, migrate: false });
  try {
    let after = START;
    let n = 0;
    const t0 = performance.now();
    for (;;) {
      const r = await readAll(ds, { after, limit: 5000 });
      if (!r.events.length) break;
      n += r.events.length;
      after = r.checkpoint;
    }
    const readMs = performance.now() - t0;
    const rebuilt = await rebuildProjections(ds, { schema: 'bench_rebuild' });
    await ds.query(`DROP SCHEMA bench_rebuild CASCADE`);
    await ds.query(`DELETE FROM processor_checkpoints WHERE processor = 'rebuild:bench_rebuild'`);
    return {
      events: rebuilt.events,
      eventsPerSec: Math.round(rebuilt.events / Math.max(0.001, rebuilt.ms / 1000)),
      readEventsPerSec: Math.round(n / Math.max(0.001, readMs / 1000)),
    };
  } finally {
    await ds.destroy();
  }
}

export interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  /** Of the API's placements reads during the load, the share answered from its cache (%), when the API was asked */
  cacheHitPct?: number;
  /** Of the reads that missed that cache, the share Postgres served as kept (its tag still current) rather than built (%) */
  keptPct?: number;
}

export function load(
  url: string,
  paths: () => string,
  seconds: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration: seconds,
        headers,
        requests: [{ method: 'GET', setupRequest: (req: autocannon.Request) => ({ ...req, path: paths() }) }],
      },
      (err: Error | null, r: autocannon.Result) => {
        if (err) return reject(err);
        resolve({
          reqPerSec: Math.round(r.requests.average),
          p50: r.latency.p50,
          p99: r.latency.p99,
          max: r.latency.max,
          errors: r.errors,
          non2xx: r.non2xx,
        });
      },
    );
  });
}

/** The API's placements counters (its /metrics): its cache, and of the misses, the answers Postgres kept or built. */
async function cacheCounters(api: App): Promise<{ hits: number; misses: number; kept: number; built: number }> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`placements_${name}_total(?:\\{[^}]*\\})? ([0-9.e+]+)`).exec(text)?.[1] ?? NaN);
  return {
    hits: read('cache_hits'),
    misses: read('cache_misses'),
    kept: read('answers_kept'),
    built: read('answers_built'),
  };
}

/** `load` against the API, with the share of its placements reads the cache answered meanwhile. */
async function loadCounted(
  api: App,
  paths: () => string,
  seconds: number,
  connections: number,
  headers: Record<string, string>,
): Promise<LoadResult> {
  const c0 = await cacheCounters(api);
  const r = await load(api.url, paths, seconds, connections, headers);
  const c1 = await cacheCounters(api);
  const hits = c1.hits - c0.hits;
  const all = hits + (c1.misses - c0.misses);
  const kept = c1.kept - c0.kept;
  const fromPostgres = kept + (c1.built - c0.built);
  return {
    ...r,
    ...(all > 0 ? { cacheHitPct: Math.round((hits / all) * 1000) / 10 } : {}),
    ...(fromPostgres > 0 ? { keptPct: Math.round((kept / fromPostgres) * 1000) / 10 } : {}),
  };
}

export interface QueriesRun {
  /** random hosts of the whole fleet */
  placements: LoadResult;
  /** the hosts of one upgrade wave, polling before their reboot (answers kept by the API between projector batches) */
  wave: LoadResult;
  blocked: LoadResult;
  /** a bare node:http server answering every request with one placements body */
  bare: LoadResult;
}

/** The hosts of the fleet's first upgrade wave (by waveId order), from the projections. */
export async function firstWaveHosts(dbUrl: string): Promise<string[]> {
  const c = await pgClient(dbUrl);
  try {
    const { rows } = await c.query(
      `SELECT host_id FROM projection.hosts WHERE wave_id = (SELECT min(wave_id) FROM projection.hosts) ORDER BY host_id`,
    );
    return rows.map((r: { host_id: string }) => r.host_id);
  } finally {
    await c.end();
  }
}

/** Counts the projector's commits (its `fleetcompat_projection` notifications, one per batch: each drops the API's cached answers) until stopped. */
export async function countCommits(dbUrl: string): Promise<{ count: () => number; stop: () => Promise<void> }> {
  const c = await pgClient(dbUrl);
  let n = 0;
  c.on('notification', () => n++);
  await c.query(`LISTEN ${PROJECTION_CHANNEL}`);
  return { count: () => n, stop: () => c.end().catch(() => undefined) };
}

/** The admin token the benchmark's api process starts with (FLEETCOMPAT_BOOTSTRAP_TOKEN). */
export const API_TOKEN = `bench-${randomBytes(16).toString('hex')}`;

export async function startApi(dbUrl: string): Promise<App> {
  return (
    await startApp('api', { DATABASE_URL: dbUrl, LOG_LEVEL: 'log', FLEETCOMPAT_BOOTSTRAP_TOKEN: API_TOKEN })
  ).ready();
}

export async function measureQueries(
  api: App,
  hostIds: readonly string[],
  waveHostIds: readonly string[],
  seconds: number,
  connections: number,
): Promise<QueriesRun> {
  // uniformly random hosts (a seeded PRNG: the same sequence every run)
  const rand = prng(7919);
  const hostPath = () => `/v1/hosts/${hostIds[Math.floor(rand() * hostIds.length)]}/placements`;
  const wavePath = () => `/v1/hosts/${waveHostIds[Math.floor(rand() * waveHostIds.length)]}/placements`;
  // what the host agent (Node's fetch) sends: the API answers gzip, and the bare server sends the same bytes
  const headers = { authorization: `Bearer ${API_TOKEN}`, 'accept-encoding': 'gzip, deflate' };
  const sample = await rawGet(`${api.url}/v1/hosts/${hostIds[0]}/placements`, headers);
  if (sample.status !== 200) throw new Error(`GET placements answered ${sample.status}: ${sample.body.toString()}`);
  const blockedRes = await fetch(`${api.url}/v1/guests?status=blocked`, { headers });
  if (blockedRes.status !== 200) throw new Error(`GET guests?status=blocked answered ${blockedRes.status}`);
  const coding = sample.headers['content-encoding'];
  const bareServer = await startBareServer(sample.body, typeof coding === 'string' ? coding : undefined);
  try {
    const bare = await load(bareServer.url, () => '/', seconds, connections, {
      'accept-encoding': headers['accept-encoding'],
    });
    const placements = await loadCounted(api, hostPath, seconds, connections, headers);
    const wave = await loadCounted(api, wavePath, seconds, connections, headers);
    const blocked = await load(api.url, () => '/v1/guests?status=blocked', seconds, connections, headers);
    return { placements, wave, blocked, bare };
  } finally {
    await bareServer.stop();
  }
}
