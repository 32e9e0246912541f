import 'reflect-metadata';
import { DynamicModule, Logger, LogLevel, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { EVENT_SINK, EventSink } from '@fleetcompat/contract';
import { HttpApiModule, jsonBodyWithProblems, serveOpenApi } from '@fleetcompat/http-api';
import { newSecret } from '@fleetcompat/auth';
import { ConfigError, loadSettings, Settings } from '@fleetcompat/platform';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { DatabaseModule } from './database.module';
import { createIngestServer } from './kafka-wiring';
import { ProjectorModule } from './projector.module';
import { RelayModule } from './relay.module';

/** The process roles. all-in-one composes every other role in one process (the embedded default). */
export type Role = 'all-in-one' | 'api' | 'ingest' | 'projector' | 'relay';

const VERSION = '0.1.0';

const LEVELS: Record<Settings['LOG_LEVEL'], LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  log: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  verbose: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

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

/** Starts a role; used by every apps/<role>/src/main.ts. */
export async function bootstrap(role: Role, argv: readonly string[] = process.argv.slice(2)): Promise<NestExpressApplication> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  const parts = composition(role, settings);
  if ((parts.ingest || parts.relay) && !settings.KAFKA_BROKERS) fail(`configuration error: KAFKA_BROKERS is required for the ${role} role`);
  if (role !== 'all-in-one' && !settings.DATABASE_URL) fail(`configuration error: DATABASE_URL is required for the ${role} role (only all-in-one starts embedded Postgres)`);
  const loadSample = argv.includes('--sample-fleet');
  if (loadSample && !parts.httpApi) fail('--sample-fleet needs a role that stores events (all-in-one or api)');
  // The embedded default without a configured token: a fresh admin token for this run, shown once at start.
  const generatedToken = role === 'all-in-one' && !settings.DATABASE_URL && !settings.FLEETCOMPAT_BOOTSTRAP_TOKEN ? newSecret() : undefined;

  const root: DynamicModule = {
    module: RootModule,
    imports: [
      DatabaseModule.forRoot(settings),
      ...(parts.httpApi
        ? [HttpApiModule.forRoot({ bootstrapToken: settings.FLEETCOMPAT_BOOTSTRAP_TOKEN ?? generatedToken, whatIfRateLimit: settings.WHAT_IF_RATE_LIMIT, whatIfRateWindowSeconds: settings.WHAT_IF_RATE_WINDOW_SECONDS })]
        : []),
      ...(parts.projector ? [ProjectorModule] : []),
      ...(parts.relay ? [RelayModule] : []),
    ],
  };
  const log = new Logger(`fleetcompat:${role}`);
  const app = await NestFactory.create<NestExpressApplication>(root, { logger: LEVELS[settings.LOG_LEVEL], bodyParser: false });
  app.use(...jsonBodyWithProblems(settings.HTTP_BODY_LIMIT));
  app.enableShutdownHooks();
  if (parts.httpApi) serveOpenApi(app, VERSION);
  if (parts.ingest) {
    app.connectMicroservice({ strategy: createIngestServer(settings, app.get<EventSink>(EVENT_SINK)) }, { inheritAppConfig: true });
    await app.startAllMicroservices();
  }
  await app.listen(settings.PORT, settings.HOST);
  const url = `http://${settings.HOST === '0.0.0.0' ? '127.0.0.1' : settings.HOST}:${settings.PORT}`;
  log.log(
    `${role} listening on ${url}` +
      (parts.httpApi ? ` (API docs: ${url}/docs)` : '') +
      `; parts: ${Object.entries(parts).filter(([, on]) => on).map(([k]) => k).join(', ')}` +
      (settings.KAFKA_BROKERS ? `; Kafka ${settings.KAFKA_BROKERS}` : '; no KAFKA_BROKERS: HTTP only'),
  );
  if (generatedToken && parts.httpApi) {
    log.log(`no FLEETCOMPAT_BOOTSTRAP_TOKEN set: admin token for this run: ${generatedToken} (lasting tokens: fleetcompat tokens create). Try: curl -H 'Authorization: Bearer ${generatedToken}' ${url}/v1/summary`);
  }
  if (loadSample) {
    const events = sampleFleet();
    const outcome = await app.get<EventSink>(EVENT_SINK).store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
    log.log(`sample fleet: ${events.length} events (${outcome.stored} stored, ${outcome.duplicates} already there). Try ${url}/v1/summary and ${url}/v1/guests?status=blocked`);
  }
  return app;
}
