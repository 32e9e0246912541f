// Each Kafka role (ingest, relay, all-in-one) started against a broker that has none of its
// topics (a fresh FLEETCOMPAT_TOPIC_PREFIX: the first run on a new broker, or a new prefix).
// The broker auto-creates topics on metadata requests (as the test broker does): the old
// consumer's subscribe raced that creation and the process died of an unhandled
// KafkaJSProtocolError (UNKNOWN_TOPIC_OR_PARTITION). Now the process checks its topics first:
//   - KAFKA_CREATE_TOPICS off (the default with DATABASE_URL): one line names the missing
//     topics, readiness is 503 with them, nothing is created behind the operator's back; once
//     they exist, ready turns 200 and the role works;
//   - KAFKA_CREATE_TOPICS=true: it creates them (KAFKA_TOPIC_PARTITIONS) and gets ready;
//   - the embedded default (all-in-one without DATABASE_URL, as `npm start -- --with-kafka
//     --sample-fleet` runs it): creates them by default and publishes the sample's decisions.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { EventRouting, InputTopics, Topics } from '@fleetcompat/contract';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { AppProcess, eventually, freePort, http, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { brokers, consumeAll, createTopics, kafkaClient, produce, uniqueName } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';

type KafkaRole = 'ingest' | 'relay' | 'all-in-one';
const ROLES: KafkaRole[] = ['ingest', 'relay', 'all-in-one'];

/** The topics a role needs, in the order the service names them. */
function needed(role: KafkaRole, prefix: string): string[] {
  const ingest = [...InputTopics, Topics.deadLetters];
  const relay = [Topics.placementDecisions];
  const names = role === 'ingest' ? ingest : role === 'relay' ? relay : [...ingest, ...relay];
  return names.map((t) => prefix + t);
}

async function existingTopics(): Promise<Set<string>> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    return new Set(await admin.listTopics());
  } finally {
    await admin.disconnect();
  }
}

async function partitionsOf(topics: string[]): Promise<Record<string, number>> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics });
    return Object.fromEntries(md.topics.map((t) => [t.name, t.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}

async function storedEvents(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query('select count(*)::int as n from events')).rows[0].n);
  } finally {
    await c.end();
  }
}

const ready = async (app: AppProcess) => http(`${app.url}/health/ready`);

/** Nothing died or was left unhandled: the process runs and logged no unhandled error. */
function expectNoUnhandled(app: AppProcess): void {
  expect(app.exit).toBeNull();
  expect(app.log()).not.toMatch(
    /unhandled rejection|uncaught exception|failed to start|KafkaJSProtocolError: This server does not host/,
  );
}

describe('Kafka roles on a broker without their topics (fresh prefix)', () => {
  const apps: AppProcess[] = [];
  const dbs: TestDatabase[] = [];
  const dbOf = new Map<AppProcess, string>();
  let embeddedDir: string | undefined;

  const start = async (
    role: KafkaRole,
    prefix: string,
    env: Record<string, string | undefined> = {},
    args: string[] = [],
  ) => {
    const base: Record<string, string | undefined> = {
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: uniqueName(`e2e-fresh-${role}`),
      KAFKA_CREATE_TOPICS: undefined,
      KAFKA_TOPIC_PARTITIONS: undefined,
      KAFKA_TOPIC_REPLICATION_FACTOR: undefined,
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
      LOG_FORMAT: 'json',
    };
    if (!('DATABASE_URL' in env)) {
      const db = await createTestDatabase(`e2e_fresh_${role}`);
      dbs.push(db);
      base.DATABASE_URL = db.url;
    }
    const app = await startApp(role, { ...base, ...env }, args);
    apps.push(app);
    if (base.DATABASE_URL) dbOf.set(app, base.DATABASE_URL);
    return app.ready(120000);
  };

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop('SIGTERM', 30000).catch(() => undefined)));
    if (process.env.E2E_LOGS)
      for (const a of apps) console.error(`${a.role} ${JSON.stringify(a.exit)}:\n${a.log().slice(-4000)}`);
    await Promise.all(dbs.map((d) => d.drop().catch(() => undefined)));
    if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
  });

  it('without KAFKA_CREATE_TOPICS: each role names the missing topics once, is not ready, creates nothing, and is ready once they exist', async () => {
    const started = await Promise.all(
      ROLES.map(async (role) => {
        const prefix = `${uniqueName(`e2e-fresh-wait-${role}`)}.`;
        const app = await start(role, prefix);
        return { role, prefix, app, topics: needed(role, prefix) };
      }),
    );
    for (const { app, topics } of started) {
      const r = await eventually(`${app.role} reports its missing topics`, async () => {
        const res = await ready(app);
        return res.status === 503 && res.body.error?.topics?.missing?.length ? res : undefined;
      });
      expect(r.body.error.topics.missing).toEqual(topics);
      expect(r.body.info.postgres.status).toBe('up');
      expect(r.body.info.kafka.status).toBe('up');
    }
    // A few checks later: still waiting, alive, the missing topics said once, nothing created.
    await new Promise((r) => setTimeout(r, 5000));
    const existing = await existingTopics();
    for (const { app, topics } of started) {
      expectNoUnhandled(app);
      const lines = app
        .log()
        .split('\n')
        .filter((l) => l.includes('Kafka topics missing:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`Kafka topics missing: ${topics.join(', ')}`);
      expect(lines[0]).toContain('KAFKA_CREATE_TOPICS=true');
      expect(topics.filter((t) => existing.has(t))).toEqual([]);
      expect((await ready(app)).status).toBe(503);
    }

    // The operator creates them: each role turns ready and does its work.
    await createTopics(
      started.flatMap((s) => s.topics),
      3,
    );
    for (const { app } of started) {
      await eventually(`${app.role} ready once its topics exist`, async () => (await ready(app)).status === 200, 60000);
      expectNoUnhandled(app);
    }
    for (const { role, prefix, app } of started) {
      if (role === 'relay') continue;
      const event = sampleFleet().find((e) => e.type === 'HostRegistered')!;
      const route = EventRouting[event.type];
      await produce(prefix + route.topic, [{ key: route.key(event.data), value: JSON.stringify(event) }], {
        token: TEST_ADMIN_TOKEN,
      });
      await eventually(
        `${role} stores an event from its topic`,
        async () => (await storedEvents(dbOf.get(app)!)) === 1,
        60000,
      );
    }
  });

  it('with KAFKA_CREATE_TOPICS=true: each role creates its topics (KAFKA_TOPIC_PARTITIONS) and gets ready', async () => {
    const started = await Promise.all(
      ROLES.map(async (role) => {
        const prefix = `${uniqueName(`e2e-fresh-create-${role}`)}.`;
        const app = await start(role, prefix, { KAFKA_CREATE_TOPICS: 'true', KAFKA_TOPIC_PARTITIONS: '2' });
        return { role, prefix, app, topics: needed(role, prefix) };
      }),
    );
    for (const { app, topics } of started) {
      await eventually(`${app.role} ready`, async () => (await ready(app)).status === 200, 60000);
      expectNoUnhandled(app);
      expect(app.log()).toContain(`creating the Kafka topics ${topics.join(', ')} (partitions: 2`);
      expect(await partitionsOf(topics)).toEqual(Object.fromEntries(topics.map((t) => [t, 2])));
    }
  });

  it('the embedded default (all-in-one without DATABASE_URL) creates its topics by default and publishes the sample fleet', async () => {
    embeddedDir = mkdtempSync(path.join(tmpdir(), 'fc-fresh-topics-pg-'));
    chmodSync(embeddedDir, 0o755); // as root the server runs as "postgres": the data stays here (root-0700.e2e tests the other case)
    const prefix = `${uniqueName('e2e-fresh-embedded')}.`;
    const app = await start(
      'all-in-one',
      prefix,
      {
        DATABASE_URL: '',
        EMBEDDED_PG_DATA_DIR: path.join(embeddedDir, 'data'),
        EMBEDDED_PG_PORT: String(await freePort()),
      },
      ['--sample-fleet'],
    );
    await eventually('ready', async () => (await ready(app)).status === 200, 60000);
    expectNoUnhandled(app);
    expect(app.log()).toContain(`creating the Kafka topics ${needed('all-in-one', prefix).join(', ')}`);
    const decisions = await consumeAll(prefix + Topics.placementDecisions, {
      until: (m) => m.length > 0,
      timeoutMs: 60000,
    });
    expect(decisions.length).toBeGreaterThan(0);
    expect(JSON.parse(decisions[0].value!)).toMatchObject({ guestId: expect.any(String), hostId: expect.any(String) });
  });
});
