// Helpers for libs/kafka's *.int.spec.ts (not part of the library; excluded from the build): the
// real event store and the real outbox on a test database, the test broker, test messages.
import { DataSource } from 'typeorm';
import {
  IngestOrigin,
  EventSink,
  IncomingEvent,
  InputTopics,
  MAX_EVENT_BYTES,
  StoreOutcome,
  Topics,
} from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { PostgresOutbox } from '@fleetcompat/projections';
import { createTestDatabase, TestDatabase } from '@fleetcompat/testing';
import { brokers, uniqueName } from '../../../test/support/kafka';
import { KafkaIngestServer, KafkaIngestServerOptions } from '../src/kafka-ingest-server';

export function hostRegistered(eventId: string, hostId = `h-${eventId}`): string {
  return JSON.stringify({
    eventId,
    type: 'HostRegistered',
    schemaVersion: 1,
    occurredAt: '2026-11-24T09:00:00Z',
    source: 'int-test',
    data: { hostId, hypervisor: { name: 'xen', version: '4.10.4' }, rsdpOverrideSupported: true },
  });
}

export const poison = {
  badJson: '{"eventId": "x",',
  unknownType: () => JSON.stringify({ ...JSON.parse(hostRegistered('p-unknown')), type: 'NoSuchEvent' }),
  invalidData: () => JSON.stringify({ ...JSON.parse(hostRegistered('p-invalid')), data: { hostId: 'h1' } }),
  oversize: () => JSON.stringify({ ...JSON.parse(hostRegistered('p-big')), pad: 'x'.repeat(MAX_EVENT_BYTES + 10) }),
};

/** A database of its own with the event store (every migration run), and what a test reads of it. */
export class TestStore {
  private readonly others: DataSource[] = [];

  private constructor(
    private readonly db: TestDatabase,
    readonly ds: DataSource,
  ) {}

  static async open(name: string): Promise<TestStore> {
    const db = await createTestDatabase(name);
    return new TestStore(db, await openDatabase({ url: db.url }));
  }

  /** The real event store on this database, on a pool of its own (as another process has). */
  async anotherStore(): Promise<PostgresEventStore> {
    const ds = await openDatabase({ url: this.db.url, migrate: false });
    this.others.push(ds);
    return new PostgresEventStore(ds);
  }

  /** The stored events' ids and origins, in store order. */
  async events(): Promise<{ eventId: string; origin: IngestOrigin }[]> {
    const rows: { event_id: string; origin: IngestOrigin }[] = await this.ds.query(
      `SELECT event_id, origin FROM events ORDER BY global_position`,
    );
    return rows.map((r) => ({ eventId: r.event_id, origin: r.origin }));
  }

  async ids(): Promise<string[]> {
    return (await this.events()).map((e) => e.eventId);
  }

  async count(): Promise<number> {
    const [{ n }]: { n: number }[] = await this.ds.query(`SELECT count(*)::int AS n FROM events`);
    return n;
  }

  async has(eventId: string): Promise<boolean> {
    return (await this.ds.query(`SELECT 1 FROM events WHERE event_id = $1`, [eventId])).length > 0;
  }

  async close(): Promise<void> {
    for (const ds of this.others.splice(0)) await ds.destroy();
    await this.ds.destroy();
    await this.db.drop();
  }
}

/**
 * The ingest's sink: the real event store (PostgresEventStore), recording the batches it was
 * handed and the outcomes. A database outage is made around it: for `failTimes` calls, or
 * while `isDown()` says so, a call fails before it reaches Postgres (as with a server that
 * refuses connections); with `crashAfterStore` the events are stored in Postgres and then the
 * call fails (a process dying before its Kafka commit).
 */
export class StoreSink implements EventSink {
  readonly calls: IncomingEvent[][] = [];
  failTimes = 0;
  isDown: () => boolean = () => false;
  crashAfterStore = false;
  stored = 0;
  duplicates = 0;

  constructor(private readonly inner: EventSink) {}

  async store(events: readonly IncomingEvent[]): Promise<StoreOutcome> {
    this.calls.push([...events]);
    if (this.failTimes > 0 || this.isDown()) {
      if (this.failTimes > 0) this.failTimes--;
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (the database is down for this test)');
    }
    const outcome = await this.inner.store(events);
    this.stored += outcome.stored;
    this.duplicates += outcome.duplicates;
    if (this.crashAfterStore) throw new Error('process died before the Kafka commit (after a real store)');
    return outcome;
  }

  get seen(): number {
    return this.calls.reduce((n, c) => n + c.length, 0);
  }
}

/**
 * The real outbox (PostgresOutbox) on a database of its own, with rows queued as the
 * projector queues them (INSERT INTO outbox, committed).
 */
export class TestOutbox {
  private readonly others: DataSource[] = [];

  private constructor(
    private readonly db: TestDatabase,
    readonly ds: DataSource,
    readonly outbox: PostgresOutbox,
  ) {}

  static async open(name: string): Promise<TestOutbox> {
    const db = await createTestDatabase(name);
    const ds = await openDatabase({ url: db.url });
    return new TestOutbox(db, ds, new PostgresOutbox(ds));
  }

  /** Another PostgresOutbox on this database, on a pool of its own (a second relay process). */
  async another(): Promise<PostgresOutbox> {
    const ds = await openDatabase({ url: this.db.url, migrate: false });
    this.others.push(ds);
    return new PostgresOutbox(ds);
  }

  async add(topic: string, key: string, value: string, headers?: Record<string, string>): Promise<void> {
    await this.ds.query(`INSERT INTO outbox (topic, key, value, headers) VALUES ($1, $2, $3::jsonb, $4::jsonb)`, [
      topic,
      key,
      value,
      headers ? JSON.stringify(headers) : null,
    ]);
    await this.readable();
  }

  /**
   * Waits until the relay can read every row: it reads, like the event store's readers, only
   * rows of transactions older than every one still open on the server (other tests' too).
   */
  async readable(): Promise<void> {
    await waitFor('the outbox rows readable (no older transaction open on the server)', async () => {
      const [{ n }]: { n: number }[] = await this.ds.query(
        `SELECT count(*)::int AS n FROM outbox WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`,
      );
      return n === 0;
    });
  }

  /** Rows not yet published (the relay deletes what the broker acknowledged). */
  async unpublished(): Promise<number> {
    const [{ n }]: { n: number }[] = await this.ds.query(`SELECT count(*)::int AS n FROM outbox`);
    return n;
  }

  async close(): Promise<void> {
    for (const ds of this.others.splice(0)) await ds.destroy();
    await this.ds.destroy();
    await this.db.drop();
  }
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh input topic of this test: a unique prefix and the inventory topic's contract name (events are routed by type). */
export function inventoryTopic(): string {
  return `${uniqueName('kb')}.${Topics.guestInventory}`;
}

/** A server with small group timeouts, quick retries, and the test broker. */
export function testServer(
  options: Omit<KafkaIngestServerOptions, 'kafka'> & { kafka?: KafkaIngestServerOptions['kafka'] },
): KafkaIngestServer {
  // the prefix of topics named like inventoryTopic(): events must arrive on their own (prefixed) topic
  const first = options.topics?.[0] ?? '';
  const topicPrefix =
    InputTopics.map((t) => (first.endsWith(t) ? first.slice(0, first.length - t.length) : null)).find(
      (p) => p !== null,
    ) ?? '';
  return new KafkaIngestServer({
    kafka: { brokers: brokers(), clientId: 'kafka-int', logLevel: 'error' },
    retryInitialMs: 50,
    retryMaxMs: 400,
    topicPrefix,
    ...options,
    consumer: {
      sessionTimeout: 6000,
      heartbeatInterval: 300,
      rebalanceTimeout: 3000,
      maxWaitTimeInMs: 100,
      ...options.consumer,
    },
  });
}
