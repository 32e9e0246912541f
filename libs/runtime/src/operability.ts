import { HttpException, Logger } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { NextFunction, Request, Response } from 'express';
import { DataSource } from 'typeorm';
import type { PlacementsCache } from '@fleetcompat/http-api';
import type { RequestLine } from './logging';
import type { TokenCache } from '@fleetcompat/auth';
import { KafkaIngestServer, KafkaProbe, OutboxRelay, TopicGateState } from '@fleetcompat/kafka';
import { PostgresOutbox, Projector } from '@fleetcompat/projections';
import { Settings } from '@fleetcompat/platform';
import { Metrics } from './metrics';
import { ProjectorProgress, ProjectorWatch } from './projector-watch';

/** What a process runs, for its health checks and metrics. */
export interface OperabilityParts {
  readonly dataSource: DataSource;
  readonly projector?: Projector;
  readonly relay?: OutboxRelay;
  readonly outbox?: PostgresOutbox;
  /** Present when the process serves the HTTP API. */
  readonly placementsCache?: Pick<PlacementsCache, 'hits' | 'misses' | 'sourceCounts'>;
  readonly tokenCache?: Pick<TokenCache, 'hits' | 'misses'>;
  readonly ingest?: { server: KafkaIngestServer; groupId: string; topics: readonly string[] };
  /** Present when the process talks to Kafka (ingest or relay). */
  readonly kafka?: KafkaProbe;
  /** The start-up check of the topics the process needs (ingest or relay): not ready until they exist. */
  readonly topics?: { readonly state: TopicGateState };
}

type Check = () => Promise<HealthIndicatorResult>;

/**
 * Liveness, readiness and metrics of one process.
 * - live: the process answers (its event loop turns); never fails while it runs.
 * - ready: Postgres answers `SELECT 1`; where the process uses Kafka, a broker answers a
 *   metadata request; where it runs the projector, the projector is not stalled (events wait
 *   and its checkpoint has not moved for PROJECTOR_STALL_SECONDS); where it runs the ingest or
 *   the relay, their topics exist (`topics`: down with the missing ones named until then); and
 *   it is not shutting down.
 */
export class Operability {
  private readonly log = new Logger('Health');
  readonly watch?: ProjectorWatch;
  private shuttingDown = false;
  private lastReady?: boolean;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    readonly metrics: Metrics,
    private readonly parts: OperabilityParts,
    private readonly settings: Pick<Settings, 'PROJECTOR_STALL_SECONDS' | 'HEALTH_CHECK_TIMEOUT_MS'> &
      Partial<Pick<Settings, 'INGEST_STALL_SECONDS'>>,
  ) {
    if (parts.projector) {
      this.watch = new ProjectorWatch(parts.projector, settings.PROJECTOR_STALL_SECONDS);
    }
    this.registerMetrics();
  }

  /** Starts background sampling (the projector stall watch). */
  start(): void {
    this.watch?.start(Math.min(5000, (this.settings.PROJECTOR_STALL_SECONDS * 1000) / 4));
  }

  /** From now on readiness answers 503 (load balancers stop sending work). */
  beginShutdown(): void {
    this.shuttingDown = true;
    this.watch?.stop();
  }

  async close(): Promise<void> {
    this.watch?.stop();
    await this.parts.kafka?.close();
  }

  async liveness(): Promise<{ status: number; body: HealthCheckResult }> {
    return this.run([
      async () =>
        this.indicators.check('process').up({ pid: process.pid, uptimeSeconds: Math.round(process.uptime()) }),
    ]);
  }

  async readiness(): Promise<{ status: number; body: HealthCheckResult }> {
    const timeout = this.settings.HEALTH_CHECK_TIMEOUT_MS;
    const checks: Check[] = [
      async () =>
        this.shuttingDown
          ? this.indicators.check('process').down({ message: 'shutting down' })
          : this.indicators.check('process').up(),
      async () =>
        this.indicators
          .check('postgres')
          .attempt(async () => {
            await this.parts.dataSource.query('SELECT 1');
          })
          .withTimeout(timeout),
    ];
    const kafka = this.parts.kafka;
    if (kafka)
      checks.push(async () =>
        this.indicators
          .check('kafka')
          .attempt(async () => ({ brokers: await kafka.ping() }))
          .withTimeout(timeout),
      );
    const topics = this.parts.topics;
    if (topics) {
      checks.push(async () => {
        const s = topics.state;
        const session = this.indicators.check('topics');
        if (s.present) return session.up();
        return session.down({
          missing: [...s.missing],
          message: s.error ? `not checked: ${s.error}` : `missing: ${s.missing.join(', ')}`,
        });
      });
    }
    const ingest = this.parts.ingest;
    if (ingest) {
      checks.push(async () => {
        const session = this.indicators.check('ingest');
        const stalled = ingest.server.stalledPartitions((this.settings.INGEST_STALL_SECONDS ?? 60) * 1000);
        if (!stalled.length) return session.up();
        return session.down({
          stalled,
          message: `stalled: ${stalled.map((p) => `${p.partition} for ${p.forSeconds} s (${p.error})`).join('; ')}`,
        });
      });
    }
    const watch = this.watch;
    if (watch) {
      checks.push(async () => {
        const session = this.indicators.check('projector');
        const layoutError = this.parts.projector?.layoutError;
        if (layoutError)
          return session.down({ processor: this.parts.projector?.processor, message: layoutError.message });
        try {
          const p = await watch.sample();
          const data = {
            processor: this.parts.projector?.processor,
            behind: p.behind,
            heldBack: p.heldBack,
            ...(p.holder ? { heldBackBy: p.holder } : {}),
            stalledForSeconds: Math.round(p.stalledForSeconds),
            setAsideEvents: this.parts.projector?.setAsideEvents ?? 0,
          };
          return p.stalled
            ? session.down({
                ...data,
                message: `stalled: ${p.behind} events wait and the checkpoint has not moved for ${data.stalledForSeconds} s${heldBackText(p)}`,
              })
            : session.up(data);
        } catch (e) {
          return session.down({ message: (e as Error).message });
        }
      });
    }
    const result = await this.run(checks);
    const ready = result.status === 200;
    if (ready !== this.lastReady) {
      const failing = Object.entries(result.body.error ?? {}).map(
        ([k, v]) => `${k}${(v as { message?: string }).message ? ` (${(v as { message?: string }).message})` : ''}`,
      );
      if (ready) this.log.log('ready');
      else this.log.warn({ msg: `not ready: ${failing.join(', ')}`, failing: Object.keys(result.body.error ?? {}) });
      this.lastReady = ready;
    }
    return result;
  }

  private async run(checks: Check[]): Promise<{ status: number; body: HealthCheckResult }> {
    try {
      return { status: 200, body: await this.health.check(checks) };
    } catch (e) {
      if (e instanceof HttpException) return { status: e.getStatus(), body: e.getResponse() as HealthCheckResult };
      throw e;
    }
  }

  /**
   * Serves GET /health/live, /health/ready and /metrics on the Express instance, outside
   * Nest's routing: no guard, filter, interceptor or throttle of the API applies to them
   * (they stay unauthenticated whatever the /v1 routes require). Also times every request
   * (fleetcompat_http_request_duration_seconds by route pattern) and hands each finished
   * request to `requestLog` (its log line). Call before app.init().
   */
  mount(
    express: {
      use(handler: (req: Request, res: Response, next: NextFunction) => void): unknown;
      get(path: string, handler: (req: Request, res: Response, next: NextFunction) => unknown): unknown;
    },
    requestLog?: (r: RequestLine) => void,
  ): void {
    const hist = this.metrics.httpDuration;
    express.use((req: Request, res: Response, next: NextFunction) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        // A catch-all (a middleware registered for every path) is not a route of the API.
        const routePath = (req.route as { path?: string } | undefined)?.path;
        const pattern = routePath ? `${req.baseUrl ?? ''}${routePath}` : '';
        const route = pattern && !pattern.includes('{*') && pattern !== '*' ? pattern : 'unmatched';
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        hist.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
        requestLog?.({ method: req.method, url: req.originalUrl ?? req.url, statusCode: res.statusCode, seconds });
      });
      next();
    });
    const send = (res: Response, r: { status: number; body: unknown }) => {
      res.status(r.status).setHeader('cache-control', 'no-store');
      res.json(r.body);
    };
    express.get('/health/live', (_req: Request, res: Response, next: NextFunction) =>
      this.liveness().then((r) => send(res, r), next),
    );
    express.get('/health/ready', (_req: Request, res: Response, next: NextFunction) =>
      this.readiness().then((r) => send(res, r), next),
    );
    express.get('/metrics', (_req: Request, res: Response, next: NextFunction) =>
      this.metrics.scrape(this.settings.HEALTH_CHECK_TIMEOUT_MS).then((text) => {
        res.status(200).setHeader('content-type', this.metrics.contentType);
        res.setHeader('cache-control', 'no-store');
        res.end(text);
      }, next),
    );
  }

  private registerMetrics(): void {
    const m = this.metrics;
    const { projector, relay, outbox, ingest, kafka, placementsCache, tokenCache } = this.parts;
    if (tokenCache) {
      m.counterFrom(
        'token_cache_hits_total',
        'Bearer tokens of HTTP requests verified from the cache (kept while every change of access_tokens is heard).',
        () => tokenCache.hits,
      );
      m.counterFrom(
        'token_cache_misses_total',
        'Bearer tokens of HTTP requests looked up in access_tokens.',
        () => tokenCache.misses,
      );
    }
    if (placementsCache) {
      m.counterFrom(
        'placements_cache_hits_total',
        'GET /v1/hosts/{id}/placements answered from the cache (kept between projector batches).',
        () => placementsCache.hits,
      );
      m.counterFrom(
        'placements_cache_misses_total',
        'GET /v1/hosts/{id}/placements read from the projections.',
        () => placementsCache.misses,
      );
      m.counterFrom(
        'placements_answers_kept_total',
        'Placements reads that missed the cache and were served from the answer kept in Postgres (its tag still current).',
        () => placementsCache.sourceCounts.kept,
      );
      m.counterFrom(
        'placements_answers_built_total',
        'Placements reads that missed the cache and had Postgres build the answer (and keep it).',
        () => placementsCache.sourceCounts.built,
      );
    }
    if (projector) {
      const lag = m.gauge(
        'projector_lag_events',
        'Events committed to the store that the projector has not applied yet (lag behind the store head), readable or not.',
      );
      const heldBack = m.gauge(
        'projector_held_back_events',
        'Of the lag, events committed behind a transaction still open on the server: no reader of the store may take them until it ends.',
      );
      const stalled = m.gauge(
        'projector_stalled',
        '1 when events wait and the projector checkpoint has not moved for PROJECTOR_STALL_SECONDS, else 0.',
      );
      const failing = m.gauge(
        'projector_failing',
        '1 while the last projector batch failed (it retries with backoff), else 0.',
      );
      const setAside = m.gauge(
        'projector_set_aside_events',
        'Stored events the projector could not apply and set aside (GET /v1/admin/set-aside lists them).',
      );
      m.counterFrom(
        'projector_events_total',
        'Events applied to the projections by this process.',
        () => projector.processedEvents,
      );
      m.counterFrom(
        'projector_decisions_total',
        'Decisions queued in the outbox by this process.',
        () => projector.publishedDecisions,
      );
      m.onScrape('projector', async () => {
        failing.set(projector.lastError ? 1 : 0);
        setAside.set(projector.setAsideEvents);
        const p = await this.watch!.sample();
        lag.set(p.behind);
        heldBack.set(p.heldBack);
        stalled.set(p.stalled ? 1 : 0);
      });
    }
    if (relay && outbox) {
      const backlog = m.gauge('outbox_backlog', 'Decisions committed to the outbox and not yet published.');
      const age = m.gauge(
        'outbox_oldest_age_seconds',
        'Age of the oldest unpublished outbox row in seconds (0 when empty).',
      );
      m.counterFrom('relay_batches_total', 'Outbox batches published by this process.', () => relay.stats.batches);
      m.counterFrom(
        'relay_failures_total',
        'Failed outbox publish attempts (each retried after a backoff).',
        () => relay.stats.failures,
      );
      m.onScrape('outbox', async () => {
        const b = await outbox.backlog();
        backlog.set(b.count);
        age.set(b.oldestAgeSeconds);
      });
    }
    if (ingest) {
      const server = ingest.server;
      m.counterFrom(
        'ingest_failures_total',
        'Failed attempts to store a Kafka chunk or send its dead letters (each retried).',
        () => server.stats.failures,
      );
      m.counterFrom(
        'kafka_consumer_crashes_total',
        'Crashes of the Kafka consumer (each followed by a restart).',
        () => server.stats.crashes,
      );
      if (kafka) {
        const lag = m.gauge(
          'kafka_consumer_lag',
          'Messages on the partition not yet committed by the ingest consumer group.',
          ['topic', 'partition'],
        );
        const committed = m.gauge(
          'kafka_consumer_committed_offset',
          'Offset committed by the ingest consumer group (-1: none yet).',
          ['topic', 'partition'],
        );
        const end = m.gauge('kafka_partition_end_offset', 'High watermark of the partition.', ['topic', 'partition']);
        m.onScrape('consumer-lag', async () => {
          const lags = await kafka.consumerLag(ingest.groupId, ingest.topics);
          for (const l of lags) {
            const labels = { topic: l.topic, partition: String(l.partition) };
            lag.set(labels, l.lag);
            committed.set(labels, l.committed);
            end.set(labels, l.end);
          }
        });
      }
    }
  }
}

/** Why a stalled projector cannot move, when a transaction open on the server holds its events back. */
function heldBackText(p: ProjectorProgress): string {
  if (!p.heldBack) return '';
  const h = p.holder;
  const who = h
    ? `pid ${h.pid}${h.application ? ` (${h.application})` : ''} ${h.inThisDatabase ? 'on this database' : 'on another database'}, ${h.state}${h.since ? ` since ${h.since}` : ''}`
    : 'one Postgres does not name to this role (or a prepared transaction)';
  return `: ${p.heldBack} of them committed behind a transaction still open on the server, ${who}; no reader of the store may pass it until it ends`;
}
