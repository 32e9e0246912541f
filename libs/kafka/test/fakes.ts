// Fakes and helpers for libs/kafka's *.int.spec.ts (not part of the library; excluded from the build).
import { EventSink, IncomingEvent, InputTopics, MAX_EVENT_BYTES, OutboxMessage, OutboxStore, StoreOutcome, Topics } from '@fleetcompat/contract';
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

/**
 * An in-memory EventSink that dedupes by eventId like the real store. `failTimes` calls fail
 * first (nothing stored); `crashAfterStore` stores then throws (a process dying before the
 * Kafka commit). `ids` can be shared between sinks, as two processes share one database.
 */
export class MemorySink implements EventSink {
  readonly calls: IncomingEvent[][] = [];
  failTimes = 0;
  crashAfterStore = false;
  stored = 0;
  duplicates = 0;

  constructor(readonly ids: Map<string, IncomingEvent> = new Map()) {}

  async store(events: readonly IncomingEvent[]): Promise<StoreOutcome> {
    this.calls.push([...events]);
    if (this.failTimes > 0) {
      this.failTimes--;
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (simulated)');
    }
    let stored = 0;
    let duplicates = 0;
    for (const e of events) {
      if (this.ids.has(e.event.eventId)) duplicates++;
      else {
        this.ids.set(e.event.eventId, e);
        stored++;
      }
    }
    this.stored += stored;
    this.duplicates += duplicates;
    if (this.crashAfterStore) throw new Error('process died before the Kafka commit (simulated)');
    return { stored, duplicates };
  }

  get seen(): number {
    return this.calls.reduce((n, c) => n + c.length, 0);
  }
}

/**
 * An in-memory OutboxStore with the real one's contract: oldest unpublished rows first,
 * marked only after `publish` resolved. `failBeforePublish` calls fail before publishing (a
 * database error); `failAfterPublish` calls publish and then fail to mark (at least once).
 */
export class MemoryOutbox implements OutboxStore {
  readonly rows: { message: OutboxMessage; published: boolean }[] = [];
  failBeforePublish = 0;
  failAfterPublish = 0;
  publishCalls = 0;
  private seq = 0;

  add(topic: string, key: string, value: string, headers?: Record<string, string>): OutboxMessage {
    const message = { id: String(++this.seq), topic, key, value, headers };
    this.rows.push({ message, published: false });
    return message;
  }

  get unpublished(): number {
    return this.rows.filter((r) => !r.published).length;
  }

  async publishBatch(limit: number, publish: (messages: readonly OutboxMessage[]) => Promise<void>): Promise<number> {
    const batch = this.rows.filter((r) => !r.published).slice(0, limit);
    if (!batch.length) return 0;
    if (this.failBeforePublish > 0) {
      this.failBeforePublish--;
      throw new Error('outbox read failed (simulated)');
    }
    this.publishCalls++;
    await publish(batch.map((r) => r.message));
    if (this.failAfterPublish > 0) {
      this.failAfterPublish--;
      throw new Error('outbox mark failed after the send (simulated)');
    }
    for (const r of batch) r.published = true;
    return batch.length;
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
export function testServer(options: Omit<KafkaIngestServerOptions, 'kafka'> & { kafka?: KafkaIngestServerOptions['kafka'] }): KafkaIngestServer {
  // the prefix of topics named like inventoryTopic(): events must arrive on their own (prefixed) topic
  const first = options.topics?.[0] ?? '';
  const topicPrefix = InputTopics.map((t) => (first.endsWith(t) ? first.slice(0, first.length - t.length) : null)).find((p) => p !== null) ?? '';
  return new KafkaIngestServer({
    kafka: { brokers: brokers(), clientId: 'kafka-int', logLevel: 'error' },
    retryInitialMs: 50,
    retryMaxMs: 400,
    topicPrefix,
    ...options,
    consumer: { sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 3000, maxWaitTimeInMs: 100, ...options.consumer },
  });
}
