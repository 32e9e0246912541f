import 'reflect-metadata';
import { DynamicModule, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { EVENT_SINK, EventSink } from '@fleetcompat/contract';
import { HttpApiModule, jsonBodyWithProblems, serveOpenApi, serveUi, PlacementsCache } from '@fleetcompat/http-api';
import { newSecret, TokenCache, TokenStore, watchTokenChanges } from '@fleetcompat/auth';
import { backoffDelay, KafkaIngestServer, KafkaProbe, KafkaTopicGate } from '@fleetcompat/kafka';
import { PostgresOutbox } from '@fleetcompat/projections';
import { ConfigError, loadSettings, Settings } from '@fleetcompat/platform';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { DatabaseModule, MetricsModule } from './database.module';
import { countDeadLetters } from './instrumentation';
import {
  createIngestServer,
  createTopicGate,
  ingestAuthenticator,
  ingestTopics,
  kafkaOptionsFrom,
} from './kafka-wiring';
import { createPinoLogger, httpRequestLog, loggerModule } from './logging';
import { Metrics } from './metrics';
import { Operability } from './operability';
import { ProjectorModule, ProjectorService } from './projector.module';
import { RelayModule, RelayService } from './relay.module';
import { bounded, GracefulShutdown, ShutdownStep } from './shutdown';
import { startup } from './startup';

/** The process roles. all-in-one composes every other role in one process (the embedded default). */
export type Role = 'all-in-one' | 'api' | 'ingest' | 'projector' | 'relay';

const VERSION = '0.1.0';

/** Which parts a role runs, given the settings. */
export function composition(role: Role, settings: Settings) {
  const kafka = Boolean(settings.KAFKA_BROKERS);
  return {
    httpApi: role === 'all-in-one' || role === 'api',
    projector: role === 'all-in-one' || role === 'projector',
    relay: (role === 'all-in-one' && kafka) || role === 'relay',
    ingest: (role === 'all-in-one' && kafka) || role === 'ingest',
  };
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

@Module({})
class RootModule {}

/**
 * Last-resort handlers: an error nothing handled is a bug, but not a reason to die mid-work.
 * An unhandled rejection is logged (with its stack) and the process goes on; an uncaught
 * exception is logged and ends the process through its graceful shutdown (exit 1), since
 * the code that threw may have left its state half-changed.
 */
function installLastResortHandlers(log: Logger, shutdown: () => GracefulShutdown | undefined): void {
  process.on('unhandledRejection', (reason) => {
    log.error(
      `unhandled rejection (a bug; the process goes on): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    );
  });
  process.on('uncaughtException', (err) => {
    log.error(`uncaught exception (a bug): ${err?.stack ?? String(err)}; shutting down`);
    const s = shutdown();
    if (s) void s.shutdown('uncaught exception', 1);
    else process.exit(1);
  });
}

/** Starts a role; used by every apps/<role>/src/main.ts. A start that fails is logged in one line and exits 1. */
export async function bootstrap(
  role: Role,
  argv: readonly string[] = process.argv.slice(2),
): Promise<NestExpressApplication> {
  try {
    return await start(role, argv);
  } catch (e) {
    process.stderr.write(`${role} failed to start: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  }
}

async function start(role: Role, argv: readonly string[]): Promise<NestExpressApplication> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  const parts = composition(role, settings);
  if ((parts.ingest || parts.relay) && !settings.KAFKA_BROKERS)
    fail(`configuration error: KAFKA_BROKERS is required for the ${role} role`);
  if (role !== 'all-in-one' && !settings.DATABASE_URL)
    fail(
      `configuration error: DATABASE_URL is required for the ${role} role (only all-in-one starts embedded Postgres)`,
    );
  const loadSample = argv.includes('--sample-fleet');
  if (loadSample && !parts.httpApi) fail('--sample-fleet needs a role that stores events (all-in-one or api)');
  // The embedded default without a configured token: a fresh admin token for this run, shown once at start.
  const generatedToken =
    role === 'all-in-one' && !settings.DATABASE_URL && !settings.FLEETCOMPAT_BOOTSTRAP_TOKEN ? newSecret() : undefined;

  const pinoLogger = createPinoLogger(settings, role);
  // A start that hangs (a server that takes the connection and never answers, a lock never
  // released) must not leave a process that is neither up nor gone: past the limit it exits 1,
  // saying where it was, and is started again.
  startup.arm(settings.STARTUP_TIMEOUT_SECONDS * 1000, (message) => {
    const line = `${role}: ${message}; exiting to be started again (STARTUP_TIMEOUT_SECONDS)`;
    pinoLogger.fatal(line);
    process.stderr.write(`${line}\n`); // also unbuffered: the exit follows at once
    process.exit(1);
  });
  const metrics = new Metrics(role);
  const root: DynamicModule = {
    module: RootModule,
    imports: [
      loggerModule(pinoLogger),
      MetricsModule.forRoot(metrics),
      TerminusModule.forRoot({ logger: false }),
      DatabaseModule.forRoot(settings),
      ...(parts.httpApi
        ? [
            HttpApiModule.forRoot({
              bootstrapToken: settings.FLEETCOMPAT_BOOTSTRAP_TOKEN ?? generatedToken,
              whatIfRateLimit: settings.WHAT_IF_RATE_LIMIT,
              whatIfRateWindowSeconds: settings.WHAT_IF_RATE_WINDOW_SECONDS,
              placementsCacheBytes: settings.PLACEMENTS_CACHE_MB * 1024 * 1024,
              maxFutureSkewMs: settings.EVENT_MAX_FUTURE_SKEW_SECONDS * 1000,
              eventsRateLimit: settings.EVENTS_RATE_LIMIT,
              eventsRateWindowSeconds: settings.EVENTS_RATE_WINDOW_SECONDS,
            }),
          ]
        : []),
      ...(parts.projector ? [ProjectorModule] : []),
      ...(parts.relay ? [RelayModule] : []),
    ],
  };
  const log = new Logger(`fleetcompat:${role}`);
  // eslint-disable-next-line prefer-const -- set below, once the app exists; the handlers installed first read it
  let shutdownRef: GracefulShutdown | undefined;
  installLastResortHandlers(log, () => shutdownRef);
  let app: NestExpressApplication;
  startup.at('initialising the modules');
  try {
    app = await NestFactory.create<NestExpressApplication>(root, {
      bufferLogs: true,
      bodyParser: false,
      abortOnError: false,
    });
  } catch (e) {
    pinoLogger.fatal({ err: e }, `${role} failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
  app.useLogger(app.get(PinoNestLogger));
  app.flushLogs();

  const dataSource = app.get(DataSource);
  const projector = parts.projector ? app.get(ProjectorService) : undefined;
  const relay = parts.relay ? app.get(RelayService) : undefined;
  const kafka =
    (parts.ingest || parts.relay) && settings.KAFKA_BROKERS
      ? new KafkaProbe({ ...kafkaOptionsFrom(settings, 'probe') }, settings.HEALTH_CHECK_TIMEOUT_MS)
      : undefined;
  let ingest: KafkaIngestServer | undefined;
  let unwatchTokens: Promise<() => Promise<void>> | undefined;
  if (parts.ingest) {
    const auth = ingestAuthenticator(
      settings,
      new TokenStore(dataSource),
      settings.FLEETCOMPAT_BOOTSTRAP_TOKEN ?? generatedToken,
    );
    // a revocation applies to the next chunk of messages, not within KAFKA_AUTH_CACHE_SECONDS
    if (auth) {
      unwatchTokens = watchTokenChanges(dataSource, [auth.keyring], (m) =>
        log.warn(`${m}: Kafka signatures checked against lookups up to KAFKA_AUTH_CACHE_SECONDS old meanwhile`),
      ).catch((e) => {
        log.warn(
          `LISTEN for token changes failed: ${(e as Error).message} (Kafka lookups kept KAFKA_AUTH_CACHE_SECONDS)`,
        );
        return async () => undefined;
      });
    }
    ingest = createIngestServer(
      settings,
      app.get<EventSink>(EVENT_SINK),
      (records) => countDeadLetters(metrics, records),
      auth,
    );
  }
  // The ingest and the relay start once their topics exist (created here when allowed).
  const topicGate: KafkaTopicGate | undefined =
    parts.ingest || parts.relay ? createTopicGate(settings, role, parts) : undefined;
  const ops = new Operability(
    app.get(HealthCheckService),
    app.get(HealthIndicatorService),
    metrics,
    {
      dataSource,
      projector: projector?.projector,
      relay: relay?.relay,
      outbox: relay ? app.get(PostgresOutbox) : undefined,
      placementsCache: parts.httpApi ? app.get(PlacementsCache) : undefined,
      tokenCache: parts.httpApi ? app.get(TokenCache) : undefined,
      ingest: ingest ? { server: ingest, groupId: settings.KAFKA_GROUP_ID, topics: ingestTopics(settings) } : undefined,
      kafka,
      topics: topicGate,
    },
    settings,
  );
  // Before Nest's routes: the probes and the scrape stay outside the API's guards and filters.
  ops.mount(app.getHttpAdapter().getInstance(), httpRequestLog(pinoLogger));
  app.use(...jsonBodyWithProblems(settings.HTTP_BODY_LIMIT));
  if (parts.httpApi) serveOpenApi(app, VERSION);
  // The planner's dashboard (/ui/, bundled by npm run build) and a page at / linking it and the docs.
  const ui = parts.httpApi ? serveUi(app.getHttpAdapter().getInstance()) : undefined;

  // Graceful shutdown, in the order that loses nothing: stop taking work (readiness 503, the
  // consumer stops fetching and commits the chunk in hand), finish the projector's batch, flush
  // the outbox, then Nest's own close (HTTP server, remaining hooks) and the database last.
  let sampleLoad: Promise<void> | undefined;
  let kafkaParts: Promise<void> | undefined;
  let stopping = false;
  const steps: ShutdownStep[] = [
    { name: 'readiness', run: async () => ops.beginShutdown() },
    ...(topicGate
      ? [
          {
            name: 'kafka start',
            run: async (left: number) => {
              stopping = true;
              await topicGate.close();
              await bounded(
                kafkaParts ?? Promise.resolve(),
                left / 4,
                'the Kafka start in progress did not finish in time; going on',
              );
            },
          },
        ]
      : []),
    { name: 'sample fleet', run: async () => sampleLoad },
    // The consumer finishes and commits the chunk in hand, then leaves its group; a consumer that
    // cannot reach the broker gets half of the time left, after which the shutdown goes on (what
    // it had not committed is redelivered to the next member, and the store drops repeats).
    ...(ingest
      ? [
          {
            name: 'ingest',
            run: (left: number) =>
              bounded(ingest.close(), left / 2, 'the Kafka consumer did not stop in time; going on'),
          },
        ]
      : []),
    ...(projector ? [{ name: 'projector', run: () => projector.stop() }] : []),
    // The flush gets at most half of what is left (10 s at most), so the rest still closes in time.
    ...(relay
      ? [{ name: 'relay', run: (left: number) => relay.drainAndStop(Math.max(0, Math.min(10000, left / 2))) }]
      : []),
    ...(unwatchTokens ? [{ name: 'token changes', run: async () => (await unwatchTokens)() }] : []),
    { name: 'probes', run: () => ops.close() },
    { name: 'application', run: () => app.close() },
  ];
  const shutdown = new GracefulShutdown(steps, { timeoutMs: settings.SHUTDOWN_TIMEOUT_MS });
  shutdown.install();
  shutdownRef = shutdown;

  startup.at(`opening the HTTP port ${settings.PORT}`);
  await app.listen(settings.PORT, settings.HOST);
  startup.done();
  ops.start();
  if (topicGate) {
    // In the background: the HTTP side (health, metrics, API) answers meanwhile, not ready
    // until the topics exist. Nothing here throws: every failure is logged and retried.
    kafkaParts = (async () => {
      if (!(await topicGate.untilPresent()) || stopping) return;
      relay?.begin();
      for (let attempt = 1; ingest && !stopping; attempt++) {
        try {
          await ingest.start();
          return;
        } catch (e) {
          const delay = backoffDelay(attempt, 500, 10000);
          log.warn(
            `the Kafka consumer did not start (attempt ${attempt}), retrying in ${delay} ms: ${(e as Error).message}`,
          );
          for (const until = Date.now() + delay; !stopping && Date.now() < until;)
            await new Promise((r) => setTimeout(r, 100));
        }
      }
    })().catch((e) => log.error(`Kafka start: ${(e as Error)?.stack ?? e}`));
  }
  const url = `http://${settings.HOST === '0.0.0.0' ? '127.0.0.1' : settings.HOST}:${settings.PORT}`;
  log.log(
    `${role} listening on ${url}` +
      (parts.httpApi ? ` (API docs: ${url}/docs, dashboard: ${url}/ui/${ui?.dir ? '' : ' not built'})` : '') +
      `; health ${url}/health/ready, metrics ${url}/metrics` +
      `; parts: ${Object.entries(parts)
        .filter(([, on]) => on)
        .map(([k]) => k)
        .join(', ')}` +
      (settings.KAFKA_BROKERS ? `; Kafka ${settings.KAFKA_BROKERS}` : '; no KAFKA_BROKERS: HTTP only'),
  );
  if (generatedToken && parts.httpApi) {
    log.log(
      `no FLEETCOMPAT_BOOTSTRAP_TOKEN set: admin token for this run: ${generatedToken} (lasting tokens: fleetcompat tokens create). Try: curl -H 'Authorization: Bearer ${generatedToken}' ${url}/v1/summary${ui?.dir ? `, or open ${url}/ui/ and paste the token` : ''}`,
    );
  }
  if (loadSample) {
    const events = sampleFleet();
    sampleLoad = app
      .get<EventSink>(EVENT_SINK)
      .store(events.map((event) => ({ event, origin: { channel: 'http' as const } })))
      .then(
        (outcome) =>
          log.log(
            `sample fleet: ${events.length} events (${outcome.stored} stored, ${outcome.duplicates} already there). Try ${url}/v1/summary and ${url}/v1/guests?status=blocked (with Authorization: Bearer <token>)`,
          ),
        (e) => log.error(`sample fleet not loaded: ${(e as Error).message}`),
      );
    await sampleLoad;
  }
  return app;
}
