// The fault-injection run: its own Kafka broker and Postgres, every role as separate
// processes (two of each worker role), a generated fleet workload delivered two or three
// times with poison mixed in, SIGKILLs of random processes at random moments, a broker
// restart and a Postgres crash in the middle of the load; then, once drained, the invariants.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import * as path from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { InputTopics, Topics } from '@fleetcompat/contract';
import { openDatabase } from '@fleetcompat/platform';
import { processorNames } from '@fleetcompat/projections';
import { prng } from '@fleetcompat/sample-fleet';
import { ROOT } from '../support/apps';
import { OwnBroker, OwnPostgres } from './infra';
import { BatchLog, checkBatchesDoNotOverlap } from './batches';
import { ExpectedFacts } from './expected';
import {
  checkCurrentDecisions,
  checkDecisionsEqualPolicy,
  checkRepeatsByteEqual,
  PlacementsAnswer,
  topicView,
} from './host-view';
import {
  checkDeadLetters,
  checkNoLag,
  checkPlacementTopic,
  checkRebuild,
  checkStore,
  InvariantResult,
  LagState,
  projectorBehind,
} from './invariants';
import { client, createTopics, groupLag, readTopic, StubbornProducer } from './kafka-io';
import { snapshotDist, Supervisor } from './supervisor';
import { buildWorkload, Delivery, WorkloadSize } from './workload';

export interface FaultProfile {
  readonly name: string;
  readonly workload: WorkloadSize;
  /** The deliveries are spread over this long. */
  readonly loadSeconds: number;
  /** Mean time between two SIGKILLs. */
  readonly killMeanMs: number;
  /** Kills go on this long after the last delivery (the backlog is still being worked). */
  readonly tailSeconds: number;
  readonly brokerRestarts: number;
  readonly postgresCrashes: number;
  readonly drainTimeoutSeconds: number;
  /** Processes per role (the projector's: every shard's instances together). */
  readonly layout: { ingest: number; projector: number; relay: number; api: number };
  /** Projector shards (PROJECTOR_SHARDS); projector instance i runs shard i mod this. */
  readonly projectorShards: number;
  /** Decisions compared with the policy on the workload's facts: a random sample of guests, and up to perHazard per hazard. */
  readonly decisionSample: { sample: number; perHazard: number };
}

const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);

export function profile(long: boolean): FaultProfile {
  const guests = num('FAULTS_GUESTS', long ? 160000 : 70000);
  return {
    name: long ? 'long' : 'fast',
    workload: {
      hosts: Math.max(20, Math.round(guests / 175)),
      guests,
      kernels: Math.max(20, Math.round(guests / 230)),
      waves: 5,
      seed: num('FAULTS_SEED', 20261125),
      shuffleWindow: 0.05,
      tripleShare: 0.2,
      poisonPerMille: 2,
      oversizeMax: long ? 40 : 10,
      httpShare: 0.03,
      otherPartitionShare: 0.1,
    },
    loadSeconds: num('FAULTS_LOAD_SECONDS', long ? 300 : 50),
    killMeanMs: num('FAULTS_KILL_MEAN_MS', long ? 1500 : 2000),
    tailSeconds: num('FAULTS_TAIL_SECONDS', long ? 60 : 10),
    brokerRestarts: num('FAULTS_BROKER_RESTARTS', long ? 3 : 1),
    postgresCrashes: num('FAULTS_POSTGRES_CRASHES', long ? 3 : 1),
    drainTimeoutSeconds: num('FAULTS_DRAIN_SECONDS', long ? 1800 : 900),
    // 2 projector shards × 2 instances each (FAULTS_PROJECTOR_SHARDS=1: one projector, 2 instances)
    layout: { ingest: 2, projector: 2 * num('FAULTS_PROJECTOR_SHARDS', 2), relay: 2, api: 1 },
    projectorShards: num('FAULTS_PROJECTOR_SHARDS', 2),
    decisionSample: { sample: num('FAULTS_DECISION_SAMPLE', 200), perHazard: num('FAULTS_DECISION_PER_HAZARD', 40) },
  };
}

export interface FaultRecord {
  fault: string;
  count: number;
  detail: string;
}

export interface FaultReport {
  runId: string;
  profile: string;
  startedAt: string;
  seconds: number;
  workload: Record<string, number>;
  faults: FaultRecord[];
  processes: {
    instance: string;
    starts: number;
    kills: number;
    crashes: number;
    crashDetails: { at: string; exit: string; cause: string; log: string }[];
  }[];
  invariants: InvariantResult[];
  ok: boolean;
  reportFile: string;
}

const log = (msg: string) => process.stderr.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runFaultSuite(p: FaultProfile): Promise<FaultReport> {
  const started = Date.now();
  const runId = `f${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const prefix = `${runId}.`;
  const rand = prng(p.workload.seed ^ 0x5eed);
  const topic = (t: string) => `${prefix}${t}`;
  const faults = new Map<string, FaultRecord>();
  const fault = (name: string, detail: string) => {
    const f = faults.get(name) ?? { fault: name, count: 0, detail: '' };
    f.count++;
    f.detail = detail;
    faults.set(name, f);
  };

  log(`profile ${p.name}: building the workload (${p.workload.guests} guests)`);
  const w = buildWorkload(p.workload, runId);
  log(`workload: ${w.valid.size} valid events, ${w.poison.length} poison messages, ${w.deliveries.length} deliveries`);
  // What the decisions must be, from the workload's own events (not from the service).
  const expected = new ExpectedFacts(w.valid.values());
  const batchLog = new BatchLog();
  let placements = new Map<string, PlacementsAnswer>();

  let broker: OwnBroker | undefined;
  let pg: OwnPostgres | undefined;
  let sup: Supervisor | undefined;
  let ds: DataSource | undefined;
  let ok = false;
  // The lock watcher's and the killer's loops (below) run while these hold; the finally ends
  // them on every path, a failed run too (else they keep jest alive after the suite).
  let watching = false;
  let killing = false;
  const invariants: InvariantResult[] = [];
  const kills = new Map<string, number>();
  // When jest gives up on the run (its timeout) and exits (--forceExit), the finally below never
  // runs: the processes, the broker and Postgres would go on, loading the machine.
  const distDir = path.join(ROOT, '.cache', 'faults', `${runId}-dist`);
  const leftovers = () => {
    sup?.killNow();
    broker?.killNow();
    pg?.killNow();
    rmSync(distDir, { recursive: true, force: true });
  };
  process.once('exit', leftovers);
  try {
    [broker, pg] = await Promise.all([OwnBroker.start(), OwnPostgres.start()]);
    log(`own broker ${broker.brokers}, own Postgres on port ${pg.port}`);
    const kafka = client(broker.brokers);
    await createTopics(kafka, Object.values(Topics).map(topic), 3);
    const groupId = `${runId}-ingest`;
    const token = randomBytes(24).toString('hex');
    const env = {
      DATABASE_URL: pg.url,
      KAFKA_BROKERS: broker.brokers,
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: groupId,
      FLEETCOMPAT_BOOTSTRAP_TOKEN: token,
      LOG_LEVEL: 'log',
      DATABASE_POOL_SIZE: '5',
      // A killed ingest member holds its partitions until its session expires: 10 s, not 30.
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    };
    const dist = snapshotDist(distDir);
    sup = new Supervisor(
      dist,
      env,
      { api: p.layout.api, ingest: p.layout.ingest, projector: p.layout.projector, relay: p.layout.relay },
      () => 200 + rand() * 1800,
      {
        chunk: (i, pipe, chunk) => i.role === 'projector' && batchLog.feed(`${i.role}#${i.index + 1}`, pipe, chunk),
        closed: (pipe) => batchLog.closed(pipe),
      },
      (i): Record<string, string> =>
        i.role === 'projector'
          ? { PROJECTOR_SHARDS: String(p.projectorShards), PROJECTOR_SHARD: String(i.index % p.projectorShards) }
          : {},
    );
    await sup.start();
    log(`processes up: ${JSON.stringify(sup.alive())}`);

    // Lock watcher: at most one session may hold each projector shard's lock (and the relay's).
    const shardLocks = processorNames(p.projectorShards);
    const lockStats = { samples: 0, projectorHeld: 0, projectorMax: 0, relayHeld: 0, relayMax: 0 };
    watching = true;
    const watcher = (async () => {
      let c: Client | undefined;
      while (watching) {
        try {
          if (!c) {
            c = new Client({ connectionString: pg.url });
            c.on('error', () => undefined);
            await c.connect();
          }
          const r = await c.query(
            `SELECT coalesce((SELECT max(n) FROM (SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = (hashtext('fleetcompat:' || name)::bigint & 4294967295)) AS n FROM unnest($1::text[]) AS name) per), 0)::int AS projector,
                    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = (hashtext('fleetcompat:outbox-relay')::bigint & 4294967295))::int AS relay`,
            [shardLocks],
          );
          lockStats.samples++;
          const { projector, relay } = r.rows[0];
          if (projector > 0) lockStats.projectorHeld++;
          if (relay > 0) lockStats.relayHeld++;
          lockStats.projectorMax = Math.max(lockStats.projectorMax, projector);
          lockStats.relayMax = Math.max(lockStats.relayMax, relay);
        } catch {
          await c?.end().catch(() => undefined);
          c = undefined;
        }
        await sleep(100);
      }
      await c?.end().catch(() => undefined);
    })();

    // Faults on a schedule of delivery progress (broker, Postgres) and at random (kills).
    const infraFaults: Promise<void>[] = [];
    const brokerAt = Array.from({ length: p.brokerRestarts }, (_, i) => (i + 0.45) / p.brokerRestarts);
    const pgAt = Array.from({ length: p.postgresCrashes }, (_, i) => (i + 0.72) / p.postgresCrashes);
    const onProgress = (done: number) => {
      while (brokerAt.length && done >= brokerAt[0]) {
        brokerAt.shift();
        infraFaults.push(
          (async () => {
            const t = Date.now();
            await broker!.restart(3);
            fault(
              'Kafka broker restart (stop, 3 s away, start)',
              `last took ${((Date.now() - t) / 1000).toFixed(1)} s, at ${Math.round(done * 100)}% of the deliveries`,
            );
            log(`broker restarted in ${Date.now() - t} ms`);
          })(),
        );
      }
      while (pgAt.length && done >= pgAt[0]) {
        pgAt.shift();
        infraFaults.push(
          (async () => {
            const t = Date.now();
            await pg!.crashRestart(2000);
            fault(
              'Postgres crash (immediate shutdown, 2 s away, start with WAL recovery)',
              `last took ${((Date.now() - t) / 1000).toFixed(1)} s, at ${Math.round(done * 100)}% of the deliveries`,
            );
            log(`Postgres crashed and restarted in ${Date.now() - t} ms`);
          })(),
        );
      }
    };

    killing = true;
    const killer = (async () => {
      while (killing) {
        await sleep(p.killMeanMs * (0.5 + rand()));
        if (!killing) break;
        const candidates = sup.killable();
        const i = candidates[Math.floor(rand() * candidates.length)];
        if (i && (await sup.kill(i))) {
          const name = `kill -9 ${i.role}`;
          kills.set(sup.name(i), (kills.get(sup.name(i)) ?? 0) + 1);
          fault(name, 'SIGKILL at a random moment (of a process that has started up), restarted 0.2-2 s later');
        }
      }
    })();

    // Deliver the workload, paced over loadSeconds.
    const producer = new StubbornProducer(kafka, token);
    const ticks = Math.max(1, p.loadSeconds * 4);
    const per = Math.ceil(w.deliveries.length / ticks);
    const deliveredTimes = new Map<string, number>();
    const http: Delivery[] = [];
    const t0 = Date.now();
    let httpPosted = 0;
    for (let i = 0, tick = 0; i < w.deliveries.length; i += per, tick++) {
      const chunk = w.deliveries.slice(i, i + per);
      const kafkaPart = chunk.filter((d) => d.channel === 'kafka');
      http.push(...chunk.filter((d) => d.channel === 'http'));
      await producer.send(
        kafkaPart.map((d) => ({ topic: topic(d.topic), key: d.key, value: d.value, partition: d.partition })),
      );
      for (const d of kafkaPart)
        if (d.poison) deliveredTimes.set(d.poison.marker, (deliveredTimes.get(d.poison.marker) ?? 0) + 1);
      if (http.length >= 100) httpPosted += await postEvents(sup, http.splice(0), token);
      onProgress((i + chunk.length) / w.deliveries.length);
      const wait = t0 + (tick + 1) * 250 - Date.now();
      if (wait > 0) await sleep(wait);
    }
    if (http.length) httpPosted += await postEvents(sup, http.splice(0), token);
    await producer.close();
    if (producer.resends)
      fault(
        'workload producer resends (broker away)',
        `${producer.resends} messages sent again after ${producer.failures} failed sends: extra copies`,
      );
    fault(
      'every event delivered 2-3 times',
      `${w.counts['repeats']} repeats of ${w.valid.size} events; ${w.counts['repeats on an explicit (maybe other) partition'] ?? 0} on an explicit partition, ${httpPosted} over HTTP`,
    );
    fault(
      'first copies shuffled across keys',
      `${Math.round(p.workload.shuffleWindow * 100)}% of the stream: events of different topics and keys arrive in another relative order (each key keeps its own)`,
    );
    fault(
      'poison messages, each delivered twice',
      Object.entries(w.counts)
        .filter(([k]) => k.startsWith('poison'))
        .map(([k, v]) => `${k.slice(8)} ${v}`)
        .join(', '),
    );
    fault(
      'two instances of each worker role at once',
      `ingest ${p.layout.ingest}, projector ${p.layout.projector} (${p.projectorShards} shard(s)), relay ${p.layout.relay}, api ${p.layout.api}`,
    );
    log(
      `all ${w.deliveries.length} deliveries sent in ${((Date.now() - t0) / 1000).toFixed(0)} s; faults go on for ${p.tailSeconds} s`,
    );

    await sleep(p.tailSeconds * 1000);
    killing = false;
    await killer;
    await Promise.all(infraFaults);
    await sup.settle();
    log(`faults stopped; draining (processes ${JSON.stringify(sup.alive())})`);

    // Drain: the ingest group at the end of every input partition, the projector at the head, the outbox empty.
    ds = await openDatabase({ url: pg.url, poolSize: 3, migrate: false });
    const inputs = InputTopics.map(topic);
    const drainStart = Date.now();
    let drainedAfter: number | null = null;
    let state: LagState = { groupLag: [], projectorBehind: 0, outbox: 0, alive: {} };
    let stable = 0;
    while (Date.now() - drainStart < p.drainTimeoutSeconds * 1000) {
      try {
        state = {
          groupLag: await groupLag(kafka, groupId, inputs),
          projectorBehind: await projectorBehind(ds, p.projectorShards),
          outbox: Number((await ds.query(`SELECT count(*)::text AS n FROM outbox`))[0].n),
          alive: sup.alive(),
        };
      } catch (e) {
        log(`drain poll failed: ${(e as Error).message}`);
        await sleep(1000);
        continue;
      }
      const lag = state.groupLag.reduce((s, l) => s + l.lag, 0);
      if (lag === 0 && state.projectorBehind === 0 && state.outbox === 0) {
        if (++stable >= 3) {
          drainedAfter = Date.now() - drainStart;
          break;
        }
      } else {
        stable = 0;
        if ((Date.now() - drainStart) % 10000 < 1000)
          log(`draining: ingest lag ${lag}, projector behind ${state.projectorBehind}, outbox ${state.outbox}`);
      }
      await sleep(1000);
    }
    log(drainedAfter === null ? 'NOT drained in time' : `drained in ${(drainedAfter / 1000).toFixed(0)} s`);
    watching = false;
    await watcher;
    fault(
      'lock watch (pg_locks sampled every 100 ms)',
      `${lockStats.samples} samples; a projector shard lock (${shardLocks.join(', ')}) held in ${lockStats.projectorHeld}, by at most ${lockStats.projectorMax} session(s); relay lock held in ${lockStats.relayHeld}, by at most ${lockStats.relayMax}`,
    );
    invariants.push(checkNoLag(state, drainedAfter, { ...p.layout }));
    const single = invariants[invariants.length - 1];
    if (lockStats.projectorMax > 1) {
      single.failures.push(`a projector shard's lock held by ${lockStats.projectorMax} sessions at once`);
      single.failureCount++;
    }
    if (lockStats.relayMax > 1) {
      single.failures.push(`relay lock held by ${lockStats.relayMax} sessions at once`);
      single.failureCount++;
    }
    log(`reading GET /v1/hosts/{id}/placements of ${expected.hosts.size} hosts`);
    placements = await fetchPlacements(sup, [...expected.hosts.keys()].sort(), token);
    await sup.stop();

    log('checking invariants');
    // Each check on its own: one that throws (say, on a table that changed shape) does not hide the others.
    const guarded = async (
      name: string,
      work: () => Promise<InvariantResult | InvariantResult[]> | InvariantResult | InvariantResult[],
    ) => {
      const t = Date.now();
      try {
        const r = await work();
        invariants.push(...(Array.isArray(r) ? r : [r]));
        log(`checked ${name} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      } catch (e) {
        invariants.push({
          name,
          checked: 'the check ran to the end',
          counts: {},
          failures: [String((e as Error).stack ?? e)],
          failureCount: 1,
        });
      }
    };
    const storeEvents = Number((await ds.query(`SELECT count(*)::text AS n FROM events`))[0].n);
    const decisions = await readTopic(kafka, topic(Topics.placementDecisions));
    await guarded('store: every valid eventId exactly once', () => checkStore(ds!, w));
    await guarded('dead letters: every invalid message, with its reason', async () =>
      checkDeadLetters(await readTopic(kafka, topic(Topics.deadLetters)), w, deliveredTimes),
    );
    await guarded('projections: live equals a rebuild from the store', () => checkRebuild(ds!));
    await guarded('placement topic: per guest, strictly increasing sequences, no decision lost', () =>
      checkPlacementTopic(ds!, decisions),
    );
    const view = topicView(decisions);
    await guarded('what hosts see: every present guest on a registered host has a current decision', () =>
      checkCurrentDecisions(expected, view, placements),
    );
    await guarded('decisions equal the policy on facts rebuilt from the workload', () =>
      checkDecisionsEqualPolicy(expected, w, view, placements, {
        seed: p.workload.seed ^ 0xdec1de,
        ...p.decisionSample,
      }),
    );
    await guarded('placement topic: repeats are byte-equal to the first copy', () => checkRepeatsByteEqual(decisions));
    await guarded('projector: committed batches never overlap in time', () =>
      checkBatchesDoNotOverlap(batchLog, storeEvents),
    );
    ok = invariants.every((i) => i.failureCount === 0);
  } catch (e) {
    invariants.push({
      name: 'the run itself',
      checked: 'the suite ran to the end',
      counts: {},
      failures: [String((e as Error).stack ?? e)],
      failureCount: 1,
    });
  } finally {
    watching = false;
    killing = false;
    await sup?.stop().catch(() => undefined);
    await ds?.destroy().catch(() => undefined);
    await broker?.destroy(!ok).catch(() => undefined);
    await pg?.destroy().catch(() => undefined);
    rmSync(distDir, { recursive: true, force: true });
    process.removeListener('exit', leftovers);
  }

  const dir = path.join(ROOT, '.cache', 'faults');
  mkdirSync(dir, { recursive: true });
  const reportFile = path.join(dir, `report-${runId}.json`);
  const report: FaultReport = {
    runId,
    profile: p.name,
    startedAt: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    workload: w.counts,
    faults: [...faults.values()],
    processes: (sup?.instances ?? []).map((i) => {
      const crashes = i.crashes.map((c, n) => {
        const file = path.join(dir, `${runId}-${sup!.name(i).replace('#', '-')}-crash-${n + 1}.log`);
        writeFileSync(file, c.log);
        return {
          at: c.at,
          exit: JSON.stringify({ code: c.code, signal: c.signal }),
          cause: crashCause(c.log),
          log: file,
        };
      });
      return {
        instance: sup!.name(i),
        starts: i.starts,
        kills: kills.get(sup!.name(i)) ?? 0,
        crashes: crashes.length,
        crashDetails: crashes,
      };
    }),
    invariants,
    ok: invariants.length > 0 && invariants.every((i) => i.failureCount === 0),
    reportFile,
  };
  writeFileSync(reportFile, JSON.stringify(report, null, 2));
  process.stderr.write(formatReport(report));
  return report;
}

/** The line of a crashed process's output that says why: an uncaught error or a failed start. */
function crashCause(log: string): string {
  // eslint-disable-next-line no-control-regex -- the terminal's colour escapes (ESC [ ... m), stripped
  const colour = /\x1b\[[0-9;]*m/g;
  const lines = log
    .split('\n')
    .map((l) => l.replace(colour, '').trim())
    .filter(Boolean);
  const uncaught = lines.findIndex((l) => /triggerUncaughtException|Uncaught|UnhandledPromiseRejection/.test(l));
  if (uncaught >= 0) {
    const error = lines.slice(uncaught + 1).find((l) => /(Error|Exception)\b/.test(l) && !l.startsWith('at '));
    return (error ?? lines.slice(uncaught + 1, uncaught + 6).join(' ')).slice(0, 400);
  }
  const fatal = [...lines].reverse().find((l) => /"level":"(fatal|error)"|failed to start|FATAL|ERROR/.test(l));
  return (fatal ?? lines.at(-1) ?? '').slice(0, 400);
}

/** One POST with node:http and no agent (no keep-alive pool left behind when the run ends). */
function post(url: string, body: string, token: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent: false,
        timeout: 30000,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('POST timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** One GET with node:http and no agent. */
function get(url: string, token: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'GET', agent: false, timeout: 30000, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('GET timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** GET /v1/hosts/{id}/placements of every host, four at a time (5xx and failures retried a few times). */
async function fetchPlacements(
  sup: Supervisor,
  hostIds: string[],
  token: string,
): Promise<Map<string, PlacementsAnswer>> {
  const out = new Map<string, PlacementsAnswer>();
  const queue = [...hostIds];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let hostId = queue.shift(); hostId !== undefined; hostId = queue.shift()) {
        for (let attempt = 1; ; attempt++) {
          try {
            const api = sup.instances.find((x) => x.role === 'api' && x.proc && !x.proc.exit)?.proc;
            if (!api) throw new Error('no api running');
            const res = await get(`${api.url}/v1/hosts/${encodeURIComponent(hostId)}/placements`, token);
            if (res.status >= 500 && attempt < 5) throw new Error(`answered ${res.status}`);
            let body: any = res.text;
            try {
              body = JSON.parse(res.text);
            } catch {
              /* not JSON: kept as text */
            }
            out.set(hostId, { status: res.status, body });
            break;
          } catch (e) {
            if (attempt >= 5) {
              out.set(hostId, { status: 0, body: `GET failed: ${(e as Error).message}` });
              break;
            }
            await sleep(500 * attempt);
          }
        }
      }
    }),
  );
  return out;
}

/** Posts events to the API (one process of it may be down: retried until stored). */
async function postEvents(sup: Supervisor, deliveries: Delivery[], token: string): Promise<number> {
  for (let i = 0; i < deliveries.length; i += 100) {
    const body = JSON.stringify(deliveries.slice(i, i + 100).map((d) => d.event));
    const until = Date.now() + 10 * 60 * 1000;
    for (;;) {
      const api = sup.instances.find((x) => x.role === 'api' && x.proc && !x.proc.exit)?.proc;
      try {
        if (!api) throw new Error('no api running');
        const res = await post(`${api.url}/v1/events`, body, token);
        const text = res.text;
        if (res.status === 202) break;
        if (res.status < 500)
          throw Object.assign(new Error(`POST /v1/events answered ${res.status}: ${text.slice(0, 300)}`), {
            fatal: true,
          });
      } catch (e) {
        if ((e as any).fatal || Date.now() > until) throw e;
        await sleep(500);
      }
    }
  }
  return deliveries.length;
}

export function formatReport(r: FaultReport): string {
  const lines: string[] = [];
  const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
  lines.push(
    '',
    `fault-injection run ${r.runId} (${r.profile}), ${r.seconds} s: ${r.ok ? 'ALL INVARIANTS HOLD' : 'INVARIANTS BROKEN'}`,
  );
  lines.push('', 'workload');
  for (const [k, v] of Object.entries(r.workload)) lines.push(`  ${pad(k, 52)} ${String(v).padStart(9)}`);
  lines.push('', 'faults injected');
  for (const f of r.faults) lines.push(`  ${pad(f.fault, 52)} ${String(f.count).padStart(9)}  ${f.detail}`);
  lines.push('', 'processes (instance, starts, kills, crashes not injected)');
  for (const p of r.processes) {
    lines.push(
      `  ${pad(p.instance, 14)} starts ${String(p.starts).padStart(4)}  kills ${String(p.kills).padStart(4)}  crashes ${p.crashes}`,
    );
    for (const c of p.crashDetails)
      lines.push(`      exited ${c.exit} at ${c.at.slice(11, 19)}: ${c.cause.slice(0, 200)} (${path.basename(c.log)})`);
  }
  lines.push('', 'invariants');
  for (const i of r.invariants) {
    lines.push(`  [${i.failureCount === 0 ? 'ok  ' : 'FAIL'}] ${i.name}`);
    lines.push(`         checked: ${i.checked}`);
    for (const [k, v] of Object.entries(i.counts)) lines.push(`         ${pad(k, 70)} ${String(v).padStart(9)}`);
    if (i.failureCount) {
      lines.push(`         ${i.failureCount} failure(s), e.g.:`);
      for (const f of i.failures) lines.push(`           - ${f.slice(0, 1500)}`);
    }
  }
  lines.push('', `report: ${r.reportFile}`, '');
  return lines.join('\n');
}
