import { InputTopics, OutboxStore, Topics } from '@fleetcompat/contract';
import { KafkaKeyring, KafkaKeySource } from '@fleetcompat/auth';
import {
  IngestAuthenticator,
  KafkaClientOptions,
  KafkaIngestServer,
  KafkaIngestServerOptions,
  KafkaTopicGate,
  parseBrokers,
  SignedMessageAuthenticator,
} from '@fleetcompat/kafka';
import { createsTopics, Settings, topicName } from '@fleetcompat/platform';
import { EventSink } from '@fleetcompat/contract';

/** kafkajs connection options from the settings (TLS and SASL passed through). */
export function kafkaOptionsFrom(settings: Settings, role: string): KafkaClientOptions {
  if (!settings.KAFKA_BROKERS) throw new Error('KAFKA_BROKERS is required for this role');
  return {
    brokers: parseBrokers(settings.KAFKA_BROKERS),
    clientId: `${settings.KAFKA_CLIENT_ID}-${role}`,
    ssl: settings.KAFKA_SSL || undefined,
    sasl: settings.KAFKA_SASL_MECHANISM
      ? {
          mechanism: settings.KAFKA_SASL_MECHANISM,
          username: settings.KAFKA_SASL_USERNAME!,
          password: settings.KAFKA_SASL_PASSWORD!,
        }
      : undefined,
  };
}

/** The (prefixed) input topics the ingest consumes. */
export function ingestTopics(settings: Settings): string[] {
  return InputTopics.map((t) => topicName(settings, t));
}

/**
 * KAFKA_AUTH=signed: the signature check of the ingest over the tokens (cached
 * KAFKA_AUTH_CACHE_SECONDS at most; tell its keyring of changes with watchTokenChanges); none: undefined.
 */
export function ingestAuthenticator(
  settings: Settings,
  tokens: KafkaKeySource,
  bootstrapToken: string | undefined,
): SignedMessageAuthenticator | undefined {
  if (settings.KAFKA_AUTH === 'none') return undefined;
  return new SignedMessageAuthenticator(
    new KafkaKeyring(tokens, { bootstrapToken, cacheMs: settings.KAFKA_AUTH_CACHE_SECONDS * 1000 }),
  );
}

/** The ingest transport on the (prefixed) input topics. */
export function createIngestServer(
  settings: Settings,
  sink: EventSink,
  onDeadLettered?: KafkaIngestServerOptions['onDeadLettered'],
  auth?: IngestAuthenticator,
): KafkaIngestServer {
  return new KafkaIngestServer({
    kafka: kafkaOptionsFrom(settings, 'ingest'),
    groupId: settings.KAFKA_GROUP_ID,
    topics: ingestTopics(settings),
    deadLetterTopic: topicName(settings, Topics.deadLetters),
    sink,
    maxBatch: settings.INGEST_BATCH_SIZE,
    topicPrefix: settings.FLEETCOMPAT_TOPIC_PREFIX,
    maxFutureSkewMs: settings.EVENT_MAX_FUTURE_SKEW_SECONDS * 1000,
    consumer: {
      sessionTimeout: settings.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: Math.max(1000, Math.floor(settings.KAFKA_SESSION_TIMEOUT_MS / 10)),
    },
    onDeadLettered,
    auth,
  });
}

/** The outbox with the topic prefix applied to what it hands the relay. */
export function prefixedOutbox(settings: Settings, outbox: OutboxStore): OutboxStore {
  if (!settings.FLEETCOMPAT_TOPIC_PREFIX) return outbox;
  return {
    publishBatch: (limit, publish) =>
      outbox.publishBatch(limit, (messages) =>
        publish(messages.map((m) => ({ ...m, topic: topicName(settings, m.topic) }))),
      ),
  };
}

/** The (prefixed) topics a process needs before its Kafka parts start: the ingest's inputs and dead letters, the relay's decisions. */
export function neededTopics(settings: Settings, parts: { ingest: boolean; relay: boolean }): string[] {
  const topics: string[] = [];
  if (parts.ingest) topics.push(...ingestTopics(settings), topicName(settings, Topics.deadLetters));
  if (parts.relay) topics.push(topicName(settings, Topics.placementDecisions));
  return topics;
}

/** The start-up topic check of a role (creating the missing topics when KAFKA_CREATE_TOPICS says so). */
export function createTopicGate(
  settings: Settings,
  role: string,
  parts: { ingest: boolean; relay: boolean },
): KafkaTopicGate {
  const create = createsTopics(settings, role);
  return new KafkaTopicGate({
    kafka: kafkaOptionsFrom(settings, 'topics'),
    topics: neededTopics(settings, parts),
    create,
    partitions: settings.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: settings.KAFKA_TOPIC_REPLICATION_FACTOR,
    hint: create ? undefined : 'create them, or set KAFKA_CREATE_TOPICS=true to let the service create them',
  });
}
