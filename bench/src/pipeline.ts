// Ingest (events/s from the input topics to decisions on the placement topic, beside a bare
// kafkajs consumer of the same messages) and decision latency, on the built apps as processes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { KafkaSigner } from '@fleetcompat/auth';
import { createTopicsWithLeaders } from '@fleetcompat/kafka';
import { EventRouting, FleetEvent, InputTopics, Topics } from '@fleetcompat/contract';
import { notifiedHosts, processorNames, PROJECTION_CHANNEL } from '@fleetcompat/projections';
import { envelope, FleetSize, generateFleet } from '@fleetcompat/sample-fleet';
import { Client } from 'pg';
import { Partitioners } from 'kafkajs';
import {
  App,
  brokers,
  createDatabase,
  kafka,
  log,
  percentile,
  pgClient,
  ROOT,
  sleep,
  startApp,
  uniqueName,
} from './support';

/** The admin token of the pipeline's apps (FLEETCOMPAT_BOOTSTRAP_TOKEN): every message is signed with it (KAFKA_AUTH=signed, the default). */
export const PIPELINE_TOKEN = `bench-pipeline-${randomBytes(16).toString('hex')}`;

/** Produces events to their (prefixed) topics, keyed as the contract says, signed. Returns the count. */
export async function produceEvents(prefix: string, events: Iterable<FleetEvent>): Promise<number> {
  const signer = new KafkaSigner(PIPELINE_TOKEN);
  const producer = kafka().producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let n = 0;
  try {
    let pending = new Map<string, { key: string; value: string; headers?: Record<string, string> }[]>();
    let size = 0;
    const flush = async () => {
      if (!size) return;
      const topicMessages = [...pending].map(([topic, messages]) => ({ topic, messages }));
      pending = new Map();
      size = 0;
      await producer.sendBatch({ topicMessages, acks: -1 });
    };
    for (const e of events) {
      const route = EventRouting[e.type];
      const topic = prefix + route.topic;
      const list = pending.get(topic) ?? [];
      list.push(signer.sign(topic, { key: route.key(e.data), value: JSON.stringify(e) }));
      pending.set(topic, list);
      n++;
      if (++size >= 5000) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return n;
}

export async function createTopics(prefix: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await createTopicsWithLeaders(
      admin,
      Object.values(Topics).map((t) => ({ topic: prefix + t, numPartitions: 3, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(prefix: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(Topics).map((t) => prefix + t), timeout: 10000 });
  } catch (e) {
    log(`could not delete topics ${prefix}*: ${(e as Error).message}`);
  } finally {
    await admin.disconnect();
  }
}

/** The baseline: a bare kafkajs consumer (eachBatch, fresh group) reading the input topics from the beginning. */
export async function bareConsumer(
  prefix: string,
  expected: number,
): Promise<{ eventsPerSec: number; seconds: number }> {
  const consumer = kafka('fleetcompat-bench-bare').consumer({
    groupId: uniqueName('bench-bare'),
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  let count = 0;
  let first = 0;
  let last = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  try {
    await consumer.subscribe({ topics: InputTopics.map((t) => prefix + t), fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (!first) first = Date.now();
        count += batch.messages.length;
        if (count >= expected) {
          last = Date.now();
          done();
        }
      },
    });
    const timeout = setTimeout(done, 600000);
    await finished;
    clearTimeout(timeout);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  if (count < expected) throw new Error(`bare consumer read ${count} of ${expected} messages`);
  const seconds = Math.max(0.001, (last - first) / 1000);
  return { eventsPerSec: Math.round(expected / seconds), seconds };
}

export interface PipelineState {
  events: number;
  projected: boolean;
  outbox: number;
}

/** The store's size, whether every projector shard (of `shards`) is at its head, and the outbox's size. */
export async function pipelineState(db: Client, shards = 1): Promise<PipelineState> {
  const { rows } = await db.query<PipelineState>(
    `
    SELECT (SELECT count(*) FROM events)::int AS events,
           (SELECT count(*) FROM outbox)::int AS outbox,
           COALESCE((SELECT bool_and(c.processor IS NOT NULL AND (c.transaction_id, c.global_position) >= (h.transaction_id, h.global_position))
                       FROM unnest($1::text[]) AS p(name)
                       LEFT JOIN processor_checkpoints c ON c.processor = p.name,
                            (SELECT transaction_id, global_position FROM events
                              WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                              ORDER BY transaction_id DESC, global_position DESC LIMIT 1) h), false) AS projected`,
    [processorNames(shards)],
  );
  return rows[0];
}

/** Polls until the store holds `expected` events, all projected, and the outbox is empty (published). */
export async function waitSettled(
  db: Client,
  expected: number,
  timeoutMs: number,
  onStage?: (stage: 'stored' | 'projected' | 'published', at: number) => void,
  shards = 1,
) {
  const until = Date.now() + timeoutMs;
  let stored = false;
  let projected = false;
  for (;;) {
    const s = await pipelineState(db, shards).catch(() => null);
    const now = Date.now();
    if (s) {
      if (!stored && s.events >= expected) {
        stored = true;
        onStage?.('stored', now);
      }
      if (stored && !projected && s.projected) {
        projected = true;
        onStage?.('projected', now);
      }
      if (stored && s.projected && s.outbox === 0) return onStage?.('published', now);
    }
    if (now > until)
      throw new Error(`pipeline not settled after ${timeoutMs} ms: ${JSON.stringify(s)} (expected ${expected} events)`);
    await sleep(100);
  }
}

export interface Pipeline {
  dbUrl: string;
  db: Client;
  apps: App[];
  env: Record<string, string>;
  /** Projector shards (one process each). */
  shards: number;
}

/**
 * Starts projector and relay, then the ingest on a fresh database and consumer group; or,
 * with `again` (a stopped pipeline's env), the same three on that database and group again
 * (the ingest resumes at the group's offsets).
 */
export async function startPipeline(prefix: string, again?: Record<string, string>, shards = 1): Promise<Pipeline> {
  const dbUrl = again?.DATABASE_URL ?? (await createDatabase('pipeline'));
  const env = again ?? {
    DATABASE_URL: dbUrl,
    KAFKA_BROKERS: brokers().join(','),
    FLEETCOMPAT_TOPIC_PREFIX: prefix,
    KAFKA_GROUP_ID: uniqueName('bench-ingest'),
    LOG_LEVEL: 'log',
    FLEETCOMPAT_BOOTSTRAP_TOKEN: PIPELINE_TOKEN,
  };
  // The projector first: it runs the migrations; the others wait on the same advisory lock anyway.
  // With shards, one projector process per shard (the first alone: the migrations).
  const startShard = async (index: number) => {
    const app = await (
      await startApp(
        'projector',
        shards > 1 ? { ...env, PROJECTOR_SHARDS: String(shards), PROJECTOR_SHARD: String(index) } : env,
      )
    ).ready();
    if (shards > 1) app.label = `projector ${index}/${shards}`;
    return app;
  };
  const projectors = [await startShard(0)];
  projectors.push(...(await Promise.all(Array.from({ length: shards - 1 }, (_, i) => startShard(i + 1)))));
  const relay = await (await startApp('relay', env)).ready();
  const db = await pgClient(dbUrl);
  const ingest = await (await startApp('ingest', env)).ready();
  return { dbUrl, db, apps: [ingest, ...projectors, relay], env, shards };
}

// ---------------------------------------------------------------------------------------------
// CPU of the pipeline's processes

const CLK_TCK = 100;

/** User + system CPU seconds of a process so far (NaN once it is gone). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** The pid of this harness's Kafka broker when scripts/kafka/start.sh started it from this checkout. */
function brokerPid(): number | undefined {
  const port = brokers()[0]?.split(':')[1];
  try {
    const pid = Number(readFileSync(path.join(ROOT, '.cache/kafka', `broker-${port}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of each process of the pipeline from now until `end()`: the three apps, the
 * Postgres backends of the pipeline's database (those alive at the end; the harness's own
 * connection excluded) and the broker when it is this checkout's.
 */
export async function cpuMeter(p: Pipeline): Promise<{ end: () => Promise<Record<string, number>> }> {
  const backends = async () =>
    (
      await p.db.query(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      )
    ).rows.map((r: { pid: number }) => r.pid);
  const broker = brokerPid();
  const apps0 = p.apps.map((a) => cpuSeconds(a.child.pid));
  const db0 = new Map((await backends()).map((pid) => [pid, cpuSeconds(pid)]));
  const broker0 = cpuSeconds(broker);
  return {
    end: async () => {
      const out: Record<string, number> = {};
      p.apps.forEach((a, i) => (out[a.name] = cpuSeconds(a.child.pid) - apps0[i]));
      let db = 0;
      for (const pid of await backends()) db += (cpuSeconds(pid) || 0) - (db0.get(pid) ?? 0); // a backend born meanwhile counts whole
      out.postgres = db;
      if (broker) out['kafka broker'] = cpuSeconds(broker) - broker0;
      for (const k of Object.keys(out)) out[k] = Math.round(out[k] * 100) / 100;
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A background trickle of other events (re-observations of existing guests)

/** GuestObserved events of the fleet, to be sent again with fresh ids and times (no decision changes). */
export function trickleTemplates(events: Iterable<FleetEvent>, max = 2000): FleetEvent[] {
  const out: FleetEvent[] = [];
  for (const e of events) {
    if (e.type === 'GuestObserved') out.push(e);
    if (out.length >= max) break;
  }
  return out;
}

/** Sends `perSecond` of `templates` (fresh eventIds, occurredAt now) every 100 ms until stopped; returns what it sent. */
export async function startTrickle(
  prefix: string,
  templates: readonly FleetEvent[],
  perSecond: number,
): Promise<{ stop: () => Promise<number> }> {
  if (!templates.length || perSecond <= 0) return { stop: async () => 0 };
  const signer = new KafkaSigner(PIPELINE_TOKEN);
  const producer = kafka('fleetcompat-bench-trickle').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const tag = randomBytes(3).toString('hex');
  let sent = 0;
  let stopped = false;
  let carry = 0;
  const loop = (async () => {
    while (!stopped) {
      carry += perSecond / 10;
      const n = Math.floor(carry);
      carry -= n;
      if (n > 0) {
        const at = new Date().toISOString();
        const messages = Array.from({ length: n }, (_, i) => {
          const e = { ...templates[(sent + i) % templates.length] };
          e.eventId = `${e.eventId}-trickle-${tag}-${sent + i}`;
          e.occurredAt = at;
          const route = EventRouting[e.type];
          return {
            topic: prefix + route.topic,
            message: signer.sign(prefix + route.topic, { key: route.key(e.data), value: JSON.stringify(e) }),
          };
        });
        const byTopic = new Map<string, { key: string; value: string }[]>();
        for (const m of messages) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m.message]);
        await producer
          .sendBatch({ topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })), acks: -1 })
          .catch((err) => log(`trickle: ${(err as Error).message}`));
        sent += n;
      }
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await producer.disconnect().catch(() => undefined);
      return sent;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The relay's baseline: a bare kafkajs producer sending the same messages

/**
 * The decisions of `dbUrl` (the messages the relay published: topic, key, value and headers
 * as the outbox holds them), sent by a bare kafkajs producer configured as the relay's
 * (idempotent, one request in flight, murmur2 partitioner, acks -1, batches of `batchSize` in
 * one sendBatch each) to a topic of its own. Only the sends are timed; the rows are read from
 * Postgres between them.
 */
export async function bareProducer(
  prefix: string,
  dbUrl: string,
  batchSize: number,
): Promise<{ messages: number; messagesPerSec: number }> {
  const topic = `${prefix}bench.relay-baseline.${randomBytes(3).toString('hex')}`;
  const admin = kafka().admin();
  await admin.connect();
  const db = await pgClient(dbUrl);
  const producer = kafka('fleetcompat-bench-bare-producer').producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  try {
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }]);
    await producer.connect();
    let after = '';
    let n = 0;
    let ms = 0;
    for (;;) {
      const { rows } = await db.query<{
        decision_id: string;
        host_id: string;
        guest_id: string;
        value: string;
        type: string;
      }>(
        `SELECT decision_id, host_id, guest_id, message::text AS value, message->>'type' AS type FROM projection.decisions WHERE decision_id > $1 ORDER BY decision_id LIMIT $2`,
        [after, batchSize],
      );
      if (!rows.length) break;
      after = rows[rows.length - 1].decision_id;
      const messages = rows.map((r) => ({
        key: r.host_id,
        value: r.value,
        headers: { type: r.type, guestId: r.guest_id },
      }));
      const t0 = performance.now();
      await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
      ms += performance.now() - t0;
      n += rows.length;
    }
    return { messages: n, messagesPerSec: Math.round(n / Math.max(0.001, ms / 1000)) };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await db.end().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic], timeout: 10000 }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

export interface IngestRun {
  events: number;
  decisions: number;
  /** events / (last decision published - first event stored) */
  eventsPerSec: number;
  seconds: { stored: number; projected: number; published: number };
  /** CPU milliseconds per 1,000 events of each process, from the pipeline's start to the last decision published */
  cpuPer1000: Record<string, number>;
}

/** Measures one pipeline run over the whole fleet: from the first stored event to the outbox drained. */
export async function measurePipeline(p: Pipeline, expected: number): Promise<IngestRun> {
  const cpu = await cpuMeter(p);
  const stages: Record<string, number> = {};
  await waitSettled(
    p.db,
    expected,
    3_600_000,
    (stage, at) => {
      stages[stage] = at;
      log(`  pipeline ${stage} at ${new Date(at).toISOString().slice(11, 23)}`);
    },
    p.shards,
  );
  const cpuSec = await cpu.end();
  const cpuPer1000 = Object.fromEntries(
    Object.entries(cpuSec).map(([k, v]) => [k, Math.round((v / expected) * 1000 * 1000 * 10) / 10]),
  );
  const { rows } = await p.db.query<{ t0: number | null }>(
    `SELECT (extract(epoch FROM min(recorded_at)) * 1000)::float8 AS t0 FROM events`,
  );
  const t0 = Number(rows[0].t0);
  const decisions = Number(
    (await p.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM projection.decisions`)).rows[0].n,
  );
  const sec = (t: number) => Math.round((t - t0) / 10) / 100;
  return {
    events: expected,
    decisions,
    eventsPerSec: Math.round(expected / Math.max(0.001, (stages.published - t0) / 1000)),
    seconds: { stored: sec(stages.stored), projected: sec(stages.projected), published: sec(stages.published) },
    cpuPer1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Decision latency

export interface LatencyResult {
  hosts: number;
  guestsPerHost: number;
  /** samples taken (each: one host's event → the last of its decisions on the topic) */
  count: number;
  /** background events per second sent to the input topics during the point, and how many were sent */
  trickle: { perSecond: number; sent: number };
  ms: { p50: number; p95: number; p99: number; max: number; min: number; mean: number };
  samples: number[];
  /**
   * Where each sample's time went (ms, percentiles over the samples): `stored`, from the send
   * to the store's recordedAt of the event (the start of the ingest's append transaction);
   * `projected`, from there to the harness's LISTEN getting the projector's commit
   * notification naming the host (the projector's wake and batch); `relayed`, from there to
   * the placement topic's timestamp of the last decision (the relay's wake, read and send);
   * `delivered`, from there to the harness reading it (the broker's ack and the harness's
   * fetch). Same machine, same clock.
   */
  stages?: Record<
    'stored' | 'projected' | 'relayed' | 'delivered',
    { p50: number; p95: number; p99: number; max: number }
  >;
}

/**
 * Loads `hosts` extra hosts of `guestsPerHost` guests each on Xen 4.10.4 and lets the pipeline
 * settle; then, one host at a time, round after round, publishes HypervisorUpgradePlanned (to
 * 4.17.3) or, the next round, HypervisorUpgradeCancelled (back to 4.10.4), and times until the
 * last of the host's decisions for that version is read from the placement topic: `samples`
 * samples in all. Meanwhile a trickle of other events (`trickle.perSecond`) goes to the input
 * topics, so that the projector's batches are not only the timed ones.
 */
export async function measureLatency(
  p: Pipeline,
  prefix: string,
  alreadyStored: number,
  hosts: number,
  guestsPerHost: number,
  samples: number,
  trickle: { templates: readonly FleetEvent[]; perSecond: number },
): Promise<LatencyResult> {
  const size: FleetSize = {
    hosts,
    guests: hosts * guestsPerHost,
    kernels: 50,
    waves: 0,
    prefix: uniqueName('lat').replace(/[^a-z0-9-]/gi, ''),
  };
  const events = [...generateFleet(size)].map((e) =>
    e.type === 'HostRegistered'
      ? { ...e, data: { ...e.data, hypervisor: { name: 'xen' as const, version: '4.10.4' } } }
      : e,
  );
  const hostIds = events.filter((e) => e.type === 'HostRegistered').map((e) => (e.data as { hostId: string }).hostId);
  await produceEvents(prefix, events);
  await waitSettled(p.db, alreadyStored + events.length, 1_800_000, undefined, p.shards);

  const wanted = new Map<
    string,
    {
      need: number;
      version: string;
      got: Set<string>;
      lastSentAt: number;
      committedAt: number;
      done: (t: number) => void;
    }
  >();
  // the projector's commits, as hosts waiting for a decision would hear of them
  const listener = new Client({ connectionString: p.dbUrl });
  await listener.connect();
  listener.on('notification', (msg) => {
    if (msg.channel !== PROJECTION_CHANNEL) return;
    const now = Date.now();
    const hosts = notifiedHosts(msg.payload);
    for (const [hostId, w] of wanted)
      if (!w.committedAt && (hosts === null || hosts.includes(hostId))) w.committedAt = now;
  });
  await listener.query(`LISTEN ${PROJECTION_CHANNEL}`);
  const consumer = kafka('fleetcompat-bench-latency').consumer({
    groupId: uniqueName('bench-latency'),
    maxWaitTimeInMs: 20,
    minBytes: 1,
  });
  await consumer.connect();
  const producer = kafka('fleetcompat-bench-latency').producer();
  await producer.connect();
  const signer = new KafkaSigner(PIPELINE_TOKEN);
  const taken: number[] = [];
  const stages = {
    stored: [] as number[],
    projected: [] as number[],
    relayed: [] as number[],
    delivered: [] as number[],
  };
  let background: { stop: () => Promise<number> } | undefined;
  let sent = 0;
  try {
    await consumer.subscribe({ topic: prefix + Topics.placementDecisions, fromBeginning: false });
    let joined!: () => void;
    const isJoined = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const m of batch.messages) {
          const key = m.key?.toString() ?? '';
          const w = wanted.get(key);
          if (!w || !m.value) continue;
          const v = JSON.parse(m.value.toString()) as { type?: string; hypervisorVersion?: string; guestId?: string };
          if (v.type === 'PlacementDecided' && v.hypervisorVersion === w.version) {
            w.got.add(v.guestId!);
            w.lastSentAt = Math.max(w.lastSentAt, Number(m.timestamp));
          }
          if (w.got.size >= w.need) w.done(now);
        }
      },
    });
    await isJoined;
    await sleep(3000); // the fresh group resolves its start offset (latest) on its first fetch
    background = await startTrickle(prefix, trickle.templates, trickle.perSecond);
    let i = 0;
    for (let round = 0; taken.length < samples; round++) {
      const plan = round % 2 === 0;
      for (const hostId of hostIds) {
        if (taken.length >= samples) break;
        const event = plan
          ? envelope(
              `${size.prefix}-upgrade-${++i}`,
              'HypervisorUpgradePlanned',
              new Date().toISOString(),
              'orchestrator/bench',
              {
                hostId,
                fromVersion: '4.10.4',
                toVersion: '4.17.3',
                plannedRebootAt: '2026-12-01T02:00:00Z',
                waveId: `${size.prefix}-wave`,
              },
            )
          : envelope(
              `${size.prefix}-cancel-${++i}`,
              'HypervisorUpgradeCancelled',
              new Date().toISOString(),
              'orchestrator/bench',
              { hostId, reason: 'bench: next round' },
            );
        const version = plan ? '4.17.3' : '4.10.4';
        const arrived = new Promise<number>((resolve) =>
          wanted.set(hostId, {
            need: guestsPerHost,
            version,
            got: new Set(),
            lastSentAt: 0,
            committedAt: 0,
            done: resolve,
          }),
        );
        const topic = prefix + EventRouting[event.type].topic;
        const t0 = Date.now();
        await producer.send({
          topic,
          acks: -1,
          messages: [signer.sign(topic, { key: hostId, value: JSON.stringify(event) })],
        });
        let timer: NodeJS.Timeout | undefined;
        const t1 = await Promise.race([arrived, new Promise<number>((r) => (timer = setTimeout(() => r(NaN), 60000)))]);
        clearTimeout(timer);
        if (Number.isNaN(t1))
          throw new Error(
            `host ${hostId}, ${event.type}: only ${wanted.get(hostId)!.got.size} of ${guestsPerHost} decisions within 60 s`,
          );
        taken.push(t1 - t0);
        const { rows } = await p.db.query<{ at: string }>(
          `SELECT (extract(epoch FROM recorded_at) * 1000)::float8::text AS at FROM events WHERE event_id = $1`,
          [event.eventId],
        );
        const storedAt = Number(rows[0]?.at);
        const { lastSentAt: sentAt, committedAt } = wanted.get(hostId)!;
        if (Number.isFinite(storedAt) && sentAt > 0 && committedAt > 0) {
          stages.stored.push(storedAt - t0);
          stages.projected.push(committedAt - storedAt);
          stages.relayed.push(sentAt - committedAt);
          stages.delivered.push(t1 - sentAt);
        }
        wanted.delete(hostId);
        await sleep(50);
      }
    }
  } finally {
    if (background) sent = await background.stop();
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await listener.end().catch(() => undefined);
  }
  const sorted = [...taken].sort((a, b) => a - b);
  return {
    hosts: hostIds.length,
    guestsPerHost,
    count: taken.length,
    trickle: { perSecond: trickle.perSecond, sent },
    ms: {
      ...spread(taken),
      min: sorted[0],
      mean: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    },
    samples: taken,
    stages: {
      stored: spread(stages.stored),
      projected: spread(stages.projected),
      relayed: spread(stages.relayed),
      delivered: spread(stages.delivered),
    },
  };
}

/** p50, p95, p99 and max of some ms figures, rounded to 0.1 ms. */
function spread(values: readonly number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted[sorted.length - 1] ?? NaN),
  };
}
