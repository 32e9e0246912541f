// Graceful shutdown under load, with every role as its own process on the real broker and
// Postgres: SIGTERM the ingest and the projector in the middle of a load; both exit 0 after
// finishing and committing what they had in hand; restarted, they resume where they stopped:
// every event is stored exactly once and every guest's final decision is on the topic.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { Consumer } from 'kafkajs';
import { FleetEvent, InputTopics, Topics } from '@fleetcompat/contract';
import { generateFleet } from '@fleetcompat/sample-fleet';
import { AppProcess, eventually, freePort, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { brokers, createTopics, kafkaClient, uniqueName } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { metricSamples, metricSum, produceEvents, scrape } from './ops.support';

describe('graceful shutdown in the middle of a load (split roles)', () => {
  const prefix = `${uniqueName('e2e-ops-stop')}.`;
  const events: FleetEvent[] = [
    ...generateFleet({ hosts: 24, guests: 1800, kernels: 30, waves: 3, seed: 11, prefix: 'ops-stop' }),
  ];
  const guestCount = events.filter((e) => e.type === 'GuestObserved').length;
  let db: TestDatabase;
  let sql: Client;
  let env: Record<string, string>;
  const apps: AppProcess[] = [];
  let reader: Consumer;
  const published: { guestId: string; sequence: number; value: string }[] = [];

  const start = async (role: 'ingest' | 'projector' | 'relay') => {
    const app = await startApp(role, env).then((a) => a.ready());
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_ops_shutdown');
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    await createTopics(
      Object.values(Topics).map((t) => `${prefix}${t}`),
      3,
    );
    env = {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: uniqueName('e2e-ops-ingest'),
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
      // Small batches: many store calls and commits, so that the SIGTERM lands in the middle.
      INGEST_BATCH_SIZE: '10',
      PROJECTOR_BATCH_SIZE: '100',
      LOG_FORMAT: 'json',
    };
    reader = kafkaClient().consumer({ groupId: uniqueName('e2e-ops-reader'), maxWaitTimeInMs: 100 });
    await reader.connect();
    await reader.subscribe({ topic: `${prefix}${Topics.placementDecisions}`, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        const v = JSON.parse(value);
        published.push({ guestId: v.guestId, sequence: v.sequence, value });
      },
    });
  });

  afterAll(async () => {
    await reader?.disconnect().catch(() => undefined);
    await Promise.all(apps.map((a) => a.stop('SIGTERM')));
    if (process.env.E2E_LOGS)
      for (const a of apps) console.error(`${a.role} ${JSON.stringify(a.exit)}:\n${a.log().slice(-3000)}`);
    await sql?.end().catch(() => undefined);
    await db?.drop();
  });

  it('loses nothing, exits 0, and the restarted processes resume where they stopped', async () => {
    const ingest = await start('ingest');
    const projector = await start('projector');
    await start('relay');

    const firstPart = events.slice(0, Math.floor(events.length * 0.7));
    await produceEvents(kafkaClient(), prefix, firstPart);
    // In the middle: the ingest has stored some of the load, not all of it.
    const storedBefore = await eventually('the ingest to store part of the load', async () => {
      const n = metricSum(await scrape(ingest.url), 'fleetcompat_events_ingested_total', { outcome: 'stored' });
      return n >= 100 ? n : undefined;
    });
    await Promise.all([ingest.stop('SIGTERM', 30000), projector.stop('SIGTERM', 30000)]);
    for (const app of [ingest, projector]) {
      expect({ role: app.role, exit: app.exit }).toEqual({ role: app.role, exit: { code: 0, signal: null } });
      expect(app.log()).toMatch(/shut down in \d+ ms: exiting 0/);
    }
    const storedAtStop = Number((await sql.query('SELECT count(*) AS n FROM events')).rows[0].n);
    expect(storedAtStop).toBeGreaterThanOrEqual(storedBefore);

    // The rest of the load arrives while they are down.
    await produceEvents(kafkaClient(), prefix, events.slice(firstPart.length));
    const ingest2 = await start('ingest');
    const projector2 = await start('projector');

    // Every event stored exactly once.
    await eventually(
      'every event in the store',
      async () => Number((await sql.query('SELECT count(*) AS n FROM events')).rows[0].n) === events.length,
      120000,
    );
    const { rows } = await sql.query(
      'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM events WHERE event_id = ANY($1::text[])',
      [events.map((e) => e.eventId)],
    );
    expect(rows[0]).toEqual({ n: events.length, ids: events.length });

    // The restarted ingest resumed at the committed offsets: what the first one stored was committed, nothing came again.
    const text = await eventually(
      'consumer lag back to zero',
      async () => {
        const t = await scrape(ingest2.url);
        const lag = metricSamples(t, 'fleetcompat_kafka_consumer_lag');
        return lag.length === InputTopics.length * 3 && lag.every((s) => s.value === 0) ? t : undefined;
      },
      60000,
    );
    expect(metricSum(text, 'fleetcompat_events_ingested_total', { outcome: 'duplicate' })).toBe(0);
    expect(metricSum(text, 'fleetcompat_events_ingested_total', { outcome: 'stored' })).toBe(
      events.length - storedAtStop,
    );

    // The projector caught up, and every guest's final decision is on the topic.
    await eventually(
      'the projector to catch up',
      async () =>
        metricSum(await scrape(projector2.url), 'fleetcompat_projector_lag_events') === 0 &&
        metricSum(await scrape(projector2.url), 'fleetcompat_projector_events_total') > 0,
      120000,
    );
    const finals = (
      await sql.query(
        `SELECT DISTINCT ON (guest_id) guest_id, sequence, message FROM projection.decisions ORDER BY guest_id, sequence DESC`,
      )
    ).rows as { guest_id: string; sequence: number; message: unknown }[];
    expect(finals.length).toBe(guestCount);
    await eventually(
      'every final decision on the topic',
      async () => {
        const last = new Map<string, { sequence: number; value: string }>();
        for (const p of published) if ((last.get(p.guestId)?.sequence ?? 0) < p.sequence) last.set(p.guestId, p);
        return finals.every(
          (f) =>
            last.get(f.guest_id)?.sequence === f.sequence &&
            JSON.stringify(JSON.parse(last.get(f.guest_id)!.value)) === JSON.stringify(f.message),
        );
      },
      120000,
    );
  });
});

// The embedded default: the package's own signal hook would stop Postgres at once, under the
// projector's feet. Our shutdown stops it last, after the projector's batch and the pool.
describe('graceful shutdown of the all-in-one with embedded Postgres', () => {
  let dataDir: string;
  let app: AppProcess | undefined;
  afterAll(async () => {
    await app?.stop('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes its work, stops Postgres last, exits 0, and keeps the data for the next start', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'fc-ops-embedded-'));
    const env = {
      DATABASE_URL: '',
      KAFKA_BROKERS: '',
      EMBEDDED_PG_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      LOG_FORMAT: 'json',
    };
    const first = await startApp('all-in-one', env, ['--sample-fleet']).then((a) => a.ready(120000));
    app = first;
    await first.stop('SIGTERM', 30000);
    if (first.exit?.code !== 0) console.error(first.log().slice(-6000));
    expect(first.exit).toEqual({ code: 0, signal: null });
    const steps = first
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { context?: string; msg: string })
      .filter((l) => l.context === 'Shutdown' || l.context === 'Database')
      .map((l) => l.msg.replace(/ in \d+ ms/, ''));
    const order = (m: string) => steps.findIndex((s) => s.startsWith(m));
    expect(order('projector done')).toBeGreaterThan(order('SIGTERM: shutting down'));
    expect(order('embedded Postgres stopped')).toBeGreaterThan(order('projector done'));
    expect(order('shut down: exiting 0')).toBeGreaterThan(order('embedded Postgres stopped'));
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false); // the server is down

    // Restarted on the same folder: everything is there (the sample fleet again is all duplicates).
    const second = await startApp('all-in-one', env, ['--sample-fleet']).then((a) => a.ready(120000));
    app = second;
    await eventually('the sample fleet loaded again', async () =>
      /sample fleet: 47 events \(0 stored, 47 already there\)/.test(second.log()),
    );
    expect(
      metricSum(await scrape(second.url), 'fleetcompat_events_ingested_total', {
        channel: 'http',
        outcome: 'duplicate',
      }),
    ).toBe(47);
    await second.stop('SIGTERM', 30000);
    expect(second.exit).toEqual({ code: 0, signal: null });
  });
});
