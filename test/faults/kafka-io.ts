// Kafka I/O of the fault suite against its own broker: topics, the paced producer of the
// workload, full reads of the output topics, and the ingest group's lag.
import { Admin, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { KafkaSigner } from '@fleetcompat/auth';
import { createTopicsWithLeaders } from '@fleetcompat/kafka';
import { kafkaClient } from '../support/kafka';

export function client(brokers: string): Kafka {
  return kafkaClient({
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    clientId: 'fleetcompat-faults',
    retry: { retries: 3, initialRetryTime: 200 },
  });
}

export async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function createTopics(kafka: Kafka, topics: string[], partitions: number): Promise<void> {
  await withAdmin(kafka, (a) =>
    createTopicsWithLeaders(
      a,
      topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    ),
  );
}

export interface OutMessage {
  topic: string;
  key: string | null;
  value: string | Buffer | null;
  partition?: number;
}

/**
 * A producer that keeps trying (the broker may be away): a failed batch is sent again whole.
 * Every message is signed with `token` (the apps' bootstrap admin token: KAFKA_AUTH=signed),
 * poison included, so that each poison message is refused for what it is, not for being unsigned.
 */
export class StubbornProducer {
  private producer?: Producer;
  private readonly signer: KafkaSigner;
  resends = 0;
  failures = 0;

  constructor(
    private readonly kafka: Kafka,
    token?: string,
  ) {
    this.signer = new KafkaSigner(token);
  }

  async send(messages: OutMessage[]): Promise<void> {
    const byTopic = new Map<
      string,
      { key: string | null; value: string | Buffer | null; partition?: number; headers?: Record<string, string> }[]
    >();
    for (const m of messages) {
      if (!byTopic.has(m.topic)) byTopic.set(m.topic, []);
      byTopic.get(m.topic)!.push(
        this.signer.sign(m.topic, {
          key: m.key,
          value: m.value,
          ...(m.partition !== undefined ? { partition: m.partition } : {}),
        }),
      );
    }
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.producer) {
          const p = this.kafka.producer({
            createPartitioner: Partitioners.DefaultPartitioner,
            allowAutoTopicCreation: false,
          });
          await p.connect();
          this.producer = p;
        }
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic.entries()].map(([topic, msgs]) => ({ topic, messages: msgs as any })),
        });
        if (attempt > 0) this.resends += messages.length;
        return;
      } catch {
        this.failures++;
        const p = this.producer;
        this.producer = undefined;
        await p?.disconnect().catch(() => undefined);
        if (attempt > 600) throw new Error('the workload producer could not send for minutes');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
  }
}

export interface Read {
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
}

/** Every message of `topic` up to its current end (high watermarks taken first). */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 180000): Promise<Read[]> {
  const ends = await withAdmin(kafka, (a) => a.fetchTopicOffsets(topic));
  const want = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]));
  const got: Read[] = [];
  if (want.size === 0) return got;
  const reached = new Set<number>();
  const consumer = kafka.consumer({
    groupId: `faults-reader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
    maxBytesPerPartition: 8 << 20,
    maxBytes: 32 << 20,
    maxWaitTimeInMs: 200,
  });
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const timer = setTimeout(() => done(), timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          got.push({
            partition: batch.partition,
            offset: Number(m.offset),
            key: m.key?.toString('utf8') ?? null,
            value: m.value,
          });
          if (Number(m.offset) >= (want.get(batch.partition) ?? 0) - 1) reached.add(batch.partition);
        }
        if ([...want.keys()].every((p) => reached.has(p))) done();
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
  if (![...want.keys()].every((p) => reached.has(p)))
    throw new Error(`reading ${topic}: did not reach the end of every partition in ${timeoutMs} ms`);
  return got
    .filter((m) => m.offset < (want.get(m.partition) ?? 0))
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Messages not yet committed by `groupId`, per topic-partition with lag. */
export async function groupLag(
  kafka: Kafka,
  groupId: string,
  topics: string[],
): Promise<{ topic: string; partition: number; lag: number }[]> {
  return withAdmin(kafka, async (admin) => {
    const out: { topic: string; partition: number; lag: number }[] = [];
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const c = committed.find((t) => t.topic === topic);
      for (const e of ends) {
        const off = Number(c?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
        const from = off < 0 ? Number(e.low) : off;
        const lag = Number(e.high) - from;
        if (lag > 0) out.push({ topic, partition: e.partition, lag });
      }
    }
    return out;
  });
}
