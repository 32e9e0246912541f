import { ConfigError, loadSettings } from './config';

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
    });
    expect(s.DATABASE_URL).toBeUndefined();
    expect(s.KAFKA_BROKERS).toBeUndefined();
  });

  it('logs pretty in a terminal and JSON otherwise, unless LOG_FORMAT says', () => {
    expect(loadSettings({}, true).LOG_FORMAT).toBe('pretty');
    expect(loadSettings({}, false).LOG_FORMAT).toBe('json');
    expect(loadSettings({ LOG_FORMAT: 'json' }, true).LOG_FORMAT).toBe('json');
    expect(loadSettings({ LOG_FORMAT: 'pretty' }, false).LOG_FORMAT).toBe('pretty');
  });

  it('reads and converts the values given', () => {
    const s = loadSettings(
      { PORT: '8080', KAFKA_BROKERS: 'a:9092, b:9093', KAFKA_SSL: 'yes', SHUTDOWN_TIMEOUT_MS: '5000', DATABASE_URL: 'postgresql://u:p@db:5432/x', LOG_LEVEL: 'debug' },
      false,
    );
    expect(s).toMatchObject({ PORT: 8080, KAFKA_BROKERS: 'a:9092, b:9093', KAFKA_SSL: true, SHUTDOWN_TIMEOUT_MS: 5000, LOG_LEVEL: 'debug' });
  });

  it.each([
    [{ PORT: 'eighty' }, 'configuration error: PORT must be a whole number (got "eighty")'],
    [{ PORT: '70000' }, 'configuration error: PORT must be between 1 and 65535 (got "70000")'],
    [{ DATABASE_URL: 'mysql://x' }, 'configuration error: DATABASE_URL must be a postgres:// URL (got "mysql://x")'],
    [{ KAFKA_BROKERS: 'localhost' }, 'configuration error: KAFKA_BROKERS must be host:port[,host:port...] (got "localhost")'],
    [{ LOG_FORMAT: 'xml' }, 'configuration error: LOG_FORMAT'],
    [{ LOG_LEVEL: 'loud' }, 'configuration error: LOG_LEVEL'],
    [{ SHUTDOWN_TIMEOUT_MS: '10' }, 'configuration error: SHUTDOWN_TIMEOUT_MS must be between 1000 and 600000 (got "10")'],
    [{ PROJECTOR_STALL_SECONDS: '-1' }, 'configuration error: PROJECTOR_STALL_SECONDS must be a whole number (got "-1")'],
    [{ KAFKA_SSL: 'maybe' }, 'configuration error: KAFKA_SSL'],
    [{ KAFKA_SASL_MECHANISM: 'plain' }, 'configuration error: KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM is set'],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }, 'configuration error: KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set'],
  ])('rejects %j with one line naming the setting', (env, message) => {
    const e = error(env as Record<string, string>);
    expect(e.message.startsWith(message)).toBe(true);
    expect(e.message).not.toContain('\n');
    expect(e.setting).toBe(message.split(' ')[2]);
  });
});
