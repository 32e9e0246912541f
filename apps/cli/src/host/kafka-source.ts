import { randomBytes } from 'node:crypto';
import {
  Admin,
  AssignerProtocol,
  Consumer,
  Kafka,
  logLevel,
  PartitionAssigner,
  Partitioners,
  Producer,
  SASLOptions,
} from 'kafkajs';
import { KafkaSigner } from '@fleetcompat/auth';
import { SourceSink } from './http-source';

export interface KafkaConnection {
  readonly brokers: string[];
  readonly clientId: string;
  readonly ssl?: boolean;
  readonly sasl?: SASLOptions;
}

/** kafkajs settings from the same variables as the service's (KAFKA_SSL, KAFKA_SASL_*). */
export function kafkaConnectionFromEnv(
  brokers: string[],
  clientId: string,
  env: Readonly<Record<string, string | undefined>>,
): KafkaConnection {
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  const sasl =
    mechanism === 'plain' || mechanism === 'scram-sha-256' || mechanism === 'scram-sha-512'
      ? ({ mechanism, username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' } as SASLOptions)
      : undefined;
  return { brokers, clientId, ssl: env.KAFKA_SSL === 'true' || undefined, sasl };
}

export function kafkaClient(c: KafkaConnection): Kafka {
  return new Kafka({
    clientId: c.clientId,
    brokers: c.brokers,
    ssl: c.ssl,
    sasl: c.sasl,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    retry: { retries: 10, initialRetryTime: 300 },
  });
}

/**
 * The partition the relay sends a host's decisions to: the relay produces with kafkajs'
 * DefaultPartitioner (murmur2 of the key, as the Java client), keyed by hostId. The same
 * function is called here, so agent and relay cannot disagree. It depends on the number of
 * partitions only: adding partitions to the topic moves hosts (as for any keyed topic).
 */
export function partitionFor(hostId: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic: 'placements', partitionMetadata, message: { key: hostId, value: null } });
}

/** A group assigner that gives its member one partition of one topic, and nothing else. */
function onePartitionAssigner(topic: string, partition: number): PartitionAssigner {
  return () => ({
    name: 'FleetcompatHostPartition',
    version: 0,
    async assign({ members }) {
      return members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: { [topic]: [partition] },
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: 'FleetcompatHostPartition',
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}

export interface KafkaSourceOptions {
  readonly connection: KafkaConnection;
  readonly topic: string;
  readonly hostId: string;
  /**
   * Consumer group: a fresh one per start (`<groupPrefix>.<pid>-<random>`), since nothing is
   * committed to it (the position lives in the state folder) and a group of its own never waits
   * for the session of an agent that was killed to time out.
   */
  readonly groupPrefix: string;
  /** Where the agent stopped (from the state), for this partition; null: from the beginning of the partition. */
  readonly start: { partition: number; partitions: number; nextOffset: string | null } | null;
  /** How often the end of the partition is compared with the position (the "in sync" mark), ms. */
  readonly syncCheckMs: number;
  readonly onGap: (message: string) => void;
  readonly log: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Reads the host's partition of the placement topic, and only it: the partition its hostId maps
 * to (partitionFor), assigned by a group assigner of its own; messages keyed by another host
 * are skipped. Starts at the offset saved in the state folder (else at the beginning of the
 * partition), hands each batch's messages and the next offset to the agent, which saves both
 * in one write before the batch is resolved. Nothing is committed to the group.
 */
export class KafkaSource {
  private kafka?: Kafka;
  private consumer?: Consumer;
  private syncTimer?: NodeJS.Timeout;
  private admin?: Admin;
  private checking = false;
  private nextOffset: string | null = null;
  private stopped = false;
  partition = -1;
  partitions = 0;
  batches = 0;

  constructor(
    private readonly o: KafkaSourceOptions,
    private readonly sink: SourceSink,
  ) {}

  async start(): Promise<{ partition: number; partitions: number }> {
    this.kafka = kafkaClient(this.o.connection);
    const admin = this.kafka.admin();
    let earliest = '0';
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [this.o.topic] });
      this.partitions = meta.topics[0]?.partitions.length ?? 0;
      if (!this.partitions) throw new Error(`topic ${this.o.topic} has no partitions`);
      this.partition = partitionFor(this.o.hostId, this.partitions);
      earliest = (await admin.fetchTopicOffsets(this.o.topic)).find((p) => p.partition === this.partition)?.low ?? '0';
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const resume =
      this.o.start && this.o.start.partition === this.partition && this.o.start.partitions === this.partitions
        ? this.o.start.nextOffset
        : null;
    if (this.o.start && this.o.start.nextOffset !== null && resume === null) {
      this.o.log(
        'the topic has another number of partitions than when the agent stopped: reading the new partition from its beginning',
        { before: this.o.start, partitions: this.partitions, partition: this.partition },
      );
    }
    this.nextOffset = resume;
    // never the group's committed offset (nothing is committed, but a group id may be reused): the saved position, else the beginning
    const startAt = resume ?? earliest;
    const consumer = this.kafka.consumer({
      groupId: `${this.o.groupPrefix}.${process.pid}-${randomBytes(4).toString('hex')}`,
      partitionAssigners: [onePartitionAssigner(this.o.topic, this.partition)],
      sessionTimeout: 30000,
      heartbeatInterval: 10000,
      // a fetch returns as soon as a message is there; an idle agent asks every 5 s
      maxWaitTimeInMs: 5000,
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 30000 },
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (batch.partition !== this.partition || !batch.messages.length) return;
        if (!payload.isRunning() || payload.isStale()) return; // a seek is pending: this batch is from before it
        const first = batch.messages[0].offset;
        if (this.nextOffset !== null && BigInt(first) > BigInt(this.nextOffset)) {
          this.o.onGap(
            `partition ${this.partition}: the agent stopped at offset ${this.nextOffset}, the partition now starts at ${first} (messages deleted by retention while it was away)`,
          );
        }
        const values: unknown[] = [];
        for (const m of batch.messages) {
          if (m.key?.toString('utf8') !== this.o.hostId || !m.value) continue;
          try {
            values.push(JSON.parse(m.value.toString('utf8')));
          } catch {
            values.push(null); // counted as invalid by the agent
          }
        }
        const last = batch.messages[batch.messages.length - 1].offset;
        const next = (BigInt(last) + 1n).toString();
        await this.sink.messages(values, { nextOffset: next });
        this.nextOffset = next;
        this.batches++;
        payload.resolveOffset(last);
        await payload.heartbeat();
        if (batch.offsetLag() === '0') await this.sink.synced();
      },
    });
    consumer.seek({ topic: this.o.topic, partition: this.partition, offset: startAt });
    this.syncTimer = setInterval(() => void this.checkSync(), this.o.syncCheckMs);
    void this.checkSync();
    return { partition: this.partition, partitions: this.partitions };
  }

  /** In sync when the position has reached the end of the partition (high watermark). One admin connection, kept. */
  private async checkSync(): Promise<void> {
    if (this.stopped || !this.kafka || this.checking) return;
    this.checking = true;
    try {
      if (!this.admin) {
        const admin = this.kafka.admin();
        await admin.connect();
        this.admin = admin;
      }
      const offsets = await this.admin.fetchTopicOffsets(this.o.topic);
      const p = offsets.find((x) => x.partition === this.partition);
      if (!p) return;
      const position = this.nextOffset ?? (BigInt(p.low) === BigInt(p.high) ? p.high : null);
      if (position !== null && BigInt(position) >= BigInt(p.high)) {
        this.sink.problem(null);
        await this.sink.synced();
      }
    } catch (e) {
      this.sink.problem(`Kafka ${this.o.connection.brokers.join(',')}: ${(e as Error).message}`);
      const admin = this.admin;
      this.admin = undefined;
      await admin?.disconnect().catch(() => undefined);
    } finally {
      this.checking = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.syncTimer);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}

/** PlacementApplied over Kafka (fleet.placement-acks.v1, keyed by hostId, acks=all), signed with the host's token when it has one (KAFKA_AUTH=signed). */
export class KafkaAckSender {
  private producer?: Producer;
  private readonly signer: KafkaSigner;

  constructor(
    private readonly connection: KafkaConnection,
    private readonly topic: string,
    token?: string,
  ) {
    this.signer = new KafkaSigner(token);
  }

  async send(hostId: string, envelopes: object[]): Promise<void> {
    if (!this.producer) {
      const producer = kafkaClient(this.connection).producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      this.producer = producer;
    }
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: this.signer.signAll(
          this.topic,
          envelopes.map((e) => ({ key: hostId, value: JSON.stringify(e) })),
        ),
      });
    } catch (e) {
      const p = this.producer;
      this.producer = undefined;
      await p?.disconnect().catch(() => undefined);
      throw new Error(`Kafka ${this.connection.brokers.join(',')} topic ${this.topic}: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
  }
}
