import { KAFKA_AUTH_HEADER, kafkaSigningKey, parseKafkaAuthHeader, verifyKafkaMac } from '@fleetcompat/auth';
import { validateEvent } from '@fleetcompat/contract';
import { brokers, consumeAll, createTopics, uniqueName } from '../../../../test/support/kafka';
import { linux415 } from '../../../../libs/kernel-notes/src/test/synth';
import { cli, scratchFolder } from '../../test/cli';

/* `fleetcompat kernel publish --brokers` against the real broker (`npm test` starts it). */

const { file } = scratchFolder('fleetcompat-publish-');

it('produces KernelBuildCompleted keyed by the image sha256; a re-run produces the same eventId', async () => {
  const topic = uniqueName('kernel-builds');
  await createTopics([topic], 3);
  const img = file('vmlinux-4.15', linux415());
  const args = ['kernel', 'publish', '--brokers', brokers().join(','), '--topic', topic, '--distro', 'synthetic', img];
  const first = await cli(args);
  expect(first.err).toBe('');
  expect(first.code).toBe(0);
  expect(first.out).toContain(`to Kafka topic ${topic}`);
  const second = await cli(args);
  expect(second.code).toBe(0);

  const got = await consumeAll(topic, { until: (m) => m.length >= 2, timeoutMs: 20000 });
  expect(got).toHaveLength(2);
  const events = got.map((m) => JSON.parse(m.value ?? 'null'));
  const sha = events[0].data.imageSha256;
  expect(got.map((m) => m.key)).toEqual([sha, sha]);
  expect(got[0].partition).toBe(got[1].partition);
  expect(got[0].headers['content-type']).toBe('application/json');
  expect(events[0].eventId).toBe(`kernel-build-completed-${sha}`);
  expect(events[1].eventId).toBe(events[0].eventId);
  expect(validateEvent(events[0]).ok).toBe(true);
  expect(events[0].data).toMatchObject({
    release: '4.15.0-synthetic',
    distro: 'synthetic',
    xenNotes: { guestOs: 'linux', supportedFeatures: 0x801, pvh: true },
  });
}, 60000);

it('signs the message with --token (the ci token) so that a service with KAFKA_AUTH=signed takes it; says so when unsigned', async () => {
  const topic = uniqueName('kernel-builds');
  await createTopics([topic], 1);
  const img = file('vmlinux-signed', linux415());
  const signed = await cli([
    'kernel',
    'publish',
    '--brokers',
    brokers().join(','),
    '--topic',
    topic,
    '--token',
    'fct_ci-token-of-the-test',
    img,
  ]);
  expect(signed.code).toBe(0);
  expect(signed.out).toContain(', signed');
  const unsigned = await cli(['kernel', 'publish', '--brokers', brokers().join(','), '--topic', topic, img]);
  expect(unsigned.out).toMatch(/unsigned \(no --token/);
  const [m, plain] = await consumeAll(topic, { until: (ms) => ms.length >= 2, timeoutMs: 20000 });
  const header = parseKafkaAuthHeader(m.headers);
  if (!header.ok) throw new Error(header.reason);
  const key = kafkaSigningKey('fct_ci-token-of-the-test');
  expect(header.keyId).toBe(key.keyId);
  expect(verifyKafkaMac(key.key, topic, m.key, m.value, header.mac)).toBe(true);
  expect(plain.headers[KAFKA_AUTH_HEADER]).toBeUndefined();
}, 60000);

it('an unreachable broker: exit 3 with a one-line message', async () => {
  const img = file('vmlinux-b', linux415());
  const c = await cli(['kernel', 'publish', '--brokers', '127.0.0.1:9', '--timeout-seconds', '5', img]);
  expect(c.code).toBe(3);
  expect(c.err).toMatch(/^fleetcompat kernel: Kafka 127\.0\.0\.1:9/);
  expect(c.err.trim().split('\n')).toHaveLength(1);
}, 30000);
