import { consumeAll, createTopics, kafkaClient, uniqueName } from '../../../test/support/kafka';
import { brokers } from '../../../test/support/kafka';
import { MemoryOutbox, waitFor } from '../test/fakes';
import { OutboxRelay } from './outbox-relay';

jest.setTimeout(60000);

async function setTopicConfig(topic: string, name: string, value: string): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [{ name, value }] }] });
  } finally {
    await admin.disconnect();
  }
}

describe('OutboxRelay (real broker)', () => {
  const relays: OutboxRelay[] = [];
  const relay = (outbox: MemoryOutbox, pollIntervalMs = 50) => {
    const r = new OutboxRelay({
      kafka: { brokers: brokers(), clientId: 'relay-int', logLevel: 'error' },
      outbox,
      batchSize: 7,
      pollIntervalMs,
      retryInitialMs: 50,
      retryMaxMs: 300,
    });
    relays.push(r);
    return r;
  };
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  it('publishes outbox messages in order per key, with their keys and headers, to their own topics', async () => {
    const decisions = uniqueName('rl.decisions');
    const other = uniqueName('rl.other');
    await createTopics([decisions], 3);
    await createTopics([other], 1);
    const outbox = new MemoryOutbox();
    for (let i = 0; i < 40; i++) {
      const hostId = `host-${i % 5}`;
      outbox.add(i % 10 === 9 ? other : decisions, hostId, JSON.stringify({ hostId, n: i }), { 'fleetcompat-id': String(i) });
    }
    const r = relay(outbox);
    r.start();
    await waitFor('all 40 published', () => outbox.unpublished === 0);
    expect(r.stats).toMatchObject({ published: 40, failures: 0 });
    expect(r.stats.batches).toBe(Math.ceil(40 / 7));

    const got = await consumeAll(decisions, { until: (m) => m.length >= 36 });
    expect(got).toHaveLength(36);
    const byKey = new Map<string, { n: number; partition: number; header: string }[]>();
    for (const m of got) {
      const v = JSON.parse(m.value!);
      expect(m.key).toBe(v.hostId);
      byKey.set(m.key!, [...(byKey.get(m.key!) ?? []), { n: v.n, partition: m.partition, header: m.headers['fleetcompat-id'] }]);
    }
    for (const [, list] of byKey) {
      expect(new Set(list.map((x) => x.partition)).size).toBe(1); // one key, one partition
      expect(list.map((x) => x.n)).toEqual([...list.map((x) => x.n)].sort((a, b) => a - b)); // in outbox order
      expect(list.every((x) => x.header === String(x.n))).toBe(true);
    }
    const others = await consumeAll(other, { until: (m) => m.length >= 4 });
    expect(others.map((m) => JSON.parse(m.value!).n)).toEqual([9, 19, 29, 39]);
  });

  it('when the broker rejects a batch, leaves the rows unmarked and publishes them once it can', async () => {
    const topic = uniqueName('rl.small');
    await createTopics([topic], 1);
    await setTopicConfig(topic, 'max.message.bytes', '200'); // the broker rejects larger batches
    const outbox = new MemoryOutbox();
    for (let i = 0; i < 3; i++) outbox.add(topic, 'k', JSON.stringify({ n: i, pad: 'x'.repeat(300) }));
    const r = relay(outbox);
    r.start();
    await waitFor('a few failed attempts', () => r.stats.failures >= 2);
    expect(outbox.unpublished).toBe(3);
    expect(r.stats.published).toBe(0);

    await setTopicConfig(topic, 'max.message.bytes', '1048588');
    await waitFor('the rows published after the fix', () => outbox.unpublished === 0, 30000);
    const got = await consumeAll(topic, { until: (m) => m.length >= 3 });
    expect(got.map((m) => JSON.parse(m.value!).n)).toEqual([0, 1, 2]);
  });

  it('retries when the outbox fails before or after the send: nothing lost (a failed mark republishes)', async () => {
    const topic = uniqueName('rl.retry');
    await createTopics([topic], 1);
    const outbox = new MemoryOutbox();
    outbox.failBeforePublish = 2;
    outbox.failAfterPublish = 1;
    for (let i = 0; i < 5; i++) outbox.add(topic, 'k', JSON.stringify({ n: i }));
    const r = relay(outbox);
    r.start();
    await waitFor('all published', () => outbox.unpublished === 0);
    expect(r.stats.failures).toBe(3);
    const got = await consumeAll(topic, { until: (m) => m.length >= 10, timeoutMs: 3000 });
    // The batch whose mark failed went out twice (at least once); order kept each time.
    expect(got.map((m) => JSON.parse(m.value!).n)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  });

  it('notify() wakes an idle relay at once; stop() finishes and disconnects', async () => {
    const topic = uniqueName('rl.notify');
    await createTopics([topic], 1);
    const outbox = new MemoryOutbox();
    const r = relay(outbox, 60000);
    outbox.add(topic, 'k', '{"n":0}');
    r.start();
    await waitFor('first row (polled at start)', () => outbox.unpublished === 0, 10000);
    await new Promise((res) => setTimeout(res, 200)); // now idle for a minute
    outbox.add(topic, 'k', '{"n":1}');
    const t0 = Date.now();
    r.notify();
    await waitFor('second row after notify', () => outbox.unpublished === 0, 5000);
    expect(Date.now() - t0).toBeLessThan(2000);
    await r.stop();
    expect(r.isRunning).toBe(false);
    outbox.add(topic, 'k', '{"n":2}');
    r.notify();
    await new Promise((res) => setTimeout(res, 300));
    expect(outbox.unpublished).toBe(1);
  });
});
