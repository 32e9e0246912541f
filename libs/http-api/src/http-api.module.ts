import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { Authenticator, TokenCache, TokenStore } from '@fleetcompat/auth';
import { preparedQueryable } from '@fleetcompat/event-store';
import { PlacementsReader } from '@fleetcompat/projections';
import { AuthGuard, AUTHENTICATOR } from './auth/auth.guard';
import { TokenNotifications } from './auth/token-notifications';
import { TokensController } from './auth/tokens.controller';
import { AdminController } from './admin.controller';
import { DashboardController, HostListController } from './dashboard/dashboard.controller';
import { DashboardQueries } from './dashboard/dashboard.queries';
import { GenerationMemo } from './dashboard/generation-memo';
import { LiveController } from './dashboard/live.controller';
import { LiveHub } from './dashboard/live-hub';
import { LiveTickets } from './dashboard/live-tickets';
import { EVENTS_INGEST_OPTIONS, EventsController, type EventsIngestOptions } from './events.controller';
import { EventsRateLimiter } from './events-rate';
import { GuestsController } from './guests.controller';
import { HistoryService } from './history/history.service';
import { HostsController } from './hosts.controller';
import { PlacementsCache } from './placements-cache';
import { PlacementsWatch } from './placements-watch';
import { ProblemDetailsFilter } from './problem';
import { SummaryController } from './summary.controller';
import { WhatIfController } from './what-if/what-if.controller';
import { WhatIfService } from './what-if/what-if.service';
import { WhatIfThrottlerGuard } from './what-if/what-if.throttler';

export interface HttpApiOptions {
  /** An admin token from the environment (FLEETCOMPAT_BOOTSTRAP_TOKEN). */
  readonly bootstrapToken?: string | null;
  /** What-if calls per token per window. */
  readonly whatIfRateLimit?: number;
  readonly whatIfRateWindowSeconds?: number;
  /** Bytes of placements answers kept between projector batches (0: none). */
  readonly placementsCacheBytes?: number;
  /** How far ahead of the clock an event's occurredAt may be, in ms (default 5 minutes). */
  readonly maxFutureSkewMs?: number;
  /** Events per token per window over POST /v1/events (default 100000 per 60 s). */
  readonly eventsRateLimit?: number;
  readonly eventsRateWindowSeconds?: number;
}

/**
 * The HTTP API of planners, hosts and HTTP producers. Needs EVENT_SINK, DataSource,
 * PostgresEventStore and ProjectionQueries from the database module. Every route needs a
 * bearer token (AuthGuard) except the public ones.
 */
@Module({})
export class HttpApiModule {
  static forRoot(options: HttpApiOptions = {}): DynamicModule {
    return {
      module: HttpApiModule,
      imports: [
        ThrottlerModule.forRoot([
          {
            name: 'default',
            ttl: (options.whatIfRateWindowSeconds ?? 60) * 1000,
            limit: options.whatIfRateLimit ?? 10,
          },
        ]),
      ],
      controllers: [
        AdminController,
        EventsController,
        GuestsController,
        HostsController,
        SummaryController,
        WhatIfController,
        TokensController,
        DashboardController,
        HostListController,
        LiveController,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        {
          provide: TokenStore,
          useFactory: (ds: DataSource) => new TokenStore(preparedQueryable(ds)),
          inject: [DataSource],
        },
        // verified tokens kept while every change of access_tokens is heard (TokenCache)
        { provide: TokenCache, useFactory: (store: TokenStore) => new TokenCache(store), inject: [TokenStore] },
        {
          provide: TokenNotifications,
          useFactory: (cache: TokenCache, ds: DataSource) => new TokenNotifications(cache, ds),
          inject: [TokenCache, DataSource],
        },
        {
          provide: AUTHENTICATOR,
          useFactory: (cache: TokenCache) => new Authenticator(cache, options.bootstrapToken ?? null),
          inject: [TokenCache],
        },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: WhatIfService, useFactory: (ds: DataSource) => new WhatIfService(ds), inject: [DataSource] },
        { provide: HistoryService, useFactory: (ds: DataSource) => new HistoryService(ds), inject: [DataSource] },
        WhatIfThrottlerGuard,
        {
          provide: EVENTS_INGEST_OPTIONS,
          useValue: {
            maxFutureSkewMs: options.maxFutureSkewMs,
            rate: new EventsRateLimiter(
              options.eventsRateLimit ?? 100_000,
              (options.eventsRateWindowSeconds ?? 60) * 1000,
            ),
          } satisfies EventsIngestOptions,
        },
        {
          provide: PlacementsCache,
          useFactory: (ds: DataSource) =>
            new PlacementsCache(
              new PlacementsReader(preparedQueryable(ds)),
              options.placementsCacheBytes ?? 64 * 1024 * 1024,
              ds,
            ),
          inject: [DataSource],
        },
        {
          provide: PlacementsWatch,
          useFactory: (cache: PlacementsCache) => new PlacementsWatch(cache),
          inject: [PlacementsCache],
        },
        // the dashboard's reads (dashboard/), its aggregates kept per projector batch, and its live stream
        {
          provide: DashboardQueries,
          useFactory: (ds: DataSource) => new DashboardQueries(preparedQueryable(ds)),
          inject: [DataSource],
        },
        {
          provide: GenerationMemo,
          useFactory: (cache: PlacementsCache) => new GenerationMemo(cache),
          inject: [PlacementsCache],
        },
        {
          provide: LiveTickets,
          useFactory: (tokens: TokenStore) => new LiveTickets(tokens, options.bootstrapToken ?? null),
          inject: [TokenStore],
        },
        { provide: LiveHub, useFactory: (cache: PlacementsCache) => new LiveHub(cache), inject: [PlacementsCache] },
      ],
    };
  }
}
