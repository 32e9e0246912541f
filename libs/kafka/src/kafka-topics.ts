import { Logger } from '@nestjs/common';
import { Admin, ITopicMetadata, Kafka } from 'kafkajs';
import { createKafka, KafkaClientOptions } from './kafka-client';
import { errorMessage } from './util';

/** Options of {@link KafkaTopicGate}. */
export interface KafkaTopicGateOptions {
  /** Connection to the cluster. */
  readonly kafka: KafkaClientOptions;
  /** The topics the process needs (prefixed names). */
  readonly topics: readonly string[];
  /** Create the missing ones (else: wait until someone else does). */
  readonly create: boolean;
  /** Partitions of a created topic (unset: the broker's num.partitions). */
  readonly partitions?: number;
  /** Replication factor of a created topic (unset: the broker's default.replication.factor). */
  readonly replicationFactor?: number;
  /** Between two checks while topics are missing or the broker does not answer (default 2000 ms). */
  readonly pollMs?: number;
  /** What to tell the operator who must create the topics (appended to the waiting line). */
  readonly hint?: string;
}

/** Where the check stands, for readiness. */
export interface TopicGateState {
  /** True once every topic exists with a leader for each partition. */
  readonly present: boolean;
  /** The topics not there at the last check (empty when present; all of them before the first check). */
  readonly missing: readonly string[];
  /** Why the last check failed (the broker did not answer, creation refused), if it did. */
  readonly error?: string;
}

/**
 * The start-up check of a process's Kafka topics: lists them, creates the missing ones when
 * allowed (with the given partitions and replication factor), else says in one line which
 * are missing and checks again every `pollMs` until they exist. Nothing here throws: a broker
 * that does not answer, or a creation the cluster refuses, is logged and tried again.
 */
export class KafkaTopicGate {
  private readonly log = new Logger('KafkaTopics');
  private readonly kafka: Kafka;
  private admin?: Admin;
  private closed = false;
  private wake?: () => void;
  private current: TopicGateState;
  private waiting?: Promise<boolean>;

  constructor(private readonly options: KafkaTopicGateOptions) {
    this.kafka = createKafka({ ...options.kafka, retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 } });
    this.current = { present: false, missing: [...options.topics] };
  }

  get state(): TopicGateState {
    return this.current;
  }

  /**
   * Resolves true once every topic exists (creating them first when allowed), false if
   * `close()` was called before. Calls after the first return the same promise.
   */
  untilPresent(): Promise<boolean> {
    this.waiting ??= this.loop();
    return this.waiting;
  }

  /** Stops waiting (untilPresent resolves false) and disconnects. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.waiting?.catch(() => undefined);
    await this.dropAdmin();
  }

  private async loop(): Promise<boolean> {
    const pollMs = this.options.pollMs ?? 2000;
    let saidMissing = '';
    let saidError = '';
    let createRefused = false;
    try {
      while (!this.closed) {
        try {
          let missing = await this.missingTopics();
          if (missing.length && this.options.create && !createRefused) {
            try {
              await this.createTopics(missing);
              missing = await this.missingTopics();
            } catch (e) {
              createRefused = true;
              this.log.warn(
                `could not create the Kafka topics ${missing.join(', ')}: ${errorMessage(e)}; waiting for them instead`,
              );
            }
          }
          this.current = { present: missing.length === 0, missing };
          saidError = '';
          if (!missing.length) {
            this.log.log(`Kafka topics present: ${this.options.topics.join(', ')}`);
            return true;
          }
          const line = missing.join(', ');
          if (line !== saidMissing) {
            this.log.warn(
              `Kafka topics missing: ${line}; waiting for them (checked every ${pollMs} ms)${this.options.hint ? `: ${this.options.hint}` : ''}`,
            );
            saidMissing = line;
          }
        } catch (e) {
          const message = errorMessage(e);
          this.current = { present: false, missing: this.current.missing, error: message };
          if (message !== saidError) {
            this.log.warn(`cannot check the Kafka topics (${message}); trying again every ${pollMs} ms`);
            saidError = message;
          }
          await this.dropAdmin();
        }
        await this.pause(pollMs);
      }
      return false;
    } finally {
      await this.dropAdmin();
    }
  }

  /** Needed topics that do not exist, or have a partition without a leader yet. */
  private async missingTopics(): Promise<string[]> {
    const admin = await this.connect();
    const existing = new Set(await admin.listTopics());
    const missing = this.options.topics.filter((t) => !existing.has(t));
    const present = this.options.topics.filter((t) => existing.has(t));
    if (present.length) {
      const { topics } = await admin.fetchTopicMetadata({ topics: present });
      for (const t of topics) {
        if (!everyPartitionLed(t)) missing.push(t.name);
      }
    }
    return this.options.topics.filter((t) => missing.includes(t));
  }

  private async createTopics(topics: readonly string[]): Promise<void> {
    const admin = await this.connect();
    const partitions = this.options.partitions ?? -1;
    const replicationFactor = this.options.replicationFactor ?? -1;
    this.log.log(
      `creating the Kafka topics ${topics.join(', ')} (partitions: ${partitions < 0 ? "the broker's default" : partitions}, ` +
        `replication factor: ${replicationFactor < 0 ? "the broker's default" : replicationFactor})`,
    );
    await createTopicsWithLeaders(
      admin,
      topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })),
      { existingOk: true },
    );
  }

  private async connect(): Promise<Admin> {
    if (this.admin) return this.admin;
    const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 } });
    try {
      await admin.connect();
    } catch (e) {
      await admin.disconnect().catch(() => undefined);
      throw e;
    }
    this.admin = admin;
    return admin;
  }

  private async dropAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  private pause(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

/** One topic to create (kafkajs's ITopicConfig, the fields this codebase uses). */
export interface NewTopic {
  readonly topic: string;
  /** -1 or unset: the broker's num.partitions. */
  readonly numPartitions?: number;
  /** -1 or unset: the broker's default.replication.factor. */
  readonly replicationFactor?: number;
}

/**
 * Creates topics and resolves once every partition of each has a leader. Not kafkajs's
 * `waitForLeaders`: it retries only LEADER_NOT_AVAILABLE, and a KRaft broker may answer the
 * metadata request right after a create with UNKNOWN_TOPIC_OR_PARTITION ("This server does not
 * host this topic-partition") while the new topic propagates, which kafkajs throws (CI saw
 * it). Both are waited out here, every 100 ms up to `timeoutMs`; any other error is thrown, as
 * is a create refused by the broker (TOPIC_ALREADY_EXISTS too, unless `existingOk`).
 */
export async function createTopicsWithLeaders(
  admin: Admin,
  topics: readonly NewTopic[],
  options: { readonly timeoutMs?: number; readonly existingOk?: boolean } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30000;
  try {
    await admin.createTopics({
      waitForLeaders: false,
      timeout: timeoutMs,
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
      })),
    });
  } catch (e) {
    // Another process created some of them meanwhile: not an error when existingOk.
    const errors = (e as { errors?: { type?: string }[] }).errors;
    const existed =
      Array.isArray(errors) && errors.length > 0 && errors.every((x) => x?.type === 'TOPIC_ALREADY_EXISTS');
    if (!(options.existingOk && existed)) throw e;
  }
  await untilLeaders(
    admin,
    topics.map((t) => t.topic),
    Date.now() + timeoutMs,
  );
}

/** A topic is usable: it has partitions, and each has a leader and no error. */
function everyPartitionLed(t: ITopicMetadata): boolean {
  return t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0);
}

/** Waits until every partition of each topic has a leader; throws at the deadline. */
async function untilLeaders(admin: Admin, topics: readonly string[], deadline: number): Promise<void> {
  for (;;) {
    let lacking: readonly string[] = topics;
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const led = new Set(meta.filter(everyPartitionLed).map((t) => t.name));
      lacking = topics.filter((t) => !led.has(t));
    } catch (e) {
      const type = (e as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw e;
    }
    if (!lacking.length) return;
    if (Date.now() >= deadline)
      throw new Error(`Kafka topics without a leader after the create: ${lacking.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
