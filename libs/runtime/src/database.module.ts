import { DynamicModule, Global, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EVENT_SINK, EventSink, IncomingEvent, OUTBOX_STORE, StoreOutcome } from '@fleetcompat/contract';
import { PostgresEventStore, preparedQueryable } from '@fleetcompat/event-store';
import { PostgresOutbox, ProjectionQueries } from '@fleetcompat/projections';
import { EmbeddedPostgres, openDatabase, Settings, startEmbeddedPostgres } from '@fleetcompat/platform';
import { InstrumentedSink } from './instrumentation';
import { Metrics } from './metrics';
import { ProcessSignals } from './signals';
import { startup } from './startup';

export const SETTINGS = Symbol('SETTINGS');

/** The database connection of the process: the configured server, or embedded Postgres when none is. */
export class DatabaseConnection implements OnApplicationShutdown {
  private static readonly log = new Logger('Database');

  private constructor(
    readonly dataSource: DataSource,
    private readonly embedded: EmbeddedPostgres | null,
  ) {}

  static async open(settings: Settings): Promise<DatabaseConnection> {
    let url = settings.DATABASE_URL;
    let embedded: EmbeddedPostgres | null = null;
    if (!url) {
      DatabaseConnection.log.log(
        `no DATABASE_URL: starting embedded Postgres in ${settings.EMBEDDED_PG_DATA_DIR} on port ${settings.EMBEDDED_PG_PORT}`,
      );
      startup.at('starting embedded Postgres');
      embedded = await startEmbeddedPostgres({
        dataDir: settings.EMBEDDED_PG_DATA_DIR,
        port: settings.EMBEDDED_PG_PORT,
        database: 'fleetcompat',
        runtimeDir: settings.EMBEDDED_PG_RUNTIME_DIR,
        onNotice: (m) => DatabaseConnection.log.log(m),
      });
      // Our graceful shutdown stops it, last (onApplicationShutdown); a process that exits
      // otherwise still signals it on its way out.
      url = embedded.url;
    }
    try {
      const dataSource = await openDatabase({
        url,
        poolSize: settings.DATABASE_POOL_SIZE,
        migrate: true,
        onStep: (step) => startup.at(step),
      });
      startup.at('initialising the modules');
      return new DatabaseConnection(dataSource, embedded);
    } catch (e) {
      await embedded?.stop();
      throw e;
    }
  }

  /** Closes the pool, then stops the embedded server (if any): the last step of a shutdown. */
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy().catch(() => undefined);
    if (this.embedded) {
      // Resolves at once when the server is already gone (Ctrl-C in a terminal signals the
      // whole process group, Postgres too).
      await this.embedded.stop();
      DatabaseConnection.log.log('embedded Postgres stopped');
    }
  }
}

/** The event store as the transports' sink, waking the projector of this process after each store. */
export class SignallingSink implements EventSink {
  constructor(
    private readonly eventStore: PostgresEventStore,
    private readonly signals: ProcessSignals,
  ) {}

  async store(events: readonly IncomingEvent[]): Promise<StoreOutcome> {
    const outcome = await this.eventStore.store(events);
    if (outcome.stored > 0) this.signals.eventsStored();
    return outcome;
  }
}

/** The metrics registry of the process (global: every module counts into it). */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(metrics: Metrics): DynamicModule {
    return { module: MetricsModule, providers: [{ provide: Metrics, useValue: metrics }], exports: [Metrics] };
  }
}

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: ProcessSignals, useValue: new ProcessSignals() },
        { provide: DatabaseConnection, useFactory: () => DatabaseConnection.open(settings) },
        { provide: DataSource, useFactory: (c: DatabaseConnection) => c.dataSource, inject: [DatabaseConnection] },
        {
          provide: PostgresEventStore,
          useFactory: (ds: DataSource) => new PostgresEventStore(ds),
          inject: [DataSource],
        },
        {
          provide: EVENT_SINK,
          useFactory: (s: PostgresEventStore, sig: ProcessSignals, metrics: Metrics) =>
            new InstrumentedSink(
              new SignallingSink(s, sig),
              metrics,
              settings.LOG_LEVEL === 'debug' || settings.LOG_LEVEL === 'verbose',
            ),
          inject: [PostgresEventStore, ProcessSignals, Metrics],
        },
        { provide: PostgresOutbox, useFactory: (ds: DataSource) => new PostgresOutbox(ds), inject: [DataSource] },
        { provide: OUTBOX_STORE, useExisting: PostgresOutbox },
        {
          provide: ProjectionQueries,
          useFactory: (ds: DataSource) => new ProjectionQueries(preparedQueryable(ds)),
          inject: [DataSource],
        },
      ],
      exports: [
        SETTINGS,
        ProcessSignals,
        DatabaseConnection,
        DataSource,
        PostgresEventStore,
        EVENT_SINK,
        PostgresOutbox,
        OUTBOX_STORE,
        ProjectionQueries,
      ],
    };
  }
}
