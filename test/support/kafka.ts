// Kafka helpers for *.int.spec.ts and *.e2e.spec.ts: the real broker that `npm test` starts
// (scripts/kafka/start.sh), reached with kafkajs and with the real `kcat` binary as an outside
// client. Every test uses its own topics and groups: uniqueName().
import { execFile, spawn } from 'node:child_process';
import { IHeaders, Kafka, KafkaConfig, logCreator, logLevel, Partitioners } from 'kafkajs';
import { KAFKA_AUTH_HEADER, KafkaSigner } from '@fleetcompat/auth';
import { createTopicsWithLeaders } from '@fleetcompat/kafka';
import { brokers, uniqueName } from '@fleetcompat/testing';

export { brokers, uniqueName };

// Errors kafkajs logs and then retries on its own (a topic being auto-created, a coordinator
// still loading): noise in test output, so they are dropped. Anything else at ERROR is printed.
const RETRIED =
  /does not host this topic-partition|no leader for this topic-partition|coordinator is (not available|loading)|not the correct coordinator/i;

const testLogCreator: logCreator =
  () =>
  ({ namespace, level, log }) => {
    const raw = (log as { error?: unknown }).error;
    const error = typeof raw === 'string' ? raw : raw instanceof Error ? raw.message : '';
    if (RETRIED.test(error) || RETRIED.test(log.message)) return;
    const { message, ...extra } = log;
    console.error(`kafkajs ${logLevel[level]} [${namespace}] ${message} ${JSON.stringify(extra)}`);
  };

/** A kafkajs client for the test broker, quiet unless something goes wrong (KAFKAJS_LOG_LEVEL=DEBUG|INFO|WARN|ERROR|NOTHING). */
export function kafkaClient(config: Partial<KafkaConfig> = {}): Kafka {
  const level = process.env.KAFKAJS_LOG_LEVEL as keyof typeof logLevel | undefined;
  return new Kafka({
    clientId: 'fleetcompat-test',
    brokers: brokers(),
    logLevel: level && level in logLevel ? logLevel[level] : logLevel.ERROR,
    logCreator: testLogCreator,
    connectionTimeout: 5000,
    retry: { retries: 8, initialRetryTime: 200 },
    ...config,
  });
}

/** Create topics (no-op for those that exist) and wait until they have leaders. */
export async function createTopics(names: string[], partitions = 3): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    await createTopicsWithLeaders(
      admin,
      names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
}

export type OutMessage =
  string | { key?: string | Buffer | null; value: string | Buffer | null; headers?: IHeaders; partition?: number };

export interface ProduceOptions {
  /**
   * Sign every message with this token (the `fleetcompat-auth` header, libs/auth
   * kafka-signature.ts), as the producers of a service with KAFKA_AUTH=signed (the default) must.
   */
  readonly token?: string;
}

/**
 * Produce messages (strings are values without a key), acks=all, then disconnect. The producer
 * is idempotent: a retried send (after "not the leader for that topic-partition" on a loaded
 * machine, say) does not write a message twice, so a test that produces N messages finds N.
 */
export async function produce(topic: string, messages: OutMessage[], options: ProduceOptions = {}): Promise<void> {
  const signer = new KafkaSigner(options.token);
  const producer = kafkaClient().producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: true,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: signer.signAll(
        topic,
        messages.map((m) => (typeof m === 'string' ? { value: m } : m)),
      ),
    });
  } finally {
    await producer.disconnect();
  }
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface ConsumeOptions {
  /** Stop as soon as this holds for the messages read so far. Without it: read until timeoutMs. */
  until?: (messages: ConsumedMessage[]) => boolean;
  /** Give up after this long (default 15 s) and return what was read. */
  timeoutMs?: number;
  /** Consumer group (default: a unique one, so the read starts at the beginning of the topic). */
  groupId?: string;
}

/**
 * Read `topic` from the beginning with a fresh consumer group until `until` holds or
 * `timeoutMs` passes; returns the messages read (in arrival order; ordered per partition).
 * It does not throw on time-out: assert on the result so a failure shows what did arrive.
 */
export async function consumeAll(topic: string, options: ConsumeOptions = {}): Promise<ConsumedMessage[]> {
  const { until, timeoutMs = 15000, groupId = uniqueName('test-group') } = options;
  const consumer = kafkaClient().consumer({
    groupId,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: true,
  });
  const got: ConsumedMessage[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const timer = setTimeout(() => done(), timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
        }
        got.push({
          topic: t,
          partition,
          offset: message.offset,
          key: message.key ? message.key.toString('utf8') : null,
          value: message.value ? message.value.toString('utf8') : null,
          headers,
          timestamp: message.timestamp,
        });
        if (until?.(got)) done();
      },
    });
    if (until?.(got)) done();
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
  return got;
}

// ---------------------------------------------------------------------------------------------
// kcat: the outside client (Debian package `kcat`; .ci/run installs it).

/** The kcat binary (KCAT env, default `kcat` on PATH). */
export function kcatBinary(): string {
  return process.env.KCAT ?? 'kcat';
}

/**
 * Produce one message per line with `kcat -P` (lines must not contain a newline), all with
 * `key` when given. Resolves when kcat has flushed and exited 0.
 */
export function kcatProduce(topic: string, lines: string[], key?: string): Promise<void> {
  for (const l of lines) if (l.includes('\n')) throw new Error('kcatProduce: a line contains a newline');
  const args = ['-P', '-b', brokers().join(','), '-t', topic, '-q'];
  if (key !== undefined) args.push('-k', key);
  return new Promise((resolve, reject) => {
    const child = spawn(kcatBinary(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}: ${stderr.trim()}`)),
    );
    child.stdin.end(lines.length ? lines.join('\n') + '\n' : '');
  });
}

/** One message for kcatProduceEach. */
export interface KcatOut {
  readonly key?: string;
  /** One line: no newline. */
  readonly value: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One `kcat -P` run per message, in order, with its own `-H` headers (kcat's -H applies to
 * every message of a run, so per-message headers such as signatures need a run each).
 */
export async function kcatProduceEach(topic: string, messages: readonly KcatOut[]): Promise<void> {
  for (const m of messages) {
    if (m.value.includes('\n')) throw new Error('kcatProduceEach: a value contains a newline');
    const args = ['-P', '-b', brokers().join(','), '-t', topic, '-q', '-z', 'none'];
    if (m.key !== undefined) args.push('-k', m.key);
    for (const [k, v] of Object.entries(m.headers ?? {})) args.push('-H', `${k}=${v}`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(kcatBinary(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}: ${stderr.trim()}`)),
      );
      child.stdin.end(m.value + '\n');
    });
  }
}

/** kcatProduceEach with every message signed by `token` (null: unsigned), the header computed here and handed to kcat with -H. */
export function kcatProduceSigned(topic: string, messages: readonly KcatOut[], token: string | null): Promise<void> {
  const signer = new KafkaSigner(token);
  return kcatProduceEach(
    topic,
    messages.map((m) => {
      const h = signer.headerValue(topic, m.key ?? null, m.value);
      return h ? { ...m, headers: { ...m.headers, [KAFKA_AUTH_HEADER]: h } } : m;
    }),
  );
}

export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  tstype?: string;
  ts?: number;
}

export interface KcatConsumeOptions {
  /** Exit after this many messages (kcat -c). Without it: read to the current end (kcat -e). */
  count?: number;
  /** Kill kcat after this long (default 15 s) and return what it printed. */
  timeoutMs?: number;
  /** Start offset (kcat -o): 'beginning' (default), 'end', or a number. */
  offset?: 'beginning' | 'end' | number;
}

/** Consume with `kcat -C -J` (from the beginning by default); returns the parsed messages. */
export function kcatConsume(topic: string, options: KcatConsumeOptions = {}): Promise<KcatMessage[]> {
  const { count, timeoutMs = 15000, offset = 'beginning' } = options;
  const args = ['-C', '-b', brokers().join(','), '-t', topic, '-o', String(offset), '-J', '-q', '-u'];
  if (count !== undefined) args.push('-c', String(count));
  else args.push('-e');
  return new Promise((resolve, reject) => {
    execFile(kcatBinary(), args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const messages = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          const j = JSON.parse(l) as KcatMessage & { payload: string | null };
          return {
            topic: j.topic,
            partition: j.partition,
            offset: j.offset,
            key: j.key,
            value: j.payload,
            tstype: j.tstype,
            ts: j.ts,
          };
        });
      // A time-out (killed) still returns what was read; any other failure is an error.
      if (err && !(err as NodeJS.ErrnoException & { killed?: boolean }).killed) {
        reject(new Error(`kcat -C failed: ${err.message} ${String(stderr).trim()}`));
      } else {
        resolve(messages);
      }
    });
  });
}

/** Broker metadata as kcat sees it (`kcat -L -J`): a quick "is the broker there" check. */
export function kcatMetadata(
  timeoutMs = 10000,
): Promise<{ brokers: { id: number; name: string }[]; topics: { topic: string }[] }> {
  return new Promise((resolve, reject) => {
    execFile(
      kcatBinary(),
      ['-L', '-J', '-b', brokers().join(','), '-m', String(Math.ceil(timeoutMs / 1000))],
      { timeout: timeoutMs + 2000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kcat -L failed: ${err.message} ${String(stderr).trim()}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}
