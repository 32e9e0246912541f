import { Logger } from '@nestjs/common';
import { OutboxMessage, OutboxStore } from '@fleetcompat/contract';
import { Kafka, TopicMessages } from 'kafkajs';
import { createKafka, IdempotentProducerSlot, KafkaClientOptions } from './kafka-client';
import { backoffDelay, errorMessage } from './util';

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Connection to the cluster (brokers, clientId, ssl, sasl, log level). */
  readonly kafka: KafkaClientOptions;
  /** The transactional outbox (committed rows only). */
  readonly outbox: OutboxStore;
  /** Most messages per `publishBatch` call, i.e. per producer request. Default 500. */
  readonly batchSize?: number;
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
  private readonly pollIntervalMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private kafka?: Kafka;
  private readonly producers = new IdempotentProducerSlot(() => this.kafka!);
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private notified = false;
  private counters = { published: 0, batches: 0, failures: 0 };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = Math.max(1, options.batchSize ?? 500);
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.retryInitialMs = options.retryInitialMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
  }

  get stats(): RelayStats {
    return { ...this.counters };
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts the loop (the producer connects in it, with retries). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.kafka ??= createKafka(this.options.kafka);
    this.loop = this.run();
    this.log.log(`relaying the outbox (batches of ${this.batchSize}, polling every ${this.pollIntervalMs} ms)`);
  }

  /** New rows were committed: poll now instead of at the end of the interval. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Finishes the batch in hand, stops the loop and disconnects the producer. */
  async stop(): Promise<void> {
    if (!this.running) {
      await this.loop;
      return;
    }
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.producers.reset((e) => this.log.warn(`producer disconnect: ${errorMessage(e)}`));
    this.log.log('outbox relay stopped');
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        this.notified = false;
        const n = await this.options.outbox.publishBatch(this.batchSize, (messages) => this.publish(messages));
        failures = 0;
        if (n > 0) {
          this.counters.published += n;
          this.counters.batches++;
          this.log.debug(`published ${n} outbox messages`);
          continue; // there may be more
        }
        await this.wait(this.pollIntervalMs, true);
      } catch (e) {
        failures++;
        this.counters.failures++;
        const delay = backoffDelay(failures, this.retryInitialMs, this.retryMaxMs);
        this.log.warn(`outbox publish failed (attempt ${failures}), retrying in ${delay} ms: ${errorMessage(e)}`);
        await this.producers.reset();
        await this.wait(delay, false);
      }
    }
  }

  /** Sends one batch in a single request and waits for the broker's acknowledgement. */
  private async publish(messages: readonly OutboxMessage[]): Promise<void> {
    if (!messages.length) return;
    const producer = await this.producers.get();
    // Group by topic, keeping the order within each topic (hence within each partition).
    const byTopic = new Map<string, TopicMessages>();
    for (const m of messages) {
      let group = byTopic.get(m.topic);
      if (!group) byTopic.set(m.topic, (group = { topic: m.topic, messages: [] }));
      group.messages.push({ key: m.key, value: m.value, headers: m.headers ? { ...m.headers } : undefined });
    }
    await producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
  }



  /** Sleeps up to `ms`; `stop()` always wakes it, `notify()` only when `wakeOnNotify`. */
  private wait(ms: number, wakeOnNotify: boolean): Promise<void> {
    if (!this.running || (wakeOnNotify && this.notified)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = () => {
        if (!this.running || wakeOnNotify) done();
      };
    });
  }
}
