import { Logger } from '@nestjs/common';
import { OutboxMessage, OutboxStore } from '@fleetcompat/contract';
import { Kafka, TopicMessages } from 'kafkajs';
import { createKafka, IdempotentProducerSlot, KafkaClientOptions } from './kafka-client';
import { WorkLoop } from '@fleetcompat/loop';
import { errorMessage } from './util';

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Connection to the cluster (brokers, clientId, ssl, sasl, log level). */
  readonly kafka: KafkaClientOptions;
  /** The transactional outbox (committed rows only). */
  readonly outbox: OutboxStore;
  /** Messages of the first `publishBatch` call (one transaction), and of every one while the outbox keeps up. Default 500. */
  readonly batchSize?: number;
  /**
   * Most messages per `publishBatch` call when there is a backlog: each full batch doubles the
   * next one, up to this; a batch that is not full goes back to `batchSize`. Default 4000
   * (never below `batchSize`).
   */
  readonly maxBatchSize?: number;
  /** How long to wait after an empty batch before polling again, ms. Default 100; `notify()` wakes it early. */
  readonly pollIntervalMs?: number;
  /** Backoff after a failure: first delay in ms (default 100). */
  readonly retryInitialMs?: number;
  /** Backoff cap in ms (default 5000). */
  readonly retryMaxMs?: number;
}

/** Counters since construction (for metrics). */
export interface RelayStats {
  /** Messages published and marked. */
  readonly published: number;
  /** Non-empty batches published. */
  readonly batches: number;
  /** Failed attempts (publish or mark), each followed by a backoff and a retry. */
  readonly failures: number;
}

/**
 * Most bytes (keys, values and headers) per producer request. A request holds one record
 * batch per partition, and the broker refuses a record batch over its `message.max.bytes`
 * (1,048,588 by default): with requests under that, no partition's batch can exceed it,
 * whatever the number of partitions. A message larger than this goes alone in its request.
 */
export const MAX_REQUEST_BYTES = 900_000;

/**
 * Splits `messages` into consecutive requests of at most `maxMessages` messages and about
 * `maxBytes` bytes each, keeping their order (a message over `maxBytes` is a request of its own).
 */
export function splitRequests(
  messages: readonly OutboxMessage[],
  maxMessages: number,
  maxBytes = MAX_REQUEST_BYTES,
): OutboxMessage[][] {
  const out: OutboxMessage[][] = [];
  let current: OutboxMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    // UTF-8 bytes, as sent (a string's length undercounts non-ASCII text up to three times, and a
    // request over the broker's limit is retried forever)
    let size = Buffer.byteLength(m.key) + Buffer.byteLength(m.value) + Buffer.byteLength(m.topic) + 32;
    if (m.headers)
      for (const [k, v] of Object.entries(m.headers)) size += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
    if (current.length && (current.length >= maxMessages || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * Publishes the transactional outbox to Kafka. A loop calls `outbox.publishBatch(limit,
 * publish)`; `publish` sends the batch with an idempotent producer (`idempotent: true`, one
 * request in flight, `acks: -1`) in one `sendBatch` call, which keeps the order of messages
 * per topic-partition (so per key), and resolves only once the broker acknowledged all of
 * them; the store marks the rows published only then, in its transaction. On any failure
 * nothing is marked: the relay logs, backs off (exponential, capped) and tries the same rows
 * again, so nothing committed is ever dropped (a failure after the send but before the mark
 * publishes the rows again: at least once; consumers dedupe by decision id / sequence).
 * Rows reach the outbox only in the projector's transaction, so nothing is published before
 * its database commit.
 */
export class OutboxRelay {
  private readonly log = new Logger(OutboxRelay.name);
  private readonly batchSize: number;
  private readonly maxBatchSize: number;
  /** Messages the next batch may take: `batchSize`, doubled after each full batch up to `maxBatchSize`. */
  private limit: number;
  private readonly pollIntervalMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private kafka?: Kafka;
  private readonly producers = new IdempotentProducerSlot(() => this.kafka!);
  /** Batches back to back while the outbox has rows; idle (woken by notify) when empty; backoff after a failure. */
  private readonly loop: WorkLoop;
  private counters = { published: 0, batches: 0, failures: 0 };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = Math.max(1, options.batchSize ?? 500);
    this.maxBatchSize = Math.max(this.batchSize, options.maxBatchSize ?? 4000);
    this.limit = this.batchSize;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.retryInitialMs = options.retryInitialMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
    this.loop = new WorkLoop({
      step: async () => {
        const limit = this.limit;
        const n = await this.options.outbox.publishBatch(limit, (messages) => this.publish(messages));
        // A full batch: there is a backlog, and the next batch takes more (each batch costs a
        // transaction: begin, lock, select, delete, commit); otherwise back to the small one.
        this.limit = n >= limit ? Math.min(this.maxBatchSize, limit * 2) : this.batchSize;
        if (n === 0) return { waitMs: this.pollIntervalMs, wakeOnNotify: true };
        this.counters.published += n;
        this.counters.batches++;
        this.log.debug(`published ${n} outbox messages`);
        return 'again'; // there may be more
      },
      backoffInitialMs: this.retryInitialMs,
      backoffMaxMs: this.retryMaxMs,
      onFailure: async (e, attempt, delay) => {
        this.counters.failures++;
        this.limit = this.batchSize;
        this.log.warn(`outbox publish failed (attempt ${attempt}), retrying in ${delay} ms: ${errorMessage(e)}`);
        await this.producers.reset();
      },
    });
  }

  get stats(): RelayStats {
    return { ...this.counters };
  }

  get isRunning(): boolean {
    return this.loop.isRunning;
  }

  /** Starts the loop (the producer connects in it, with retries). Idempotent. */
  start(): void {
    if (this.loop.isRunning) return;
    this.kafka ??= createKafka(this.options.kafka);
    this.loop.start();
    this.log.log(
      `relaying the outbox (batches of ${this.batchSize}, up to ${this.maxBatchSize} with a backlog, polling every ${this.pollIntervalMs} ms)`,
    );
  }

  /** New rows were committed: poll now instead of at the end of the interval. */
  notify(): void {
    this.loop.notify();
  }

  /** Finishes the batch in hand, stops the loop and disconnects the producer. */
  async stop(): Promise<void> {
    if (!this.loop.isRunning) return;
    await this.loop.stop();
    await this.producers.reset((e) => this.log.warn(`producer disconnect: ${errorMessage(e)}`));
    this.log.log('outbox relay stopped');
  }

  /**
   * Sends one batch in consecutive requests (at most `maxBatchSize` messages and
   * {@link MAX_REQUEST_BYTES} each), one at a time, each awaited before the next: the order
   * per partition is the batch's. Resolves once the broker acknowledged every request; a
   * failure of any rejects the whole batch (nothing is marked; the requests already
   * acknowledged go out again with the retry, before anything newer).
   */
  private async publish(messages: readonly OutboxMessage[]): Promise<void> {
    if (!messages.length) return;
    const producer = await this.producers.get();
    for (const request of splitRequests(messages, this.maxBatchSize)) {
      // Group by topic, keeping the order within each topic (hence within each partition).
      const byTopic = new Map<string, TopicMessages>();
      for (const m of request) {
        let group = byTopic.get(m.topic);
        if (!group) byTopic.set(m.topic, (group = { topic: m.topic, messages: [] }));
        group.messages.push({ key: m.key, value: m.value, headers: m.headers ? { ...m.headers } : undefined });
      }
      await producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
    }
  }
}
