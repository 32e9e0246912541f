// Readiness and metrics of a running process, against a broker and a Postgres of the test's
// own (never the shared ones, which other tests use): /health/ready flips to 503 when Postgres
// or the broker goes away and back to 200 when it returns; /metrics shows the counters moving
// under a small load and the lags returning to zero. Health and metrics need no credentials.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createTopicsWithLeaders } from '@fleetcompat/kafka';
import { InputTopics, Topics } from '@fleetcompat/contract';
import { EmbeddedPostgres, startEmbeddedPostgres } from '@fleetcompat/platform';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { AppProcess, eventually, freePort, http, ROOT, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { uniqueName } from '../support/kafka';
import { freeBrokerPort, metricSamples, metricSum, OwnBroker, produceEvents, scrape } from './ops.support';

describe('health and metrics (own broker, own Postgres)', () => {
  const prefix = `${uniqueName('e2e-ops-health')}.`;
  let broker: OwnBroker;
  let pg: EmbeddedPostgres;
  let pgDir: string;
  let pgPort: number;
  let kafka: Kafka;
  let app: AppProcess;

  const startPostgres = async () =>
    (pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, database: 'fleetcompat', fast: true }));
  const ready = async () => http(`${app.url}/health/ready`);

  beforeAll(async () => {
    broker = new OwnBroker(await freeBrokerPort(19192));
    pgDir = mkdtempSync(path.join(tmpdir(), 'fc-ops-health-pg-'));
    pgPort = await freePort();
    await Promise.all([broker.start(), startPostgres()]);
    kafka = new Kafka({
      clientId: 'fc-ops-health',
      brokers: [broker.address],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 200 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(
      admin,
      Object.values(Topics).map((t) => ({ topic: `${prefix}${t}`, numPartitions: 3, replicationFactor: 1 })),
    );
    await admin.disconnect();
    app = await startApp('all-in-one', {
      DATABASE_URL: pg.url,
      KAFKA_BROKERS: broker.address,
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: uniqueName('e2e-ops-health'),
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
      HEALTH_CHECK_TIMEOUT_MS: '1500',
      LOG_FORMAT: 'json',
    }).then((a) => a.ready());
  });

  afterAll(async () => {
    await app?.stop('SIGTERM', 30000);
    if (process.env.E2E_LOGS) console.error(`all-in-one ${JSON.stringify(app?.exit)}:\n${app?.log().slice(-5000)}`);
    await broker?.stop().catch((e) => console.error(String(e)));
    await pg?.stop().catch(() => undefined);
    if (pgDir) rmSync(pgDir, { recursive: true, force: true });
    if (broker) rmSync(path.join(ROOT, '.cache/kafka', `data-${broker.port}`), { recursive: true, force: true });
  });

  it('is live and ready, without credentials, with Postgres, Kafka and the projector up', async () => {
    const live = await http(`${app.url}/health/live`);
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
    const res = await eventually('ready', async () => ((await ready()).status === 200 ? ready() : undefined));
    expect(res.body).toMatchObject({
      status: 'ok',
      info: {
        postgres: { status: 'up' },
        kafka: { status: 'up' },
        projector: { status: 'up' },
        process: { status: 'up' },
      },
    });
  });

  it('shows the counters moving under a small load and the lags returning to zero', async () => {
    const events = sampleFleet();
    const before = await scrape(app.url);
    expect(metricSum(before, 'fleetcompat_events_ingested_total')).toBe(0);
    await produceEvents(kafka, prefix, events);
    const text = await eventually(
      'the load ingested, projected and published',
      async () => {
        const t = await scrape(app.url);
        const lags = metricSamples(t, 'fleetcompat_kafka_consumer_lag');
        const done =
          metricSum(t, 'fleetcompat_events_ingested_total', { channel: 'kafka', outcome: 'stored' }) ===
            events.length &&
          lags.length === InputTopics.length * 3 &&
          lags.every((l) => l.value === 0) &&
          metricSum(t, 'fleetcompat_projector_lag_events') === 0 &&
          metricSum(t, 'fleetcompat_projector_events_total') === events.length &&
          metricSum(t, 'fleetcompat_outbox_backlog') === 0 &&
          metricSum(t, 'fleetcompat_decisions_published_total') ===
            metricSum(t, 'fleetcompat_projector_decisions_total');
        return done ? t : undefined;
      },
      60000,
    );
    expect(metricSum(text, 'fleetcompat_events_ingested_total', { type: 'GuestObserved', outcome: 'stored' })).toBe(
      events.filter((e) => e.type === 'GuestObserved').length,
    );
    expect(metricSum(text, 'fleetcompat_decisions_published_total', { action: 'blocked' })).toBeGreaterThan(0);
    expect(metricSum(text, 'fleetcompat_outbox_oldest_age_seconds')).toBe(0);
    expect(metricSum(text, 'fleetcompat_kafka_partition_end_offset')).toBe(events.length);
    expect(metricSum(text, 'fleetcompat_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(
      metricSum(text, 'fleetcompat_http_request_duration_seconds_count', { route: '/health/ready', status: '200' }),
    ).toBeGreaterThan(0);

    // HTTP latency by route pattern: the API's routes (which need a token, unlike health and metrics) and unknown paths.
    expect((await http(`${app.url}/v1/guests/some-guest`)).status).toBe(401);
    expect((await http(`${app.url}/no/such/path`)).status).toBe(404);
    const latency = await scrape(app.url);
    expect(
      metricSum(latency, 'fleetcompat_http_request_duration_seconds_count', {
        route: '/v1/guests/:guestId',
        status: '401',
      }),
    ).toBe(1);
    expect(
      metricSum(latency, 'fleetcompat_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBe(1);

    // The same load again: every event a duplicate, nothing new decided.
    await produceEvents(kafka, prefix, events);
    await eventually(
      'the repeat counted as duplicates',
      async () =>
        metricSum(await scrape(app.url), 'fleetcompat_events_ingested_total', { outcome: 'duplicate' }) ===
        events.length,
      60000,
    );
    const after = await eventually('the consumer lag back to zero after the repeat', async () => {
      const t = await scrape(app.url);
      return metricSamples(t, 'fleetcompat_kafka_consumer_lag').every((l) => l.value === 0) ? t : undefined;
    });
    expect(metricSum(after, 'fleetcompat_events_ingested_total', { outcome: 'stored' })).toBe(events.length);
    expect(metricSum(after, 'fleetcompat_kafka_partition_end_offset')).toBe(2 * events.length);
  });

  it('is not ready while Postgres is away, and ready again when it returns', async () => {
    await pg.stop();
    const down = await eventually('not ready without Postgres', async () => {
      const r = await ready();
      return r.status === 503 ? r : undefined;
    });
    expect(down.body).toMatchObject({ status: 'error', error: { postgres: { status: 'down' } } });
    expect((await http(`${app.url}/health/live`)).status).toBe(200);
    await startPostgres();
    const up = await eventually(
      'ready again with Postgres',
      async () => {
        const r = await ready();
        return r.status === 200 ? r : undefined;
      },
      60000,
    );
    expect(up.body.info.postgres.status).toBe('up');
  });

  it('is not ready while the broker is away, and ready again when it returns', async () => {
    await broker.stop();
    const down = await eventually('not ready without the broker', async () => {
      const r = await ready();
      return r.status === 503 ? r : undefined;
    });
    expect(down.body).toMatchObject({ status: 'error', error: { kafka: { status: 'down' } } });
    expect(down.body.info.postgres.status).toBe('up');
    expect((await http(`${app.url}/health/live`)).status).toBe(200);
    await broker.start();
    await eventually('ready again with the broker', async () => (await ready()).status === 200, 90000);
    // The consumer is back too: a new event is stored and decided.
    const before = await scrape(app.url);
    const stored = metricSum(before, 'fleetcompat_events_ingested_total', { outcome: 'stored' });
    const published = metricSum(before, 'fleetcompat_decisions_published_total');
    const guest = sampleFleet().find((e) => e.type === 'GuestObserved')!;
    await produceEvents(kafka, prefix, [
      { ...guest, eventId: 'after-broker-restart', data: { ...guest.data, guestId: 'after-broker-restart' } },
    ]);
    await eventually(
      'the event sent after the restart stored',
      async () =>
        metricSum(await scrape(app.url), 'fleetcompat_events_ingested_total', { outcome: 'stored' }) === stored + 1,
      90000,
    );
    await eventually(
      'its decision published',
      async () => metricSum(await scrape(app.url), 'fleetcompat_decisions_published_total') > published,
      90000,
    );
  });

  it('stops on SIGTERM with exit code 0', async () => {
    await app.stop('SIGTERM', 30000);
    if (app.exit?.code !== 0)
      console.error(`all-in-one exited ${JSON.stringify(app.exit)}:\n${app.log().slice(-6000)}`);
    expect(app.exit).toEqual({ code: 0, signal: null });
    expect(app.log()).toMatch(/shut down in \d+ ms: exiting 0/);
  });
});
