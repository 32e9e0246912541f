import { Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRIC_PREFIX = 'fleetcompat_';

/** Outcome of one ingested event. */
export type IngestOutcome = 'stored' | 'duplicate' | 'dead-lettered';

/**
 * The Prometheus registry of the process (one per application, not prom-client's global
 * one, so that tests may start several apps in one process). Counters are incremented where
 * things happen; gauges of state kept elsewhere (lag, backlog) are read at scrape time by
 * the collectors registered with {@link onScrape}.
 */
export class Metrics {
  private readonly log = new Logger('Metrics');
  readonly registry = new Registry();
  private readonly collectors: { name: string; collect: () => Promise<void> }[] = [];

  readonly eventsIngested: Counter<'channel' | 'type' | 'outcome'>;
  readonly ingestBatches: Counter<'channel'>;
  readonly decisionsPublished: Counter<'action'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly scrapeErrors: Counter<'collector'>;

  constructor(readonly role: string) {
    this.registry.setDefaultLabels({ role });
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    const r = [this.registry];
    this.eventsIngested = new Counter({
      name: `${METRIC_PREFIX}events_ingested_total`,
      help: 'Events received by this process, by channel (kafka, http), event type and outcome (stored, duplicate, dead-lettered).',
      labelNames: ['channel', 'type', 'outcome'],
      registers: r,
    });
    this.ingestBatches = new Counter({
      name: `${METRIC_PREFIX}ingest_batches_total`,
      help: 'Store calls (one per Kafka chunk or HTTP request) that succeeded.',
      labelNames: ['channel'],
      registers: r,
    });
    this.decisionsPublished = new Counter({
      name: `${METRIC_PREFIX}decisions_published_total`,
      help: 'Placement messages published by the relay and acknowledged by the broker, by action (none, override-low, blocked; withdrawn for PlacementWithdrawn).',
      labelNames: ['action'],
      registers: r,
    });
    this.httpDuration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request latency by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.scrapeErrors = new Counter({
      name: `${METRIC_PREFIX}metrics_collect_errors_total`,
      help: 'Scrape-time collectors that failed (their gauges keep the last value read).',
      labelNames: ['collector'],
      registers: r,
    });
  }

  /** A gauge in this registry. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge<L>({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  /** A counter whose value is read from elsewhere at scrape time (e.g. a component's stats). */
  counterFrom(name: string, help: string, read: () => number): void {
    let last = 0;
    new Counter({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers: [this.registry],
      collect() {
        const v = read();
        if (v > last) this.inc(v - last);
        last = v;
      },
    });
  }

  /** Runs `collect` before each scrape (bounded by the scrape's own timeout). */
  onScrape(name: string, collect: () => Promise<void>): void {
    this.collectors.push({ name, collect });
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  async scrape(timeoutMs = 3000): Promise<string> {
    await Promise.all(
      this.collectors.map(async ({ name, collect }) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            collect(),
            new Promise(
              (_, reject) =>
                (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)),
            ),
          ]);
        } catch (e) {
          this.scrapeErrors.inc({ collector: name });
          this.log.debug(`collector ${name} failed: ${(e as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
