// SASL/SCRAM against a real broker: a broker of this test's own (scripts/kafka/start.sh on
// port 19292, never the shared one) with a SASL_PLAINTEXT listener on 19293 and SCRAM-SHA-512
// users created at format time. The client is built exactly as the services build theirs:
// settings from the environment (KAFKA_SASL_*), kafkaOptionsFrom, createKafka.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createKafka, createIdempotentProducer, createTopicsWithLeaders } from '@fleetcompat/kafka';
import { ConfigError, loadSettings } from '@fleetcompat/platform';
import { kafkaOptionsFrom } from './kafka-wiring';

const ROOT = path.resolve(__dirname, '../../..');
const PLAIN_PORT = 19292; // the script checks readiness here
const SASL_PORT = 19293;
const CONTROLLER_PORT = 20292;
const USER = 'fleetcompat';
const PASSWORD = 'scram-test-secret';

const brokerEnv = {
  KAFKA_PORT: String(PLAIN_PORT),
  KAFKA_CONTROLLER_PORT: String(CONTROLLER_PORT),
  KAFKA_EXTRA_CONFIG: [
    `listeners=PLAINTEXT://127.0.0.1:${PLAIN_PORT},SASL_PLAINTEXT://127.0.0.1:${SASL_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${PLAIN_PORT},SASL_PLAINTEXT://127.0.0.1:${SASL_PORT}`,
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
  ].join('\n'),
  KAFKA_FORMAT_ARGS: `--add-scram SCRAM-SHA-512=[name=${USER},password=${PASSWORD}]`,
};

function script(name: 'start.sh' | 'stop.sh'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(ROOT, 'scripts/kafka', name)], {
      cwd: ROOT,
      env: { ...process.env, ...brokerEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited ${code}:\n${out}`))));
  });
}

const settingsFor = (password: string) =>
  loadSettings({
    KAFKA_BROKERS: `127.0.0.1:${SASL_PORT}`,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: USER,
    KAFKA_SASL_PASSWORD: password,
  });

describe('Kafka over SASL/SCRAM-SHA-512 (own broker)', () => {
  beforeAll(async () => {
    await script('start.sh');
  }, 240000);
  afterAll(async () => {
    await script('stop.sh');
  }, 120000);

  it('connects, creates a topic, produces and consumes with the credentials from the settings', async () => {
    const options = kafkaOptionsFrom(settingsFor(PASSWORD), 'scram-test');
    expect(options.sasl).toEqual({ mechanism: 'scram-sha-512', username: USER, password: PASSWORD });
    const kafka = createKafka({ ...options, logLevel: 'nothing' });
    const topic = `scram-test-${Date.now()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1 }]);
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'over scram' }] });
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got = await new Promise<string>(
        (resolve) => void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) }),
      );
      await consumer.disconnect();
      expect(got).toBe('over scram');
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });

  it('fails to connect with a wrong password', async () => {
    const kafka = createKafka({
      ...kafkaOptionsFrom(settingsFor('not-the-password'), 'scram-test'),
      logLevel: 'nothing',
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await expect(admin.connect()).rejects.toThrow(
      /SASL SCRAM SHA512 authentication failed|Authentication failed|SASL/i,
    );
    await admin.disconnect();
  });

  it('the settings need a username and a password with a SASL mechanism', () => {
    expect(() => loadSettings({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: USER })).toThrow(
      ConfigError,
    );
    expect(() => loadSettings({ KAFKA_SASL_MECHANISM: 'scram-sha-1' })).toThrow(/KAFKA_SASL_MECHANISM/);
  });
});
