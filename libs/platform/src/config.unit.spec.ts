import { ConfigError, createsTopics, loadSettings } from './config';

function error(env: Record<string, string>): ConfigError {
  try {
    loadSettings(env, false);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('settings from the environment', () => {
  it('has a documented default for every setting', () => {
    const s = loadSettings({}, false);
    expect(s).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_POOL_SIZE: 10,
      EMBEDDED_PG_DATA_DIR: '.data/postgres',
      EMBEDDED_PG_PORT: 5433,
      KAFKA_CLIENT_ID: 'fleetcompat',
      KAFKA_GROUP_ID: 'fleetcompat-ingest',
      KAFKA_SSL: false,
      FLEETCOMPAT_TOPIC_PREFIX: '',
      PROJECTOR_BATCH_SIZE: 2000,
      RELAY_BATCH_SIZE: 500,
      INGEST_BATCH_SIZE: 500,
      KAFKA_SESSION_TIMEOUT_MS: 30000,
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      SHUTDOWN_TIMEOUT_MS: 20000,
      PROJECTOR_STALL_SECONDS: 60,
      HEALTH_CHECK_TIMEOUT_MS: 3000,
      PROJECTOR_SHARDS: 1,
      PROJECTOR_SHARD: 0,
    });
    expect(s.DATABASE_URL).toBeUndefined();
    expect(s.KAFKA_BROKERS).toBeUndefined();
    expect(s.EMBEDDED_PG_RUNTIME_DIR).toBeUndefined();
    expect(s.KAFKA_CREATE_TOPICS).toBeUndefined();
    expect(s.KAFKA_TOPIC_PARTITIONS).toBeUndefined();
    expect(s.KAFKA_TOPIC_REPLICATION_FACTOR).toBeUndefined();
  });

  it('creates missing topics by default only in the embedded default (all-in-one without DATABASE_URL)', () => {
    const embedded = loadSettings({ KAFKA_BROKERS: 'k:9092' }, false);
    expect(createsTopics(embedded, 'all-in-one')).toBe(true);
    expect(createsTopics(embedded, 'ingest')).toBe(false);
    expect(createsTopics(embedded, 'relay')).toBe(false);
    const external = loadSettings({ KAFKA_BROKERS: 'k:9092', DATABASE_URL: 'postgres://db/x' }, false);
    expect(createsTopics(external, 'all-in-one')).toBe(false);
    expect(
      createsTopics(loadSettings({ DATABASE_URL: 'postgres://db/x', KAFKA_CREATE_TOPICS: 'true' }, false), 'relay'),
    ).toBe(true);
    expect(createsTopics(loadSettings({ KAFKA_CREATE_TOPICS: 'false' }, false), 'all-in-one')).toBe(false);
    const sized = loadSettings({ KAFKA_TOPIC_PARTITIONS: '6', KAFKA_TOPIC_REPLICATION_FACTOR: '3' }, false);
    expect(sized).toMatchObject({ KAFKA_TOPIC_PARTITIONS: 6, KAFKA_TOPIC_REPLICATION_FACTOR: 3 });
  });

  it('signed Kafka messages by default (KAFKA_AUTH), token lookups kept 30 s', () => {
    expect(loadSettings({}, false)).toMatchObject({ KAFKA_AUTH: 'signed', KAFKA_AUTH_CACHE_SECONDS: 30 });
    expect(loadSettings({ KAFKA_AUTH: 'none', KAFKA_AUTH_CACHE_SECONDS: '0' }, false)).toMatchObject({
      KAFKA_AUTH: 'none',
      KAFKA_AUTH_CACHE_SECONDS: 0,
    });
  });

  it('reads the projector shard of this process', () => {
    expect(loadSettings({ PROJECTOR_SHARDS: '4', PROJECTOR_SHARD: '3' }, false)).toMatchObject({
      PROJECTOR_SHARDS: 4,
      PROJECTOR_SHARD: 3,
    });
  });

  it('logs pretty in a terminal and JSON otherwise, unless LOG_FORMAT says', () => {
    expect(loadSettings({}, true).LOG_FORMAT).toBe('pretty');
    expect(loadSettings({}, false).LOG_FORMAT).toBe('json');
    expect(loadSettings({ LOG_FORMAT: 'json' }, true).LOG_FORMAT).toBe('json');
    expect(loadSettings({ LOG_FORMAT: 'pretty' }, false).LOG_FORMAT).toBe('pretty');
  });

  it('reads and converts the values given', () => {
    const s = loadSettings(
      {
        PORT: '8080',
        KAFKA_BROKERS: 'a:9092, b:9093',
        KAFKA_SSL: 'yes',
        SHUTDOWN_TIMEOUT_MS: '5000',
        DATABASE_URL: 'postgresql://u:p@db:5432/x',
        LOG_LEVEL: 'debug',
      },
      false,
    );
    expect(s).toMatchObject({
      PORT: 8080,
      KAFKA_BROKERS: 'a:9092, b:9093',
      KAFKA_SSL: true,
      SHUTDOWN_TIMEOUT_MS: 5000,
      LOG_LEVEL: 'debug',
    });
  });

  it.each([
    [{ PORT: 'eighty' }, 'configuration error: PORT must be a whole number (got "eighty")'],
    [{ PORT: '70000' }, 'configuration error: PORT must be between 1 and 65535 (got "70000")'],
    [
      { KAFKA_TOPIC_PARTITIONS: '0' },
      'configuration error: KAFKA_TOPIC_PARTITIONS must be between 1 and 10000 (got "0")',
    ],
    [
      { KAFKA_TOPIC_REPLICATION_FACTOR: 'three' },
      'configuration error: KAFKA_TOPIC_REPLICATION_FACTOR must be a whole number (got "three")',
    ],
    [{ KAFKA_CREATE_TOPICS: 'maybe' }, 'configuration error: KAFKA_CREATE_TOPICS'],
    [
      { EMBEDDED_PG_RUNTIME_DIR: 'relative/dir' },
      'configuration error: EMBEDDED_PG_RUNTIME_DIR must be an absolute path (got "relative/dir")',
    ],
    [{ DATABASE_URL: 'mysql://x' }, 'configuration error: DATABASE_URL must be a postgres:// URL (got "mysql://x")'],
    [
      { KAFKA_BROKERS: 'localhost' },
      'configuration error: KAFKA_BROKERS must be host:port[,host:port...] (got "localhost")',
    ],
    [{ LOG_FORMAT: 'xml' }, 'configuration error: LOG_FORMAT'],
    [{ LOG_LEVEL: 'loud' }, 'configuration error: LOG_LEVEL'],
    [
      { SHUTDOWN_TIMEOUT_MS: '10' },
      'configuration error: SHUTDOWN_TIMEOUT_MS must be between 1000 and 600000 (got "10")',
    ],
    [
      { PROJECTOR_STALL_SECONDS: '-1' },
      'configuration error: PROJECTOR_STALL_SECONDS must be a whole number (got "-1")',
    ],
    [{ KAFKA_SSL: 'maybe' }, 'configuration error: KAFKA_SSL'],
    [{ KAFKA_AUTH: 'acl' }, 'configuration error: KAFKA_AUTH'],
    [
      { KAFKA_AUTH_CACHE_SECONDS: '3601' },
      'configuration error: KAFKA_AUTH_CACHE_SECONDS must be between 0 and 3600 (got "3601")',
    ],
    [
      { KAFKA_SASL_MECHANISM: 'plain' },
      'configuration error: KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM is set',
    ],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' },
      'configuration error: KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set',
    ],
    [{ PROJECTOR_SHARDS: '0' }, 'configuration error: PROJECTOR_SHARDS must be between 1 and 1024 (got "0")'],
    [
      { PROJECTOR_SHARDS: '2', PROJECTOR_SHARD: '2' },
      'configuration error: PROJECTOR_SHARD must be below PROJECTOR_SHARDS (2): 0 to 1 (got "2")',
    ],
    [{ PROJECTOR_SHARD: '1' }, 'configuration error: PROJECTOR_SHARD must be below PROJECTOR_SHARDS (1)'],
  ])('rejects %j with one line naming the setting', (env, message) => {
    const e = error(env);
    expect(e.message.startsWith(message)).toBe(true);
    expect(e.message).not.toContain('\n');
    expect(e.setting).toBe(message.split(' ')[2]);
  });
});
