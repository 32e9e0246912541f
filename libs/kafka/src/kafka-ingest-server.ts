import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { EventSink, IncomingEvent, InputTopics, isUnstorable, Topics } from '@fleetcompat/contract';
import { Consumer, EachBatchPayload, Kafka, KafkaJSError } from 'kafkajs';
import { createKafka, IdempotentProducerSlot, KafkaClientOptions, KafkaRetryOptions } from './kafka-client';
import {
  DeadLetterRecord,
  HandledBatch,
  IngestBatchHandler,
  MAX_DEAD_LETTER_BYTES,
  RawMessage,
} from './ingest-batch-handler';
import type { IngestAuthenticator } from './ingest-auth';
import { backoffDelay, errorMessage, sleep } from './util';

/** Consumer tuning, passed to kafkajs (defaults are kafkajs' unless said otherwise). */
export interface IngestConsumerOptions {
  /** ms without heartbeat before the broker drops the member (kafkajs default 30000). */
  readonly sessionTimeout?: number;
  /** ms between heartbeats (kafkajs default 3000). */
  readonly heartbeatInterval?: number;
  /** ms the coordinator waits for members to rejoin during a rebalance (kafkajs default 60000). */
  readonly rebalanceTimeout?: number;
  /** Longest fetch wait on the broker in ms (kafkajs default 5000). */
  readonly maxWaitTimeInMs?: number;
  /** Fetch size per partition in bytes (kafkajs default 1 MiB). */
  readonly maxBytesPerPartition?: number;
  /** Partitions handled in parallel (default 1). */
  readonly partitionsConsumedConcurrently?: number;
  /** The consumer's retry of kafkajs errors before it restarts itself. */
  readonly retry?: KafkaRetryOptions;
}

/** Options of {@link KafkaIngestServer}. */
export interface KafkaIngestServerOptions {
  /** Connection to the cluster (brokers, clientId, ssl, sasl, log level). */
  readonly kafka: KafkaClientOptions;
  /** Consumer group id, used as is (no `-server` suffix). */
  readonly groupId: string;
  /** Topics to consume. Default: the contract's `InputTopics`. */
  readonly topics?: readonly string[];
  /** Where rejected messages go. Default: `Topics.deadLetters` (fleet.dead-letters.v1). */
  readonly deadLetterTopic?: string;
  /** The idempotent store of valid events (the event store in production). */
  readonly sink: EventSink;
  /** Most messages per `sink.store` call and per offset commit. Default 500. */
  readonly maxBatch?: number;
  /** Where a group with no committed offset starts: earliest (default true) or latest. */
  readonly fromBeginning?: boolean;
  /** Backoff between attempts when the sink or the dead-letter send fails: first delay in ms (default 100). */
  readonly retryInitialMs?: number;
  /** Backoff cap in ms (default 5000). */
  readonly retryMaxMs?: number;
  /** Largest original value kept in a dead letter, bytes (default 256 KiB). */
  readonly maxDeadLetterValueBytes?: number;
  /** The prefix of the topic names (FLEETCOMPAT_TOPIC_PREFIX): an event must come on its own topic, prefixed. */
  readonly topicPrefix?: string;
  /** How far ahead of this process's clock an occurredAt may be (default 5 minutes). */
  readonly maxFutureSkewMs?: number;
  /** kafkajs consumer tuning (tests make the group timeouts small). */
  readonly consumer?: IngestConsumerOptions;
  /**
   * KAFKA_AUTH=signed: every message must carry a valid `fleetcompat-auth` signature of a known
   * token whose role may write its event (else dead letter `unauthenticated` / `forbidden`).
   * Absent: no check (KAFKA_AUTH=none: the broker's ACLs alone decide who writes).
   */
  readonly auth?: IngestAuthenticator;
  /** Called with the dead letters of a chunk once the broker has acknowledged them (for metrics). */
  readonly onDeadLettered?: (records: readonly DeadLetterRecord[]) => void;
}

/** Counters since the server was constructed (for metrics). */
export interface IngestStats {
  /** Events newly stored (the sink's `stored`). */
  readonly stored: number;
  /** Events the sink already had (redeliveries, producer retries). */
  readonly duplicates: number;
  /** Messages published to the dead-letter topic. */
  readonly deadLettered: number;
  /** Chunks handled and committed (one `sink.store` call and one commit each). */
  readonly batches: number;
  /** Failed attempts to store or dead-letter (each followed by a backoff and a retry). */
  readonly failures: number;
  /** Consumer crashes seen (kafkajs restarts the consumer, or this server does). */
  readonly crashes: number;
}

type Status = 'connected' | 'disconnected' | 'rebalancing' | 'crashed' | 'stopped';

/**
 * The ingest transport: a Nest custom transport strategy (use it as `strategy` in
 * `createMicroservice` or `connectMicroservice`) that consumes the input topics with kafkajs
 * `eachBatch` and feeds the {@link EventSink}. It does not dispatch to `@EventPattern`
 * handlers: every valid event goes to the sink, every invalid one to the dead-letter topic.
 *
 * Per batch (chunks of `maxBatch` messages of one partition): valid events go to
 * `sink.store` in one call, rejected ones to the dead-letter topic (idempotent producer,
 * awaited); only when both succeeded is `offset + 1` of the last message committed. If the
 * sink or the dead-letter send fails, the same messages are retried with exponential backoff
 * (capped), heartbeating meanwhile, until they succeed, the partition is revoked, or the
 * server is closed; nothing is committed until then. A poison message is dead-lettered and
 * committed like any other, so a partition never gets stuck on it.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Nest's Server: its event map is of Function
export class KafkaIngestServer extends Server<Record<string, Function>, Status> implements CustomTransportStrategy {
  private readonly log = new Logger(KafkaIngestServer.name);
  private readonly handler: IngestBatchHandler;
  private readonly topics: readonly string[];
  private readonly deadLetterTopic: string;
  private readonly maxBatch: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly listeners: { event: string; callback: unknown }[] = [];
  private kafka?: Kafka;
  private consumer?: Consumer;
  private readonly producers = new IdempotentProducerSlot(() => this.kafka!);
  private closing = false;
  private restarting?: Promise<void>;
  private counters = { stored: 0, duplicates: 0, deadLettered: 0, batches: 0, failures: 0, crashes: 0 };
  /** Partitions whose current chunk keeps failing, since when, and the last error. */
  private readonly stuckSince = new Map<string, { since: number; error: string }>();

  constructor(private readonly options: KafkaIngestServerOptions) {
    super();
    if (!options.groupId) throw new Error('KafkaIngestServer: groupId is required');
    this.topics = options.topics ?? InputTopics;
    if (!this.topics.length) throw new Error('KafkaIngestServer: at least one topic is required');
    this.deadLetterTopic = options.deadLetterTopic ?? Topics.deadLetters;
    if (this.topics.includes(this.deadLetterTopic)) {
      throw new Error('KafkaIngestServer: the dead-letter topic cannot be an input topic');
    }
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.retryInitialMs = options.retryInitialMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
    this.handler = new IngestBatchHandler({
      maxDeadLetterValueBytes: options.maxDeadLetterValueBytes,
      topicPrefix: options.topicPrefix,
      maxFutureSkewMs: options.maxFutureSkewMs,
      auth: options.auth,
    });
  }

  /** Counters for metrics. */
  get stats(): IngestStats {
    return { ...this.counters };
  }

  /** Nest calls this on `app.listen()`: connects, subscribes and starts consuming. */
  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (e) {
      callback(e);
    }
  }

  /** Connects, subscribes and starts consuming; resolves once the consumer runs (the group join follows). */
  async start(): Promise<void> {
    this.closing = false;
    this.kafka = createKafka(this.options.kafka);
    try {
      await this.producers.get();
      await this.startConsumer();
    } catch (e) {
      await this.close();
      throw e;
    }
    this.log.log(
      `consuming ${this.topics.join(', ')} as group ${this.options.groupId}; dead letters to ${this.deadLetterTopic}; ` +
        (this.options.auth
          ? 'messages must be signed (KAFKA_AUTH=signed)'
          : 'messages are not authenticated (KAFKA_AUTH=none: the broker ACLs alone)'),
    );
  }

  /**
   * Stops consuming and disconnects. A batch in hand is finished if its store call completes;
   * if it is still failing, it is abandoned uncommitted (the next member redelivers it). A
   * `sink.store` call that never settles holds this up: the sink should time out its calls.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.restarting?.catch(() => undefined);
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect().catch((e) => this.log.warn(`consumer disconnect: ${errorMessage(e)}`));
    await this.producers.reset((e) => this.log.warn(`producer disconnect: ${errorMessage(e)}`));
    this._status$.next('stopped');
  }

  /** Registers a listener for a kafkajs consumer instrumentation event (e.g. `consumer.group_join`). */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the signature Nest's Server declares
  on<EventKey extends string = string, EventCallback extends Function = Function>(
    event: EventKey,
    callback: EventCallback,
  ): void {
    this.listeners.push({ event, callback });
    this.consumer?.on(event as never, callback as never); // Nest's untyped listener API: the caller names a kafkajs event and its listener
  }

  /** The kafkajs objects: `{ kafka, consumer, producer }`. */
  unwrap<T>(): T {
    if (!this.consumer) throw new Error('KafkaIngestServer is not started: call listen() first');
    return { kafka: this.kafka, consumer: this.consumer, producer: this.producers.current } as T;
  }

  private async startConsumer(): Promise<void> {
    const kafka = this.kafka!;
    const c = this.options.consumer ?? {};
    const consumer = kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: c.sessionTimeout,
      heartbeatInterval: c.heartbeatInterval,
      rebalanceTimeout: c.rebalanceTimeout,
      maxWaitTimeInMs: c.maxWaitTimeInMs,
      maxBytesPerPartition: c.maxBytesPerPartition,
      retry: {
        ...c.retry,
        // kafkajs asks this only for retriable errors; restart on every one of them.
        restartOnFailure: async (e) => {
          this.log.warn(`consumer failed, kafkajs restarts it: ${errorMessage(e)}`);
          return true;
        },
      },
    });
    const ev = consumer.events;
    consumer.on(ev.CONNECT, () => this._status$.next('connected'));
    consumer.on(ev.DISCONNECT, () => this._status$.next('disconnected'));
    consumer.on(ev.REBALANCING, () => this._status$.next('rebalancing'));
    consumer.on(ev.CRASH, (event) => this.onCrash(consumer, event.payload.error, event.payload.restart));
    for (const { event, callback } of this.listeners) consumer.on(event as never, callback as never); // as in on()
    this.consumer = consumer;

    await consumer.connect();
    await consumer.subscribe({ topics: [...this.topics], fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** A crash kafkajs will not recover from (a non-retriable error): rebuild the consumer ourselves. */
  private onCrash(consumer: Consumer, error: Error, restart: boolean): void {
    this.counters.crashes++;
    this._status$.next('crashed');
    if (restart || this.closing || this.consumer !== consumer) return;
    this.log.error(`consumer crashed and kafkajs will not restart it: ${errorMessage(error)}; restarting it`);
    this.restarting = (async () => {
      for (let attempt = 1; !this.closing; attempt++) {
        await sleep(backoffDelay(attempt, this.retryInitialMs, this.retryMaxMs));
        if (this.closing) return;
        try {
          await this.consumer?.disconnect().catch(() => undefined);
          await this.startConsumer();
          return;
        } catch (e) {
          this.log.error(`consumer restart failed: ${errorMessage(e)}`);
        }
      }
    })().finally(() => (this.restarting = undefined));
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    try {
      await this.processBatch(payload);
    } catch (e) {
      // kafkajs treats TypeError & co as unrecoverable and would stop the consumer for good;
      // anything of ours is retriable: kafkajs re-fetches from the last resolved offset.
      if (e instanceof KafkaJSError) throw e;
      throw new KafkaJSError(e instanceof Error ? e : String(e), { retriable: true });
    }
  }

  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition, messages } = batch;
    for (let i = 0; i < messages.length; i += this.maxBatch) {
      if (!payload.isRunning() || payload.isStale() || this.closing) return;
      const chunk = messages.slice(i, i + this.maxBatch);
      const started = Date.now();
      if (this.options.auth && !(await this.prepareAuth(this.options.auth, chunk, payload, `${topic}[${partition}]`)))
        return;
      const handled = this.handler.handle(topic, partition, chunk);
      const outcome = await this.deliver(handled, payload, { topic, partition, messages: chunk });
      if (!outcome) return; // closing or revoked: leave uncommitted, the next owner redelivers
      const last = chunk[chunk.length - 1].offset;
      payload.resolveOffset(last);
      // With autoCommit off, payload.commitOffsetsIfNecessary() without offsets commits nothing;
      // commit explicitly the next offset to read. At the end of the fetched batch use its
      // lastOffset (it may be past the last message: transaction control records).
      const endOfBatch = i + chunk.length >= messages.length;
      const lastOffset = endOfBatch ? maxOffset(batch.lastOffset(), last) : last;
      const next = (BigInt(lastOffset) + 1n).toString();
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
      this.counters.batches++;
      const line =
        `${topic}[${partition}] offsets ${chunk[0].offset}..${last}: ${handled.toStore.length} valid ` +
        `(${outcome.stored} stored, ${outcome.duplicates} duplicates), ${handled.deadLetters.length} dead-lettered, ` +
        `committed ${next} in ${Date.now() - started} ms`;
      if (handled.deadLetters.length) this.log.warn(line);
      else this.log.debug(line);
      await payload.heartbeat();
    }
  }

  /**
   * Stores the valid events, then sends the dead letters, retrying each step until it
   * succeeds. An event Postgres refuses as data (see isDataError: it would fail every retry)
   * is found by splitting the chunk, and dead-lettered (`unstorable`) with the rest going on;
   * any other failure is retried as it is. Returns null when it gave up because the server
   * is closing or the partition was revoked (nothing committed then).
   */
  private async deliver(
    handled: HandledBatch,
    payload: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>,
    source: { topic: string; partition: number; messages: readonly RawMessage[] },
  ): Promise<{ stored: number; duplicates: number } | null> {
    const tp = `${source.topic}[${source.partition}]`;
    let outcome: { stored: number; duplicates: number } | undefined;
    let deadLetters = handled.deadLetters;
    let deadLettered = deadLetters.length === 0;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!outcome) {
          const r = await this.storeSplitting(handled.toStore);
          outcome = { stored: r.stored, duplicates: r.duplicates };
          this.counters.stored += outcome.stored;
          this.counters.duplicates += outcome.duplicates;
          if (r.unstorable.length) {
            const byOffset = new Map(source.messages.map((m) => [m.offset, m]));
            const letters = r.unstorable.map(({ event, reason, code }) => {
              const origin = event.origin as { offset?: string };
              const message = byOffset.get(origin.offset ?? '') ?? {
                offset: origin.offset ?? '-1',
                value: JSON.stringify(event.event),
              };
              return this.handler.deadLetter(source.topic, source.partition, message, {
                code: code ?? 'unstorable',
                message: reason,
                eventId: event.event.eventId,
              });
            });
            // in offset order with the chunk's other dead letters
            deadLetters = [...deadLetters, ...letters].sort((a, b) =>
              BigInt(a.letter.offset ?? -1) < BigInt(b.letter.offset ?? -1) ? -1 : 1,
            );
            deadLettered = false;
          }
        }
        if (!deadLettered) {
          await this.sendDeadLetters(deadLetters);
          this.counters.deadLettered += deadLetters.length;
          deadLettered = true;
          this.options.onDeadLettered?.(deadLetters);
        }
        this.stuckSince.delete(tp);
        return outcome;
      } catch (e) {
        this.counters.failures++;
        if (!this.stuckSince.has(tp)) this.stuckSince.set(tp, { since: Date.now(), error: errorMessage(e) });
        else this.stuckSince.get(tp)!.error = errorMessage(e);
        const delay = backoffDelay(attempt, this.retryInitialMs, this.retryMaxMs);
        const step = outcome ? 'dead-letter send' : 'sink.store';
        this.log.warn(`${step} failed (attempt ${attempt}), retrying in ${delay} ms: ${errorMessage(e)}`);
        if (outcome) await this.producers.reset();
        if (!(await this.backoff(delay, payload))) {
          this.stuckSince.delete(tp);
          return null;
        }
      }
    }
  }

  /**
   * Loads the signing keys the chunk names (token store lookups, cached), retrying with
   * backoff like a failed store; false when closing or revoked meanwhile.
   */
  private async prepareAuth(
    auth: IngestAuthenticator,
    chunk: readonly RawMessage[],
    payload: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>,
    tp: string,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await auth.prepare(chunk);
        this.stuckSince.delete(tp);
        return true;
      } catch (e) {
        this.counters.failures++;
        if (!this.stuckSince.has(tp)) this.stuckSince.set(tp, { since: Date.now(), error: errorMessage(e) });
        else this.stuckSince.get(tp)!.error = errorMessage(e);
        const delay = backoffDelay(attempt, this.retryInitialMs, this.retryMaxMs);
        this.log.warn(
          `token lookup for the signatures failed (attempt ${attempt}), retrying in ${delay} ms: ${errorMessage(e)}`,
        );
        if (!(await this.backoff(delay, payload))) {
          this.stuckSince.delete(tp);
          return false;
        }
      }
    }
  }

  /**
   * Stores the events; when Postgres refuses one of them as data, splits the events in
   * halves until the refused ones are alone, stores the others and returns the refused with
   * the reason. Other errors are thrown (retried by the caller).
   */
  private async storeSplitting(events: readonly IncomingEvent[]): Promise<{
    stored: number;
    duplicates: number;
    unstorable: { event: IncomingEvent; reason: string; code?: 'conflict' }[];
  }> {
    if (!events.length) return { stored: 0, duplicates: 0, unstorable: [] };
    try {
      const r = await this.options.sink.store(events);
      // an eventId another event took first: refused like invalid input, so that the producer sees it
      const refused = (r.conflicts ?? [])
        .map((c) => events[c.index])
        .map((event) => ({
          event,
          code: 'conflict' as const,
          reason: `eventId ${event.event.eventId} is already stored with other content (type, occurredAt or data): not stored`,
        }));
      return { stored: r.stored, duplicates: r.duplicates - refused.length, unstorable: refused };
    } catch (e) {
      if (!isUnstorable(e)) throw e;
      if (events.length === 1) {
        this.log.warn(`event ${events[0].event.eventId} refused by Postgres, dead-lettered: ${errorMessage(e)}`);
        return {
          stored: 0,
          duplicates: 0,
          unstorable: [
            { event: events[0], reason: `Postgres refused the event (SQLSTATE ${e.sqlState}): ${errorMessage(e)}` },
          ],
        };
      }
      const mid = Math.ceil(events.length / 2);
      const a = await this.storeSplitting(events.slice(0, mid));
      const b = await this.storeSplitting(events.slice(mid));
      return {
        stored: a.stored + b.stored,
        duplicates: a.duplicates + b.duplicates,
        unstorable: [...a.unstorable, ...b.unstorable],
      };
    }
  }

  /** Partitions whose chunk has failed to be stored or dead-lettered for at least `ms` (messages wait behind it). */
  stalledPartitions(ms: number, now = Date.now()): { partition: string; forSeconds: number; error: string }[] {
    return [...this.stuckSince.entries()]
      .filter(([, s]) => now - s.since >= ms)
      .map(([partition, s]) => ({ partition, forSeconds: Math.round((now - s.since) / 1000), error: s.error }));
  }

  /** Waits `ms`, heartbeating; false if the server is closing or the partition was revoked. */
  private async backoff(
    ms: number,
    payload: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>,
  ): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      if (this.closing || !payload.isRunning() || payload.isStale()) return false;
      // Throws when the group rebalances: kafkajs rejoins and redelivers from the last commit.
      await payload.heartbeat();
      const left = until - Date.now();
      if (left <= 0) return true;
      await sleep(Math.min(left, 100));
    }
  }

  /**
   * Publishes the dead letters in order, in requests of at most MAX_DEAD_LETTER_BYTES of
   * values: kafkajs puts one partition's messages of a request in one record batch, and the
   * broker refuses a batch over its message.max.bytes (1 MiB by default) for good, which
   * would retry the chunk forever. A letter is at most MAX_DEAD_LETTER_BYTES itself.
   */
  private async sendDeadLetters(records: readonly DeadLetterRecord[]): Promise<void> {
    const producer = await this.producers.get();
    let group: DeadLetterRecord[] = [];
    let bytes = 0;
    const flush = async () => {
      if (!group.length) return;
      await producer.send({
        topic: this.deadLetterTopic,
        acks: -1,
        messages: group.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      });
      group = [];
      bytes = 0;
    };
    for (const r of records) {
      const size = Buffer.byteLength(r.value) + (r.key ? Buffer.byteLength(r.key) : 0);
      if (group.length && bytes + size > MAX_DEAD_LETTER_BYTES) await flush();
      group.push(r);
      bytes += size;
    }
    await flush();
  }
}

function maxOffset(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}
