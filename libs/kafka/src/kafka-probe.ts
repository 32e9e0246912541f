import { Admin, Kafka } from 'kafkajs';
import { createKafka, KafkaClientOptions } from './kafka-client';

/** Lag of a consumer group on one topic-partition. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset (the next offset it will read); -1 when it has none yet. */
  readonly committed: number;
  /** The partition's high watermark (the offset of the next message written). */
  readonly end: number;
  /** Messages written and not yet committed by the group (end - committed, or end - low when none committed). */
  readonly lag: number;
}

/**
 * Health and lag probes against the cluster, for readiness checks and metrics: an admin
 * client of its own, connected lazily, dropped after any failure (so a broker that went
 * away and came back is reached with a fresh connection), each call bounded by `timeoutMs`.
 */
export class KafkaProbe {
  private readonly kafka: Kafka;
  private admin?: Admin;
  private connecting?: Promise<Admin>;

  constructor(
    options: KafkaClientOptions,
    private readonly timeoutMs = 3000,
  ) {
    this.kafka = createKafka({
      connectionTimeout: Math.min(timeoutMs, 1000),
      requestTimeout: timeoutMs,
      logLevel: 'nothing',
      ...options,
      // One attempt per call: the caller probes again soon anyway.
      retry: { retries: 0, initialRetryTime: 100, maxRetryTime: timeoutMs },
    });
  }

  /** Resolves with the number of brokers in the cluster; rejects when no broker answers in time. */
  async ping(): Promise<number> {
    return this.withAdmin(async (admin) => (await admin.describeCluster()).brokers.length);
  }

  /** Lag of `groupId` on every partition of `topics` (topics that do not exist yet are left out). */
  async consumerLag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
    return this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (!present.length) return [];
      const committed = await admin.fetchOffsets({ groupId, topics: present });
      const out: PartitionLag[] = [];
      for (const topic of present) {
        const ends = await admin.fetchTopicOffsets(topic);
        const byPartition = new Map(
          (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
        );
        for (const e of ends) {
          const end = Number(e.high);
          const low = Number(e.low);
          const c = byPartition.get(e.partition) ?? -1;
          out.push({ topic, partition: e.partition, committed: c, end, lag: Math.max(0, end - (c >= 0 ? c : low)) });
        }
      }
      return out;
    });
  }

  /** Disconnects the admin client (idempotent). */
  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    this.connecting = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  private async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.connect().then(fn), timeout]);
    } catch (e) {
      await this.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private connect(): Promise<Admin> {
    if (this.admin) return Promise.resolve(this.admin);
    this.connecting ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
      } catch (e) {
        await admin.disconnect().catch(() => undefined);
        this.connecting = undefined;
        throw e;
      }
      this.admin = admin;
      this.connecting = undefined;
      return admin;
    })();
    return this.connecting;
  }
}
