import { Logger } from '@nestjs/common';
import { Kafka, KafkaConfig, logLevel as KafkaLogLevel, LogEntry, Partitioners, Producer, SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'tls';

/**
 * The one place that builds kafkajs clients. Every kafkajs import of the project lives in
 * libs/kafka, so that `@confluentinc/kafka-javascript`'s KafkaJS-compatible API can replace
 * kafkajs (unmaintained since 2023) by changing this library only.
 */

/** Log levels of the adapter (kafkajs' own levels, by name). */
export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Connection options of a Kafka client. */
export interface KafkaClientOptions {
  /** Bootstrap brokers, "host:port". */
  readonly brokers: readonly string[];
  /** Client id, sent to the broker (quotas, logs). */
  readonly clientId: string;
  /** TLS: `true` for the defaults, or Node's TLS connection options. Passed through to kafkajs. */
  readonly ssl?: boolean | ConnectionOptions;
  /** SASL (plain, scram-sha-256/512, aws, oauthbearer). Passed through to kafkajs. */
  readonly sasl?: SASLOptions;
  /** Connection timeout in ms (kafkajs default 1000). */
  readonly connectionTimeout?: number;
  /** Request timeout in ms (kafkajs default 30000). */
  readonly requestTimeout?: number;
  /** Lowest kafkajs log level forwarded to Nest's Logger. Default `warn` (warn and error only). */
  readonly logLevel?: KafkaLogLevelName;
  /** Client-level retry of kafkajs (connections, metadata, produce). */
  readonly retry?: KafkaRetryOptions;
}

/** Retry options, as kafkajs takes them (exponential with jitter). */
export interface KafkaRetryOptions {
  readonly maxRetryTime?: number;
  readonly initialRetryTime?: number;
  readonly factor?: number;
  readonly multiplier?: number;
  readonly retries?: number;
}

const LEVELS: Record<KafkaLogLevelName, KafkaLogLevel> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

/** Parses a comma-separated broker list (e.g. the KAFKA_BROKERS variable). */
export function parseBrokers(value: string | undefined, fallback = '127.0.0.1:9092'): string[] {
  return (value && value.trim() ? value : fallback)
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

/**
 * Error responses kafkajs logs at ERROR and then retries on its own, which a broker gives while
 * it starts or a group coordinator loads (every first start on a new broker shows them):
 * logged at debug. Other retried responses (no leader, not the leader) go out as warnings.
 */
const COORDINATOR_STARTING = /coordinator is loading|coordinator is not available/i;
const RETRIED_BY_KAFKAJS =
  /no leader for this topic-partition|not the leader for that topic-partition|leader is not available/i;

/** The level a kafkajs entry is logged at: its own, but see COORDINATOR_STARTING. */
export function effectiveKafkaLevel(
  level: KafkaLogLevel,
  namespace: string,
  log: { message?: string; error?: unknown },
): KafkaLogLevel {
  if (level !== KafkaLogLevel.ERROR || namespace !== 'Connection' || !String(log.message ?? '').startsWith('Response '))
    return level;
  const error = String((log.error as string | undefined) ?? ''); // kafkajs gives the error's message
  if (COORDINATOR_STARTING.test(error)) return KafkaLogLevel.DEBUG;
  if (RETRIED_BY_KAFKAJS.test(error)) return KafkaLogLevel.WARN;
  return level;
}

/** A kafkajs `logCreator` that writes to Nest's Logger, context `kafkajs:<namespace>`. */
export function nestLogCreator(): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level: given, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...extra } = log as LogEntry['log'] & { logger?: unknown };
      const level = effectiveKafkaLevel(given, namespace, log);
      const details = Object.keys(extra).length ? ` ${safeJson(extra)}` : '';
      const logger = new Logger(namespace ? `kafkajs:${namespace}` : 'kafkajs');
      const text = `${message}${details}`;
      switch (level) {
        case KafkaLogLevel.ERROR:
          return logger.error(text);
        case KafkaLogLevel.WARN:
          return logger.warn(text);
        case KafkaLogLevel.INFO:
          return logger.log(text);
        default:
          return logger.debug(text);
      }
    };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return String(value);
  }
}

/** Builds a kafkajs client. SSL and SASL settings are passed through unchanged. */
export function createKafka(options: KafkaClientOptions): Kafka {
  if (!options.brokers.length) throw new Error('Kafka: at least one broker is required');
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeout: options.connectionTimeout,
    requestTimeout: options.requestTimeout,
    retry: options.retry ? { ...options.retry } : undefined,
    logLevel: LEVELS[options.logLevel ?? 'warn'],
    logCreator: nestLogCreator(),
  });
}

/**
 * An idempotent producer (`idempotent: true`, one request in flight: per-partition order is
 * kept across retries), with the Java client's murmur2 partitioner so keys land on the same
 * partitions as with other Kafka clients. Sends must use `acks: -1` (all in-sync replicas),
 * which the idempotent producer requires.
 */
export function createIdempotentProducer(kafka: Kafka, options: { retry?: KafkaRetryOptions } = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: options.retry ? { ...options.retry } : undefined,
  });
}

/**
 * One idempotent producer, connected on first use and replaced after a failure: a failed send
 * leaves its sequence state suspect, and a fresh producer (new producer id) starts clean.
 */
export class IdempotentProducerSlot {
  private producer?: Producer;

  constructor(private readonly kafka: () => Kafka) {}

  /** The producer in use, if one is connected (for unwrap()). */
  get current(): Producer | undefined {
    return this.producer;
  }

  async get(): Promise<Producer> {
    if (!this.producer) {
      const producer = createIdempotentProducer(this.kafka());
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  /** Drops the producer (disconnecting it); the next get() connects a new one. */
  async reset(onError: (e: unknown) => void = () => undefined): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(onError);
  }
}

export type { Kafka, Producer };
