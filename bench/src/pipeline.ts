// Ingest (events/s from the input topics to decisions on the placement topic, beside a bare
// kafkajs consumer of the same messages) and decision latency, on the built apps as processes.
import { randomBytes } from 'node:crypto';
import { KafkaSigner } from '@fleetcompat/auth';
import { EventRouting, FleetEvent, InputTopics, Topics } from '@fleetcompat/contract';
import { envelope, FleetSize, generateFleet } from '@fleetcompat/sample-fleet';
import { Client } from 'pg';
import { App, brokers, createDatabase, kafka, log, percentile, pgClient, sleep, startApp, uniqueName } from './support';

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
    await admin.createTopics({ waitForLeaders: true, topics: Object.values(Topics).map((t) => ({ topic: prefix + t, numPartitions: 3, replicationFactor: 1 })) });
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
export async function bareConsumer(prefix: string, expected: number): Promise<{ eventsPerSec: number; seconds: number }> {
  const consumer = kafka('fleetcompat-bench-bare').consumer({ groupId: uniqueName('bench-bare'), maxWaitTimeInMs: 100 });
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

export async function pipelineState(db: Client): Promise<PipelineState> {
  const { rows } = await db.query<PipelineState>(`
    SELECT (SELECT count(*) FROM events)::int AS events,
           (SELECT count(*) FROM outbox)::int AS outbox,
           COALESCE((SELECT (c.transaction_id, c.global_position) >= (h.transaction_id, h.global_position)
                       FROM processor_checkpoints c,
                            (SELECT transaction_id, global_position FROM events
                              WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                              ORDER BY transaction_id DESC, global_position DESC LIMIT 1) h
                      WHERE c.processor = 'projector'), false) AS projected`);
  return rows[0];
}

/** Polls until the store holds `expected` events, all projected, and the outbox is empty (published). */
export async function waitSettled(db: Client, expected: number, timeoutMs: number, onStage?: (stage: 'stored' | 'projected' | 'published', at: number) => void) {
  const until = Date.now() + timeoutMs;
  let stored = false;
  let projected = false;
  for (;;) {
    const s = await pipelineState(db).catch(() => null);
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
    if (now > until) throw new Error(`pipeline not settled after ${timeoutMs} ms: ${JSON.stringify(s)} (expected ${expected} events)`);
    await sleep(100);
  }
}

export interface Pipeline {
  dbUrl: string;
  db: Client;
  apps: App[];
  env: Record<string, string>;
}

/** Starts projector and relay, then the ingest on a fresh database and consumer group. */
export async function startPipeline(prefix: string): Promise<Pipeline> {
  const dbUrl = await createDatabase('pipeline');
  const env = { DATABASE_URL: dbUrl, KAFKA_BROKERS: brokers().join(','), FLEETCOMPAT_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: uniqueName('bench-ingest'), LOG_LEVEL: 'log', FLEETCOMPAT_BOOTSTRAP_TOKEN: PIPELINE_TOKEN };
  // The projector first: it runs the migrations; the others wait on the same advisory lock anyway.
  const projector = await (await startApp('projector', env)).ready();
  const relay = await (await startApp('relay', env)).ready();
  const db = await pgClient(dbUrl);
  const ingest = await startApp('ingest', env);
  return { dbUrl, db, apps: [ingest, projector, relay], env };
}

export interface IngestRun {
  events: number;
  decisions: number;
  /** events / (last decision published - first event stored) */
  eventsPerSec: number;
  seconds: { stored: number; projected: number; published: number };
}

/** Measures one pipeline run over the whole fleet: from the first stored event to the outbox drained. */
export async function measurePipeline(p: Pipeline, expected: number): Promise<IngestRun> {
  const stages: Record<string, number> = {};
  await waitSettled(p.db, expected, 3_600_000, (stage, at) => {
    stages[stage] = at;
    log(`  pipeline ${stage} at ${new Date(at).toISOString().slice(11, 23)}`);
  });
  const { rows } = await p.db.query<{ t0: number | null }>(`SELECT (extract(epoch FROM min(recorded_at)) * 1000)::float8 AS t0 FROM events`);
  const t0 = Number(rows[0].t0);
  const decisions = Number((await p.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM projection.decisions`)).rows[0].n);
  const sec = (t: number) => Math.round((t - t0) / 10) / 100;
  return {
    events: expected,
    decisions,
    eventsPerSec: Math.round(expected / Math.max(0.001, (stages.published - t0) / 1000)),
    seconds: { stored: sec(stages.stored), projected: sec(stages.projected), published: sec(stages.published) },
  };
}

// ---------------------------------------------------------------------------------------------
// Decision latency

export interface LatencyResult {
  hosts: number;
  guestsPerHost: number;
  ms: { p50: number; p99: number; max: number; min: number; mean: number };
  samples: number[];
}

/**
 * Loads `hosts` extra hosts of `guestsPerHost` guests each on Xen 4.10.4 and lets the pipeline
 * settle; then, one host at a time, publishes HypervisorUpgradePlanned (to 4.17.3) and times
 * until the last of the host's decisions for 4.17.3 is read from the placement topic.
 */
export async function measureLatency(p: Pipeline, prefix: string, alreadyStored: number, hosts: number, guestsPerHost: number): Promise<LatencyResult> {
  const size: FleetSize = { hosts, guests: hosts * guestsPerHost, kernels: 50, waves: 0, prefix: uniqueName('lat').replace(/[^a-z0-9-]/gi, '') };
  const events = [...generateFleet(size)].map((e) => (e.type === 'HostRegistered' ? ({ ...e, data: { ...e.data, hypervisor: { name: 'xen' as const, version: '4.10.4' } } }) : e));
  const hostIds = events.filter((e) => e.type === 'HostRegistered').map((e) => (e.data as { hostId: string }).hostId);
  await produceEvents(prefix, events);
  await waitSettled(p.db, alreadyStored + events.length, 1_800_000);

  const wanted = new Map<string, { need: number; got: Set<string>; done: (t: number) => void }>();
  const consumer = kafka('fleetcompat-bench-latency').consumer({ groupId: uniqueName('bench-latency'), maxWaitTimeInMs: 20, minBytes: 1 });
  await consumer.connect();
  const producer = kafka('fleetcompat-bench-latency').producer();
  await producer.connect();
  const samples: number[] = [];
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
          if (v.type === 'PlacementDecided' && v.hypervisorVersion === '4.17.3') w.got.add(v.guestId!);
          if (w.got.size >= w.need) w.done(now);
        }
      },
    });
    await isJoined;
    await sleep(3000); // the fresh group resolves its start offset (latest) on its first fetch
    let i = 0;
    for (const hostId of hostIds) {
      const event = envelope(`${size.prefix}-upgrade-${++i}`, 'HypervisorUpgradePlanned', new Date().toISOString(), 'orchestrator/bench', {
        hostId,
        fromVersion: '4.10.4',
        toVersion: '4.17.3',
        plannedRebootAt: '2026-12-01T02:00:00Z',
        waveId: `${size.prefix}-wave`,
      });
      const arrived = new Promise<number>((resolve) => wanted.set(hostId, { need: guestsPerHost, got: new Set(), done: resolve }));
      const t0 = Date.now();
      await producer.send({ topic: prefix + Topics.hypervisorUpgrades, acks: -1, messages: [new KafkaSigner(PIPELINE_TOKEN).sign(prefix + Topics.hypervisorUpgrades, { key: hostId, value: JSON.stringify(event) })] });
      const t1 = await Promise.race([arrived, sleep(60000).then(() => NaN)]);
      if (Number.isNaN(t1)) throw new Error(`host ${hostId}: only ${wanted.get(hostId)!.got.size} of ${guestsPerHost} decisions within 60 s`);
      samples.push(t1 - t0);
      wanted.delete(hostId);
      await sleep(200);
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    hosts: samples.length,
    guestsPerHost,
    ms: {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1],
      min: sorted[0],
      mean: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    },
    samples,
  };
}
